"""Small aggregates that make uniqueness a storage fact, not a race.

An enterprise with a USCC is listed once (rule 2). The index's id is derived from
the USCC, so a second listing collides in the event store even when two towns
list the same enterprise at the same instant; the application then points to the
first listing.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.events import DomainEvent
from domain.values import Actor

_USCC_NAMESPACE = uuid5(NAMESPACE_URL, "urn:liandong:uscc")


def uscc_index_id(uscc: str) -> UUID:
    return uuid5(_USCC_NAMESPACE, uscc)


class UsccRegistered(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    uscc: str
    case_id: UUID
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, UsccIndex)
        aggregate.uscc = self.uscc
        aggregate.case_id = self.case_id


class UsccIndex(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.uscc = ""
        self.case_id: UUID | None = None

    @classmethod
    def register(cls, uscc: str, case_id: UUID, actor: Actor, now: datetime) -> UsccIndex:
        return cls._create(
            UsccRegistered,
            id=uscc_index_id(uscc),
            uscc=uscc,
            case_id=case_id,
            actor=actor,
            timestamp=now,
        )
