"""A request that carried an idempotency key is recorded in the same transaction as the
events it caused, so "was this request carried out?" has one true answer in the event
store even when the process dies between storing the events and answering.

The record's id is derived from the unit and the key (as the USCC index's is from the
USCC), so a request carried out twice collides in the store: the second attempt records
nothing and finds the first one's result.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.events import DomainEvent
from domain.values import Actor

_REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "urn:liandong:request")


def request_record_id(unit: str, key: str) -> UUID:
    return uuid5(_REQUEST_NAMESPACE, f"{unit}\n{key}")


def key_digest(key: str) -> str:
    """The key itself is the client's; the trail keeps only its digest."""
    return hashlib.sha256(key.encode()).hexdigest()


class RequestHandled(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor
    key_sha256: str
    fingerprint: str  # of the request (method, path, body): one key, one request
    status: int  # the HTTP status the request was answered with
    aggregate_id: UUID  # what the command acted on
    version: int
    events: int  # events the command itself recorded
    created: dict[str, Any]

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, RequestRecord)
        aggregate.handled = self


class RequestRecord(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.handled: RequestHandled | None = None

    @classmethod
    def record(
        cls,
        actor: Actor,
        now: datetime,
        *,
        key: str,
        fingerprint: str,
        status: int,
        aggregate_id: UUID,
        version: int,
        events: int,
        created: dict[str, Any],
    ) -> RequestRecord:
        return cls._create(
            RequestHandled,
            id=request_record_id(actor.unit, key),
            timestamp=now,
            actor=actor,
            key_sha256=key_digest(key),
            fingerprint=fingerprint,
            status=status,
            aggregate_id=aggregate_id,
            version=version,
            events=events,
            created=created,
        )
