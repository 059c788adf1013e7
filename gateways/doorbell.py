"""Wakes a process that publishes what the event store records, instead of having it
poll an idle store many times a second.

Three ways a new event announces itself: the application in this process rings at once
after each save (`Liandong.on_recorded`); PostgreSQL announces every insert on its
channel (the eventsourcing recorder sends NOTIFY), which another process hears with
LISTEN; with neither (SQLite written by another process), the waiter's interval grows
while nothing happens, from its polling interval up to `idle_seconds`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class Doorbell:
    def __init__(self, poll_seconds: float, idle_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self.idle_seconds = max(idle_seconds, poll_seconds)
        self._rung = threading.Event()
        self._interval = poll_seconds
        self.waiting = threading.Event()  # set while a waiter waits (health and tests read it)
        self._listener: threading.Thread | None = None

    def ring(self) -> None:
        self._rung.set()

    def busy(self) -> None:
        """Work was found: the next wait is the shortest again."""
        self._interval = self.poll_seconds

    def wait(self) -> None:
        """Until rung, or the current interval passes (which then doubles, up to the idle
        interval: a store with nothing new is asked less and less often)."""
        self.waiting.set()
        try:
            if not self._rung.wait(self._interval):
                self._interval = min(self._interval * 2, self.idle_seconds)
        finally:
            self.waiting.clear()
        self._rung.clear()

    def listen_to(self, recorder: Any, stop: threading.Event) -> None:
        """Also rings on the PostgreSQL recorder's NOTIFY (other processes' commits)."""
        channel = getattr(recorder, "channel_name", None)
        pool = getattr(getattr(recorder, "datastore", None), "pool", None)
        if channel is not None and pool is not None:
            self.listen(pool.conninfo, channel, stop, **pool.kwargs)

    def listen(self, conninfo: str, channel: str, stop: threading.Event, **options: Any) -> None:
        """Rings whenever PostgreSQL delivers a NOTIFY on `channel` (in a thread)."""
        if self._listener is not None:
            return
        self._listener = threading.Thread(
            target=self._listen,
            args=(conninfo, options, channel, stop),
            name="doorbell",
            daemon=True,
        )
        self._listener.start()

    def _listen(
        self, conninfo: str, options: dict[str, Any], channel: str, stop: threading.Event
    ) -> None:
        import psycopg
        from psycopg import sql

        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, **options, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(channel)))
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.ring()
            except Exception:  # the store is away: poll until it is back, then listen again
                log.debug("LISTEN on %s failed; polling meanwhile", channel, exc_info=True)
                self.ring()
                stop.wait(self.idle_seconds)
