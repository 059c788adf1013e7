"""What each background worker (relay, projections, receipts) tells /health, and the one
policy by which a worker meets an error.

Workers run in processes of their own, so each writes a heartbeat row to the view store
(`worker_status`): its state, position, lag and last error. The API reads those rows, so
/health tells the truth about processes it does not run. A worker whose row stops being
refreshed is reported as not running: a dead process cannot say it is dead.

The error policy:
- *transient*: the broker, a database or the disk is unavailable (connection lost, disk
  full, I/O error). The worker reports it, waits with exponential backoff, and resumes
  from its durable position by itself when the resource returns.
- anything else is *fatal*: retrying cannot help (an event a projection cannot apply). The
  worker reports it with the position and the reason and stops; its process exits non-zero.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from projections.db import Database, Tx, parse_utc, utc_text

log = logging.getLogger(__name__)

State = Literal["starting", "running", "standby", "retrying", "failed", "stopped"]
SCHEMA = """CREATE TABLE IF NOT EXISTS worker_status (
    worker TEXT PRIMARY KEY, state TEXT NOT NULL, pid INTEGER, host TEXT,
    position BIGINT, lag BIGINT, last_error TEXT, error_at TEXT, beat_at TEXT NOT NULL,
    since TEXT)"""
# `since` (when the row's state began) came later: a table made before lacks it.
_SINCE_MISSING = {
    "sqlite": "SELECT 1 FROM pragma_table_info('worker_status') WHERE name = 'since'",
    "postgres": "SELECT 1 FROM information_schema.columns WHERE table_schema = "
    "current_schema() AND table_name = 'worker_status' AND column_name = 'since'",
}
BEAT_SECONDS = 5.0  # a running worker refreshes its row at least this often
STALE_SECONDS = 15.0  # a row older than this belongs to a worker that is not running
MAX_BACKOFF_SECONDS = 30.0
# A worker retrying this long has not done its work for a minute, whatever the cause (a
# broker or store away, credentials refused): /health calls it down, not running.
RETRYING_IS_DOWN_SECONDS = 60.0


def create_worker_status(db: Database, tx: Tx) -> None:
    """The heartbeat table, with every column of this version; processes starting
    together take turns (neither statement is safe against a concurrent one)."""
    db.lock(tx, "liandong-worker-status")
    tx.execute(SCHEMA)
    if not tx.execute(_SINCE_MISSING[tx.dialect]).fetchall():
        tx.execute("ALTER TABLE worker_status ADD COLUMN since TEXT")


def is_transient(exc: BaseException) -> bool:
    """True when the failure lies in a resource (broker, database, disk) that may return."""
    from eventsourcing.persistence import OperationalError as StoreUnavailable
    from kafka.errors import KafkaError

    # A refusal by the broker's ACLs is retried too: it may pass by itself (a gateway
    # may not create the topics, and waits for the relay that may); one that does not
    # pass shows in /health as down after a minute of retrying, with its reason.
    if isinstance(exc, (OSError, TimeoutError, KafkaError, sqlite3.OperationalError)):
        return True
    if isinstance(exc, StoreUnavailable):
        return True
    return _is_pg_operational(exc)


def _is_pg_operational(exc: BaseException) -> bool:
    import sys

    psycopg = sys.modules.get("psycopg")  # loaded only where PostgreSQL is used
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


MEMBER_MARK = "@"  # "projection:status@host:pid": one process of a group
FORGET_MEMBER_SECONDS = 4 * STALE_SECONDS  # a member row this old is of a process gone


class Beacon:
    """Writes one worker's heartbeat row. Writing is best effort: when the view store
    itself is down the row goes stale, which /health reports as the truth it is.

    `member`: this process is one of several sharing the work in a consumer group, each
    with its own partitions and lag, so each writes a row of its own
    (`worker@host:pid`); /health shows them together under `worker`."""

    def __init__(self, view_store: str | None, worker: str, *, member: bool = False) -> None:
        self.view_store, self.group = view_store, worker
        self.worker = (
            f"{worker}{MEMBER_MARK}{socket.gethostname()}:{os.getpid()}" if member else worker
        )
        self.member = member
        self._db: Database | None = None
        self._last: tuple[object, ...] = ()
        self._last_at = 0.0
        self._lock = threading.Lock()
        self.state: State = "starting"
        self.last_error: str | None = None
        self._since = utc_text(datetime.now(tz=UTC))  # when `state` began

    def report(
        self,
        state: State,
        *,
        position: int | None = None,
        lag: int | None = None,
        error: str | None = None,
    ) -> None:
        if error is not None:
            self.last_error = error
        if state != self.state:
            self._since = utc_text(datetime.now(tz=UTC))
        self.state = state
        key = (state, error)
        now = time.monotonic()
        if key == self._last and now - self._last_at < BEAT_SECONDS:
            return
        self._last, self._last_at = key, now
        if self.view_store is None:
            return
        with self._lock:
            try:
                if self._db is None:
                    self._db = Database(self.view_store)
                    with self._db.transaction() as tx:
                        create_worker_status(self._db, tx)
                        if self.member:
                            self._forget_departed(tx)
                moment = utc_text(datetime.now(tz=UTC))
                with self._db.transaction() as tx:
                    tx.execute(
                        "INSERT INTO worker_status (worker, state, pid, host, position, lag, "
                        "last_error, error_at, beat_at, since) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (worker) DO UPDATE SET state = excluded.state, "
                        "pid = excluded.pid, host = excluded.host, "
                        "position = COALESCE(excluded.position, worker_status.position), "
                        "lag = COALESCE(excluded.lag, worker_status.lag), "
                        "last_error = COALESCE(excluded.last_error, worker_status.last_error), "
                        "error_at = COALESCE(excluded.error_at, worker_status.error_at), "
                        "beat_at = excluded.beat_at, since = excluded.since",
                        (
                            self.worker,
                            state,
                            os.getpid(),
                            socket.gethostname(),
                            position,
                            lag,
                            error,
                            moment if error else None,
                            moment,
                            self._since,
                        ),
                    )
            except Exception as exc:  # the view store is down or full: the row goes stale
                log.debug("heartbeat of %s not written: %s", self.worker, exc)
                self._last = ()
                if self._db is not None:
                    self._db.close()
                    self._db = None

    def _forget_departed(self, tx: Tx) -> None:
        """Rows of this group's members that have not beaten for a minute belong to
        processes that were killed or stopped: a group that restarts its members for a
        year would otherwise list every process it ever ran. So does the worker's own row
        from before it ran as a group."""
        cutoff = datetime.now(tz=UTC) - timedelta(seconds=FORGET_MEMBER_SECONDS)
        prefix = f"{self.group}{MEMBER_MARK}"
        tx.execute(
            "DELETE FROM worker_status WHERE (substr(worker, 1, ?) = ? OR worker = ?) "
            "AND beat_at < ?",
            (len(prefix), prefix, self.group, utc_text(cutoff)),
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass(frozen=True)
class WorkerRow:
    worker: str
    state: str
    pid: int | None
    position: int | None
    lag: int | None
    last_error: str | None
    error_at: str | None
    beat_age_seconds: float
    state_seconds: float | None = None  # how long it has been in `state` (None: unknown)

    @property
    def group(self) -> str:
        """The worker this row reports for: a group member's row names its process after
        a '@' (`projection:status@host:pid`)."""
        return self.worker.partition(MEMBER_MARK)[0]

    @property
    def process(self) -> str:
        """`host:pid` of a process of a group; empty for a worker run once."""
        return self.worker.partition(MEMBER_MARK)[2]

    @property
    def alive(self) -> bool:
        return (
            self.beat_age_seconds <= STALE_SECONDS
            and self.state not in ("failed", "stopped")
            and not self.retrying_too_long
        )

    @property
    def retrying_too_long(self) -> bool:
        return self.state == "retrying" and (self.state_seconds or 0) > RETRYING_IS_DOWN_SECONDS


def worker_rows(db: Database) -> dict[str, WorkerRow]:
    """Every worker's last report (the table is made with the views: api/bootstrap.py)."""
    rows = db.query(  # never waits for a projection writing a batch
        "SELECT worker, state, pid, position, lag, last_error, error_at, beat_at, since "
        "FROM worker_status"
    )
    now = datetime.now(tz=UTC)
    return {
        row[0]: WorkerRow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            round((now - parse_utc(row[7])).total_seconds(), 1),
            round((now - parse_utc(row[8])).total_seconds(), 1) if row[8] else None,
        )
        for row in rows
    }


