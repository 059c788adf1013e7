"""Processes that share a worker's partitions in a consumer group each tell /health how
they fare: each has its own partitions and so its own lag, and one killed must not hide
behind another's fresh heartbeat. Each member is a real process here, with its own pid."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.bootstrap import bootstrap
from api.health import Check, check_health
from api.settings import Settings
from projections.db import utc_text
from projections.workers import FORGET_MEMBER_SECONDS, STALE_SECONDS, Beacon

pytestmark = pytest.mark.kafka
WORKER = "projection:status"


def member_reports(views: str, state: str, lag: int, error: str | None = None) -> str:
    """A process of the group reports once and exits; returns the name of its row."""
    code = (
        "import sys\n"
        "from projections.workers import Beacon\n"
        "beacon = Beacon(sys.argv[1], sys.argv[2], member=True)\n"
        "beacon.report(sys.argv[3], lag=int(sys.argv[4]), error=sys.argv[5] or None)\n"
        "print(beacon.worker)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, views, WORKER, state, str(lag), error or ""],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def age(path: Path, worker: str, seconds: float) -> None:
    """Makes a row's last heartbeat `seconds` old, as if its process had gone since."""
    then = utc_text(datetime.now(tz=UTC) - timedelta(seconds=seconds))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE worker_status SET beat_at = ? WHERE worker = ?", (then, worker))


def deployment(views: str, kafka_bootstrap: str) -> Settings:
    """An API process of the deployment whose workers report into `views`."""
    return Settings(
        event_store="memory://",
        view_store=views,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=Path(views.removeprefix("sqlite:///")).parent,
        expected_workers=[WORKER],
    )


def health(views: str, kafka_bootstrap: str) -> tuple[str, Check]:
    """/health's verdict and its check of the group, with the broker and stores up."""
    services = bootstrap(deployment(views, kafka_bootstrap))
    try:
        report = check_health(services)
    finally:
        services.close()
    return report.status, report.checks[WORKER]


def test_each_process_of_a_group_reports_its_own_lag_and_health_shows_them_together(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    first = member_reports(views, "running", lag=3)
    second = member_reports(views, "running", lag=4)
    assert first != second
    assert first.startswith(f"{WORKER}@")

    status, check = health(views, kafka_bootstrap)

    assert status == "ok"
    assert check.status == "up"
    assert check.detail.startswith("2 of 2 processes running, lag 7"), check.detail
    for member in (first, second):
        assert member.split("@", 1)[1] in check.detail
    assert "lag 3" in check.detail
    assert "lag 4" in check.detail


def test_a_killed_member_shows_as_not_running_beside_the_one_that_carries_on(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    killed = member_reports(views, "running", lag=5)
    member_reports(views, "running", lag=0)
    age(tmp_path / "views.sqlite", killed, STALE_SECONDS + 5)

    status, check = health(views, kafka_bootstrap)

    assert check.status == "up", check.detail
    assert check.detail.startswith("1 of 2 processes running, lag 0"), check.detail
    assert f"{killed.split('@', 1)[1]}: not running (last seen running)" in check.detail
    assert status == "ok"


def test_a_group_with_no_member_running_is_down_and_degrades_health(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    for member in (member_reports(views, "running", 0), member_reports(views, "running", 0)):
        age(tmp_path / "views.sqlite", member, STALE_SECONDS + 5)

    status, check = health(views, kafka_bootstrap)

    assert check.status == "down"
    assert check.detail.startswith("0 of 2 processes running"), check.detail
    assert status == "degraded"


def test_a_member_stopped_cleanly_is_listed_but_not_counted_as_missing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Scaled from three processes to two: the one stopped handed its partitions on, so
    the group is whole, not "2 of 3"."""
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    member_reports(views, "running", lag=1)
    member_reports(views, "running", lag=2)
    stopped = member_reports(views, "stopped", lag=0)

    status, check = health(views, kafka_bootstrap)

    assert check.status == "up", check.detail
    assert check.detail.startswith("2 of 2 processes running, lag 3 (1 stopped)"), check.detail
    assert f"{stopped.split('@', 1)[1]}: stopped" in check.detail
    assert status == "ok"


def test_a_group_whose_members_all_stopped_is_down(tmp_path: Path, kafka_bootstrap: str) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    member_reports(views, "stopped", lag=0)
    member_reports(views, "stopped", lag=0)

    status, check = health(views, kafka_bootstrap)

    assert check.status == "down", check.detail
    assert check.detail.startswith("no processes running, lag 0 (2 stopped)"), check.detail
    assert status == "degraded"


def test_one_failed_member_fails_the_group(tmp_path: Path, kafka_bootstrap: str) -> None:
    """A member stops on an event it cannot apply; the member given its partitions next
    meets the same event, so the group is failed, not merely short of a process."""
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    member_reports(views, "running", lag=0)
    member_reports(views, "failed", lag=9, error="cannot apply the event at position 1")

    status, check = health(views, kafka_bootstrap)

    assert check.detail.startswith("failed: 1 of 2 processes running"), check.detail
    assert "last error: cannot apply the event at position 1" in check.detail
    assert status == "degraded"


def test_a_starting_member_forgets_members_gone_for_a_minute_but_not_a_live_one(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    gone = member_reports(views, "running", lag=0)
    live = member_reports(views, "running", lag=0)
    Beacon(views, WORKER).report("stopped")  # when it ran as one process, before the group
    for row in (gone, WORKER):
        age(tmp_path / "views.sqlite", row, FORGET_MEMBER_SECONDS + 1)
    age(tmp_path / "views.sqlite", live, STALE_SECONDS - 1)
    Beacon(views, "relay").report("running")  # another worker's row: not this group's
    age(tmp_path / "views.sqlite", "relay", FORGET_MEMBER_SECONDS + 1)

    newcomer = member_reports(views, "starting", lag=0)

    with sqlite3.connect(tmp_path / "views.sqlite") as db:
        rows = {row[0] for row in db.execute("SELECT worker FROM worker_status")}
    assert rows == {live, newcomer, "relay"}


def test_a_single_process_worker_keeps_its_own_row_and_plain_detail(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    Beacon(views, WORKER).report("running", position=12, lag=2)

    _, check = health(views, kafka_bootstrap)

    assert check.status == "up"
    assert check.detail.startswith("running; heartbeat"), check.detail
    assert "lag 2" in check.detail
    assert "position 12" in check.detail


def test_metrics_label_each_process_of_a_group_under_its_worker(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """So that `max by (worker) (liandong_worker_up)` holds however many processes run."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    members = [member_reports(views, "running", lag=n) for n in (1, 2)]
    with TestClient(create_app(bootstrap(deployment(views, kafka_bootstrap)))) as client:
        text = client.get("/metrics").text

    for member, lag in zip(members, (1, 2), strict=True):
        process = member.split("@", 1)[1]
        assert f'liandong_worker_up{{process="{process}",worker="{WORKER}"}} 1.0' in text
        assert f'liandong_worker_lag{{process="{process}",worker="{WORKER}"}} {lag}.0' in text
