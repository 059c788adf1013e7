"""A worker that keeps retrying is not doing its work: it keeps telling /health it is
alive and retrying, and past a minute of it /health calls it down, whatever the cause
(a broker or store away, credentials the broker refuses)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.bootstrap import bootstrap
from api.health import check_health
from api.settings import Settings
from projections.db import Database, utc_text
from projections.workers import (
    BEAT_SECONDS,
    RETRYING_IS_DOWN_SECONDS,
    Beacon,
    State,
    WorkerRow,
    create_worker_status,
    supervise,
    worker_rows,
)


def row(state: str, state_seconds: float | None) -> WorkerRow:
    return WorkerRow("relay", state, 1, None, None, "OSError: x", None, 1.0, state_seconds)


@pytest.mark.parametrize(
    ("state", "state_seconds", "alive"),
    [
        ("retrying", 5.0, True),
        ("retrying", RETRYING_IS_DOWN_SECONDS + 1, False),
        ("retrying", None, True),  # a row written before `since` was kept
        ("running", 10 * RETRYING_IS_DOWN_SECONDS, True),
        ("standby", 10 * RETRYING_IS_DOWN_SECONDS, True),
    ],
)
def test_only_a_worker_retrying_past_a_minute_is_down(
    state: str, state_seconds: float | None, alive: bool
) -> None:
    assert row(state, state_seconds).alive is alive


def test_a_worker_beats_while_it_waits_out_a_backoff(tmp_path: Path) -> None:
    beacon = Beacon(f"sqlite:///{tmp_path / 'views.sqlite'}", "relay")
    reports: list[State] = []
    attempts: list[int] = []
    stop = threading.Event()
    report = beacon.report

    def observed(state: State, **facts: object) -> None:
        reports.append(state)
        report(state, **facts)  # type: ignore[arg-type]
        if reports.count("retrying") >= 3:
            stop.set()

    beacon.report = observed  # type: ignore[method-assign]

    def broker_away(_: threading.Event) -> None:
        attempts.append(1)
        raise OSError("connection refused")

    # A first backoff longer than two beats: without beating, the row would go stale.
    supervise(beacon, broker_away, stop, first_backoff=2.5 * BEAT_SECONDS)

    assert len(attempts) == 1
    assert reports[:3] == ["retrying", "retrying", "retrying"]


def test_health_calls_a_worker_retrying_past_a_minute_down_and_says_how_long(
    tmp_path: Path,
) -> None:
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    services = bootstrap(
        Settings(event_store="memory://", view_store=views, expected_workers=["relay"])
    )
    Beacon(views, "relay").report("retrying", error="KafkaTimeoutError: Unable to bootstrap")
    assert check_health(services).checks["relay"].status == "up"

    began = datetime.now(tz=UTC) - timedelta(seconds=RETRYING_IS_DOWN_SECONDS + 30)
    with services.db.transaction() as tx:
        tx.execute("UPDATE worker_status SET since = ?", (utc_text(began),))
    relay = check_health(services).checks["relay"]

    assert relay.status == "down"
    assert relay.detail.startswith("retrying for 9")
    assert "Unable to bootstrap" in relay.detail
    services.close()


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_heartbeat_table_of_an_earlier_version_gains_the_column(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("postgres_store_url")
        if store == "postgres"
        else f"sqlite:///{tmp_path / 'views.sqlite'}"
    )
    db = Database(url)
    with db.transaction() as tx:
        tx.execute(
            "CREATE TABLE worker_status (worker TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "pid INTEGER, host TEXT, position BIGINT, lag BIGINT, last_error TEXT, "
            "error_at TEXT, beat_at TEXT NOT NULL)"
        )
        tx.execute(
            "INSERT INTO worker_status (worker, state, beat_at) VALUES (?, ?, ?)",
            ("relay", "running", utc_text(datetime.now(tz=UTC))),
        )
    for _ in range(2):  # and again, as every later start does
        with db.transaction() as tx:
            create_worker_status(db, tx)

    assert worker_rows(db)["relay"].state_seconds is None
    Beacon(url, "relay").report("retrying", error="OSError: x")
    assert worker_rows(db)["relay"].state_seconds is not None
    db.close()
