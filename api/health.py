"""Truthful health: a stopped broker or store shows as down within seconds, never as ok.

Checked now: the broker, the event store, the view store (by writing to it). Read from
their heartbeats (projections.workers): every worker this deployment expects
(LIANDONG_EXPECTED_WORKERS) and every other that has reported, with its state, lag,
position and last error. One part down makes the whole `degraded` (503), naming it.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from api.bootstrap import Services
from gateways.kafka_probe import broker_answers, secured_broker_answers
from projections.db import utc_text
from projections.workers import STALE_SECONDS, WorkerRow, worker_rows

CHECK_TIMEOUT_SECONDS = 4.0
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


class Check(BaseModel):
    status: Literal["up", "down"]
    detail: str
    seconds: float


DETAILS_WITHHELD = (
    "details (why, where, how far behind) are for the monitoring system "
    "(LIANDONG_METRICS_TOKEN) or this machine"
)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, Check]
    note: str | None = None

    def without_details(self) -> Health:
        """What a client without the metrics token is told: an error's text may name a
        host, a path or a database; a process's name is its host and pid."""
        return Health(
            status=self.status,
            checks={
                name: Check(status=check.status, detail="", seconds=check.seconds)
                for name, check in self.checks.items()
            },
            note=DETAILS_WITHHELD,
        )


def _timed(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    started = time.monotonic()
    future = _pool.submit(probe)
    try:
        ok, detail = future.result(timeout=CHECK_TIMEOUT_SECONDS)
    except concurrent.futures.TimeoutError:
        ok, detail = False, f"{name} did not answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # a health check reports every failure, it never raises
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Check(
        status="up" if ok else "down", detail=detail, seconds=round(time.monotonic() - started, 3)
    )


STORES = ("kafka", "event_store", "view_store", "evidence_store")
PROBE_TABLE = "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, probed_at TEXT)"


def _timed_rows(services: Services) -> dict[str, WorkerRow]:
    future = _pool.submit(worker_rows, services.db)
    try:
        return future.result(timeout=CHECK_TIMEOUT_SECONDS)
    except Exception:  # the view store check reports why
        return {}


def _row_facts(row: WorkerRow) -> list[str]:
    state = row.state
    if row.state == "retrying" and row.state_seconds is not None:
        state = f"retrying for {row.state_seconds:g} s"
    facts = [state, f"heartbeat {row.beat_age_seconds:g} s ago"]
    if row.lag is not None:
        facts.append(f"lag {row.lag}")
    if row.position is not None:
        facts.append(f"position {row.position}")
    if row.last_error and (row.state in ("retrying", "failed", "standby") or not row.alive):
        facts.append(f"last error: {row.last_error}")
    if row.state != "failed" and row.beat_age_seconds > STALE_SECONDS:
        facts[0] = f"not running (last seen {row.state})"
    return facts


def _worker_check(worker: str, rows: list[WorkerRow]) -> Check:
    """One worker's check: its own row, or the rows of the processes of its group."""
    if not rows:
        return Check(status="down", detail="has never reported: is it running?", seconds=0)
    if len(rows) == 1 and rows[0].worker == worker:
        row = rows[0]
        return Check(
            status="up" if row.alive else "down", detail="; ".join(_row_facts(row)), seconds=0
        )
    # Several processes share the work (a consumer group), each with its own partitions:
    # the worker is up while one of them runs, and a failed one fails the whole.
    # One that stopped cleanly (scaled down, say) handed its partitions on: it is listed,
    # but not counted among the processes the group should have.
    running = [row for row in rows if row.alive]
    failed = any(row.state == "failed" for row in rows)
    lag = sum(row.lag or 0 for row in running)
    stopped = sum(row.state == "stopped" for row in rows)
    expected = len(rows) - stopped
    head = f"{len(running)} of {expected}" if expected else "no"
    head += f" processes running, lag {lag}"
    if stopped:
        head += f" ({stopped} stopped)"
    members = [
        f"{row.process or row.worker}: {', '.join(_row_facts(row))}"
        for row in sorted(rows, key=lambda row: row.worker)
    ]
    detail = "; ".join([f"failed: {head}" if failed else head, *members])
    return Check(status="up" if running and not failed else "down", detail=detail, seconds=0)


def check_health(services: Services) -> Health:
    def kafka() -> tuple[bool, str]:
        kafka = services.settings.kafka()
        if kafka.plaintext:
            return broker_answers(kafka.bootstrap, timeout=2.0)
        return secured_broker_answers(kafka.bootstrap, kafka.uses_tls, kafka.ssl_cafile, 2.0)

    def event_store() -> tuple[bool, str]:
        count = services.app.event_count()
        return True, f"{count} events recorded"

    def view_store() -> tuple[bool, str]:
        # Written, not only read: a full disk or a read-only file system shows here.
        with services.db.transaction() as tx:
            tx.execute(PROBE_TABLE)
            tx.execute(
                "INSERT INTO health_probe (id, probed_at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                (utc_text(datetime.now(tz=UTC)),),
            )
        return True, "writable"

    def evidence_store() -> tuple[bool, str]:
        services.evidence.check()
        return True, f"{services.evidence.description}, writable"

    checks = {
        "kafka": _timed("kafka", kafka),
        "event_store": _timed("event store", event_store),
        "view_store": _timed("view store", view_store),
        "evidence_store": _timed("evidence store", evidence_store),
    }
    groups: dict[str, list[WorkerRow]] = {}
    for row in _timed_rows(services).values():
        groups.setdefault(row.group, []).append(row)
    for worker in sorted(set(services.settings.expected_workers) | set(groups)):
        checks[worker] = _worker_check(worker, groups.get(worker, []))
    # Degraded: a store or the broker is down, an expected worker is not running, or any
    # worker failed. (Another worker that was stopped, a standby relay say, is shown only.)
    expected = set(services.settings.expected_workers)
    failing = [
        name
        for name, check in checks.items()
        if check.status == "down"
        and (name in expected or name in STORES or check.detail.startswith("failed"))
    ]
    status: Literal["ok", "degraded"] = "degraded" if failing else "ok"
    return Health(status=status, checks=checks)
