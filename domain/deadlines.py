"""What is overdue, and by how long: a pure function of recorded tasks and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from domain.linkage import YELLOW_WHEN_LEFT
from domain.values import Escalation


@dataclass(frozen=True)
class Deadline:
    assigned_at: datetime
    deadline: datetime
    done_at: datetime | None = None

    def overdue_by(self, now: datetime) -> timedelta | None:
        """How long past its deadline an open task is at `now` (None when not overdue)."""
        if self.done_at is not None or now <= self.deadline:
            return None
        return now - self.deadline

    def done_late(self) -> bool:
        return self.done_at is not None and self.done_at > self.deadline

    def yellow_from(self) -> datetime:
        """When an open task turns yellow: when a share YELLOW_WHEN_LEFT of its time, or a
        day, is all that is left (at once if it was given no time at all). Stored in the
        views, so that they count colours by comparing moments."""
        span = self.deadline - self.assigned_at
        if span <= timedelta(0):
            return self.assigned_at
        return self.deadline - max(span * YELLOW_WHEN_LEFT, timedelta(days=1))

    def escalation(self, now: datetime) -> Escalation:
        if self.done_at is not None:
            return Escalation.DONE
        if now > self.deadline:
            return Escalation.RED
        if now >= self.yellow_from():
            return Escalation.YELLOW
        return Escalation.GREEN


# Reminders (DOMAIN.md 12): before a deadline, on its day (in the district's time zone),
# and, once it has passed, a supervision notice from the district office.
DISTRICT_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


class Threshold(StrEnum):
    DUE_SOON = "due_soon"  # the deadline is this many days away, or fewer
    DUE_TODAY = "due_today"  # the deadline falls today (Asia/Shanghai)
    OVERDUE = "overdue"  # past the deadline: an automatic supervision notice (督办)


ORDER = (Threshold.DUE_SOON, Threshold.DUE_TODAY, Threshold.OVERDUE)


def reminder_due(
    deadline: datetime, now: datetime, before: timedelta, sent: tuple[str, ...]
) -> Threshold | None:
    """The reminder a task's deadline calls for at `now`: the latest threshold it has
    reached, unless that one or a later one was sent. (A reminders process that was down
    sends only the latest: a task already overdue gets its notice, not three messages.)"""
    reached = None
    if deadline - now <= before:
        reached = Threshold.DUE_SOON
    if now.astimezone(DISTRICT_TIME).date() >= deadline.astimezone(DISTRICT_TIME).date():
        reached = Threshold.DUE_TODAY
    if now > deadline:
        reached = Threshold.OVERDUE
    if reached is None or any(ORDER.index(Threshold(t)) >= ORDER.index(reached) for t in sent):
        return None
    return reached
