"""Small aggregates that make uniqueness a storage fact, not a race.

An enterprise with a USCC is listed once (rule 2). The index's id is derived from
the USCC, so a second listing collides in the event store even when two towns
list the same enterprise at the same instant; the application then points to the
first listing.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

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


# ---------------------------------------------------------------- workshops without a USCC

_WORKSHOP_NAMESPACE = uuid5(NAMESPACE_URL, "urn:liandong:workshop")


def normalised(text: str) -> str:
    """Name and address as offices type them: full-width forms, spaces and case ignored."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def workshop_index_id(town: str, name: str, address: str) -> UUID:
    return uuid5(_WORKSHOP_NAMESPACE, f"{town}|{normalised(name)}|{normalised(address)}")


class WorkshopIndexed(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    case_id: UUID
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, WorkshopIndex)
        aggregate.case_ids = (self.case_id,)


class WorkshopListedAgain(DomainEvent, CanMutateAggregate[UUID]):
    case_id: UUID
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, WorkshopIndex)
        aggregate.case_ids = (*aggregate.case_ids, self.case_id)


class WorkshopIndex(BaseAggregate[UUID]):
    """The cases listed under one name and address in one town, so that listing the same
    workshop again warns and names the case (unlicensed workshops have no USCC to collide
    on). A warning, not a refusal: two workshops may share a name and a yard."""

    def __init__(self) -> None:
        self.case_ids: tuple[UUID, ...] = ()

    @classmethod
    def start(cls, index_id: UUID, case_id: UUID, actor: Actor, now: datetime) -> WorkshopIndex:
        return cls._create(
            WorkshopIndexed, id=index_id, case_id=case_id, actor=actor, timestamp=now
        )

    def add(self, case_id: UUID, actor: Actor, now: datetime) -> None:
        self.trigger_event(WorkshopListedAgain, case_id=case_id, actor=actor, timestamp=now)
