"""Every actor is a person of a unit (DOMAIN.md 12): an API key belongs to a named person
of one unit, and issuing or revoking it is itself an event on the audit trail.

The key's secret never enters the event store; the view store keeps only its hash, for
looking keys up (api/keys.py). One small aggregate per key records its life.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from domain.events import DomainEvent
from domain.values import Actor

_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:liandong:api-key")


def credential_id(key_id: str) -> UUID:
    return uuid5(_KEY_NAMESPACE, key_id)


class KeyIssued(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor  # the unit's administrator who issued it
    key_id: str
    unit: str
    person: str | None  # None: a key of the unit as a whole (a system, not a person)
    label: str

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Credential)
        aggregate.key_id, aggregate.unit, aggregate.person = self.key_id, self.unit, self.person


class KeyRevoked(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor
    key_id: str
    reason: str

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Credential)
        aggregate.revoked = True


class Credential(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.key_id = ""
        self.unit = ""
        self.person: str | None = None
        self.revoked = False

    @classmethod
    def issue(
        cls,
        actor: Actor,
        now: datetime,
        *,
        key_id: str,
        unit: str,
        person: str | None,
        label: str,
    ) -> Credential:
        return cls._create(
            KeyIssued,
            id=credential_id(key_id),
            timestamp=now,
            actor=actor,
            key_id=key_id,
            unit=unit,
            person=person,
            label=label,
        )

    def revoke(self, actor: Actor, now: datetime, reason: str) -> None:
        self.trigger_event(
            KeyRevoked,
            timestamp=max(now, self.modified_on),
            actor=actor,
            key_id=self.key_id,
            reason=reason,
        )
