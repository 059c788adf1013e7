"""What is overdue, and by how long: a pure function of recorded tasks and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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

    def escalation(self, now: datetime) -> Escalation:
        if self.done_at is not None:
            return Escalation.DONE
        if now > self.deadline:
            return Escalation.RED
        span = (self.deadline - self.assigned_at).total_seconds()
        left = (self.deadline - now).total_seconds()
        if span <= 0 or left <= span * YELLOW_WHEN_LEFT or left <= 86400:
            return Escalation.YELLOW
        return Escalation.GREEN
