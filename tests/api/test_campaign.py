"""The campaign generator: the same seed gives the same campaign, every step it takes is
one the domain accepts (through the same command API the units use), and it exercises
every kind of step the scale benchmarks and the demo rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from api.campaign import Figures, SettableClock, run_campaign
from api.settings import store_env
from domain.application import Liandong
from tests.api.conftest import fill
from tests.domain import parity

START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def generated(enterprises: int, seed: int) -> tuple[Liandong, Figures]:
    clock = SettableClock(START)
    app = Liandong(env=store_env("memory://"), clock=clock)
    return app, run_campaign(app, clock, enterprises, seed)


def history(app: Liandong) -> list[tuple[str, int, str]]:
    return [
        (r.type, r.data["originator_version"], r.data["timestamp"]) for r in parity.records(app)
    ]


def test_the_same_seed_makes_the_same_campaign_and_another_seed_another() -> None:
    first, figures = generated(60, seed=11)
    again, same = generated(60, seed=11)
    other, _ = generated(60, seed=12)
    assert history(first) == history(again)
    assert figures == same
    assert history(first) != history(other)


def test_the_log_is_in_time_order_across_every_enterprise() -> None:
    """Lives interleave (a listing today, another case's acceptance tomorrow), but each
    step runs at its time: the store's log never goes back in time."""
    app, _ = generated(300, seed=4)
    stamps = [datetime.fromisoformat(r.data["timestamp"]) for r in parity.records(app)]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] > timedelta(days=120)


def test_every_step_is_lawful_and_every_kind_of_step_happens() -> None:
    app, figures = generated(400, seed=3)
    assert figures.refused == {}
    steps = set(figures.steps)
    assert {
        "list", "classify", "concur", "suspend", "request_cut", "execute_cut", "revoke",
        "verify_closure", "request_acceptance", "sign", "fail_acceptance", "assist",
        "destination", "park_entry", "old_site", "permit", "strike_off", "relapse",
        "dispute", "arbitrate",
    } <= steps  # fmt: skip
    assert figures.enterprises == 400
    # The clock moved on: tasks were done on time and late, and some are overdue now.
    cases = [app.get_case(UUID(r.data["originator_id"])) for r in parity.records(app)
             if r.type == "EnterpriseListed"]  # fmt: skip
    tasks = [t for case in cases for t in case.tasks.values() if t.cancelled_at is None]
    now = app.clock()
    assert any(t.done_at is not None and t.done_at <= t.deadline for t in tasks)
    assert any(t.done_at is not None and t.done_at > t.deadline for t in tasks)
    assert any(t.done_at is None and t.deadline < now for t in tasks)


def liandong_campaign(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LIANDONG_DATA_DIR": str(data_dir),
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "campaign", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_liandong_campaign_fills_an_empty_store_and_refuses_a_full_one(tmp_path: Path) -> None:
    ran = liandong_campaign(tmp_path, "--enterprises", "40", "--seed", "5")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("40 enterprises")
    assert "40/40" in ran.stderr  # the progress bar
    again = liandong_campaign(tmp_path, "--scale", "demo")
    assert again.returncode != 0
    assert "already holds cases" in again.stderr


def test_a_campaign_on_a_full_disk_says_so_in_one_line_and_exits_1(small_disk: Path) -> None:
    fill(small_disk)
    ran = liandong_campaign(small_disk / "data", "--enterprises", "5")
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    [said] = ran.stderr.strip().splitlines()
    assert said.startswith("liandong campaign: cannot go on:")
    assert "disk is full" in said or "No space left" in said
    assert str(small_disk / "data" / "liandong-events.sqlite") in said  # which store


def test_a_campaign_that_cannot_make_its_lock_says_where_and_records_nothing(
    tmp_path: Path,
) -> None:
    """A tired operator's leftover: a directory where the campaign's lock file goes."""
    lock = tmp_path / "liandong-events.sqlite.campaign.lock"
    lock.mkdir()
    ran = liandong_campaign(tmp_path, "--enterprises", "5")
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    [said] = ran.stderr.strip().splitlines()
    assert said.startswith("liandong campaign: cannot go on: IsADirectoryError")
    assert str(lock) in said
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'liandong-events.sqlite'}"))
    try:
        assert not app.has_cases()
    finally:
        app.close()


def test_a_campaign_names_its_postgresql_store_without_the_password(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LIANDONG_DATA_DIR": str(tmp_path),
        "LIANDONG_EVENT_STORE": "postgresql://liandong:hunter2@127.0.0.1:1/nowhere",
    }
    ran = subprocess.run(
        [sys.executable, "-m", "api.cli", "campaign", "--enterprises", "5"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 1
    assert "Traceback" not in ran.stderr
    assert "postgresql://liandong:***@127.0.0.1:1/nowhere" in ran.stderr
    assert "hunter2" not in ran.stderr
