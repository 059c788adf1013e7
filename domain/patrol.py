"""巡查: a town's patrol, so that no new 散乱污 enterprise appears unnoticed (十五)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.actions import Action
from domain.events import DomainEvent
from domain.values import Actor, Evidence


class PatrolRecorded(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor
    action: Action = Action.RECORD_PATROL
    town: str
    patrol_date: date
    area: str
    findings: str
    evidence: tuple[Evidence, ...] = ()

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Patrol)
        aggregate.town = self.town
        aggregate.patrol_date = self.patrol_date


class Patrol(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.town = ""
        self.patrol_date: date | None = None

    @classmethod
    def record(
        cls,
        actor: Actor,
        now: datetime,
        *,
        patrol_id: UUID,
        town: str,
        patrol_date: date,
        area: str,
        findings: str,
        evidence: tuple[Evidence, ...],
    ) -> Patrol:
        return cls._create(
            PatrolRecorded,
            id=patrol_id,
            actor=actor,
            timestamp=now,
            town=town,
            patrol_date=patrol_date,
            area=area,
            findings=findings,
            evidence=evidence,
        )
