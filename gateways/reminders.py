"""`liandong reminders`: each unit is reminded before a deadline and on its day; an
overdue task brings an automatic supervision notice from the district office (DOMAIN.md
12). Driven by the application's clock, so tests move time instead of sleeping.

The status view says which open tasks come near a deadline; the domain decides, and
records each reminder as an event (TaskReminded) at most once per task and threshold.
So two reminders processes, a restart, or a view that lags behind the store cannot send
one twice: the second attempt is refused and records nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prometheus_client import Counter

from domain import commands as c
from domain.application import Liandong
from domain.deadlines import Threshold, reminder_due
from domain.errors import ConcurrencyConflict, NotFound, RuleViolation
from domain.values import Actor
from projections.db import Database, parse_utc, utc_text
from projections.status import StatusProjection
from projections.workers import Beacon, supervise

log = logging.getLogger(__name__)
ACTOR = Actor(unit="district-office", person="reminders")
_METRICS: dict[str, Counter] = {}


def reminders_sent() -> Counter:
    """Reminders recorded, by threshold (an overdue one is an automatic 督办)."""
    if "sent" not in _METRICS:
        _METRICS["sent"] = Counter(
            "liandong_reminders_total", "reminders recorded, by threshold", ["threshold"]
        )
    return _METRICS["sent"]


@dataclass(frozen=True)
class Due:
    case_id: UUID
    task_id: str
    threshold: Threshold


class Reminders:
    def __init__(
        self,
        app: Liandong,
        db: Database,
        *,
        interval_seconds: float = 30.0,
        beacon: Beacon | None = None,
    ) -> None:
        self.app, self.db, self.interval = app, db, interval_seconds
        self.beacon = beacon or Beacon(None, "reminders")

    def due(self, now: datetime) -> Iterator[Due]:
        """Open tasks whose deadline calls for a reminder at `now`, as the view has them."""
        tasks = StatusProjection().t("tasks")
        horizon = utc_text(now + self.app.remind_before)
        for case_id, task_id, deadline, reminded in self.db.query(
            f"SELECT case_id, task_id, deadline, reminded FROM {tasks} "
            "WHERE done_at IS NULL AND cancelled_at IS NULL AND deadline <= ? "
            "ORDER BY deadline",
            (horizon,),
        ):
            sent = tuple(t for t in str(reminded).split(",") if t)
            threshold = reminder_due(parse_utc(deadline), now, self.app.remind_before, sent)
            if threshold is not None:
                yield Due(UUID(case_id), task_id, threshold)

    def tick(self) -> int:
        """Sends what is due now; returns how many reminders were recorded."""
        sent = 0
        for due in list(self.due(self.app.clock())):
            command = c.RemindTask(
                case_id=due.case_id, task_id=due.task_id, threshold=due.threshold
            )
            try:
                self.app.handle(ACTOR, command)
            except (RuleViolation, NotFound, ConcurrencyConflict):
                # Sent already (by another process, or before a restart the view has not
                # caught up with), or the task closed meanwhile: nothing to do.
                continue
            reminders_sent().labels(due.threshold.value).inc()
            sent += 1
        return sent

    def run(self, stop: threading.Event) -> None:
        supervise(self.beacon, self._loop, stop)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            sent = self.tick()
            self.beacon.report("running", position=sent)
            if sent:
                log.info("reminders: %d recorded", sent)
            stop.wait(self.interval)
