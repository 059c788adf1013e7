"""A long-lived case loads from its latest snapshot plus the events after it, and equals
the case replayed from its first event. The mapper is built through the library's
factory, so its compression and encryption settings apply to events and snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.cryptography import AESCipher

from domain import commands as c
from domain.application import Liandong, project
from domain.case_memory import remember
from domain.consumption import Reading
from domain.values import ProblemKind, Utility
from tests.domain.scenario import TOWN, FrozenClock, Scenario, evidence


def busy_case(s: Scenario) -> Any:
    case_id = s.list(problems=(ProblemKind.NO_EIA,), connections=(Utility.POWER,))
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停1"))
    for week in range(8):
        readings = tuple(
            Reading(day=s.days(-100 + week * 7 + d).date(), day_kwh=10 + d, night_kwh=1)
            for d in range(7)
        )
        s.act("power", c.ReportConsumption(case_id=case_id, readings=readings))
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("ecology", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    return case_id


def sqlite_app(path: Path, clock: FrozenClock, **env: str) -> Liandong:
    return Liandong(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), **env},
        clock=clock,
    )


def test_saving_takes_snapshots_and_loading_uses_them(tmp_path: Path) -> None:
    clock = FrozenClock()
    app = sqlite_app(tmp_path / "e.sqlite", clock)
    app.snapshot_interval = 5
    case_id = busy_case(Scenario(app, clock))
    version = app.get_case(case_id).version
    assert app.snapshots is not None
    taken = list(app.snapshots.get(case_id))
    assert len(taken) >= version // 5 - 1, "a snapshot at (nearly) every interval"
    fresh = sqlite_app(tmp_path / "e.sqlite", clock)
    loaded = fresh.get_case(case_id)
    replayed = project(None, fresh.events.get(case_id))
    assert loaded.version == replayed.version == version
    assert remember(loaded) == remember(replayed)
    assert loaded.created_on == replayed.created_on
    assert loaded.modified_on == replayed.modified_on


def test_a_cases_state_does_not_grow_with_its_readings(tmp_path: Path) -> None:
    clock = FrozenClock()
    app = sqlite_app(tmp_path / "e.sqlite", clock)
    case_id = busy_case(Scenario(app, clock))
    history = app.get_case(case_id).consumption
    assert history.days == 56
    assert len(remember(app.get_case(case_id)).model_dump_json()) < 20_000


@pytest.mark.parametrize(
    "env",
    [
        {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
        {
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
        },
    ],
    ids=["compressed", "encrypted"],
)
def test_the_librarys_compression_and_encryption_apply(tmp_path: Path, env: dict[str, str]) -> None:
    clock = FrozenClock()
    app = sqlite_app(tmp_path / "e.sqlite", clock, **env)
    app.snapshot_interval = 5
    case_id = busy_case(Scenario(app, clock))
    stored = app.recorder.select_notifications(1, 1)[0].state
    assert "江津".encode() not in stored, "stored as plain JSON"
    assert app.decode_state(stored)["enterprise"]["name"] == "江津某家具厂"
    again = sqlite_app(tmp_path / "e.sqlite", clock, **env)
    assert again.get_case(case_id).version == app.get_case(case_id).version


def test_snapshots_on_every_store(s: Scenario) -> None:
    """In memory, on SQLite and on PostgreSQL: snapshots are stored, and a case loaded
    without its cached copy starts from the latest one."""
    s.app.snapshot_interval = 5
    case_id = busy_case(s)
    assert s.app.snapshots is not None
    latest = list(s.app.snapshots.get(case_id, desc=True, limit=1))
    assert latest
    assert latest[0].originator_version > s.case(case_id).version - 5
    cache = s.app.repository.cache
    assert cache is not None
    cache.get(case_id, evict=True)
    assert remember(s.app.get_case(case_id)) == remember(project(None, s.app.events.get(case_id)))