def _wait_beating(beacon: Beacon, stop: threading.Event, seconds: float, error: str) -> None:
    """Waits out a backoff while still beating: a row gone stale would say the process
    is not running, when it is, and retrying (and, past a minute of it, down)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not stop.wait(min(left, BEAT_SECONDS)):
        beacon.report("retrying", error=error)


class WorkerFailed(RuntimeError):
    """A worker met an error that retrying cannot mend; it has reported it and stopped."""


def supervise(
    beacon: Beacon,
    body: Callable[[threading.Event], None],
    stop: threading.Event,
    *,
    first_backoff: float = 0.5,
) -> None:
    """Runs `body` until `stop`: transient failures are reported and retried with
    exponential backoff (the body resumes from its durable position); a fatal one is
    reported and raised as WorkerFailed."""
    backoff = first_backoff
    while not stop.is_set():
        started = time.monotonic()
        try:
            body(stop)
            if stop.is_set():
                break
        except WorkerFailed:
            raise
        except Exception as exc:
            if not is_transient(exc):
                beacon.report("failed", error=describe(exc))
                log.error("%s failed and stops: %s", beacon.worker, describe(exc))
                raise WorkerFailed(f"{beacon.worker}: {describe(exc)}") from exc
            if time.monotonic() - started > 60:
                backoff = first_backoff  # it had been running well: start over
            beacon.report("retrying", error=describe(exc))
            log.warning("%s: %s; retrying in %.1f s", beacon.worker, describe(exc), backoff)
            _wait_beating(beacon, stop, backoff, describe(exc))
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    beacon.report("stopped")
