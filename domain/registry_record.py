"""The units registry is data the district office edits (which units exist, what each
role may post). Every version a process starts with is put on the audit trail, with what
changed, so who was allowed to do what at any moment can be proven afterwards.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson
from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate

from domain.events import DomainEvent
from domain.units import UnitsRegistry
from domain.values import Actor

REGISTRY_RECORD_ID = uuid5(NAMESPACE_URL, "urn:liandong:units-registry")


def registry_content(registry: UnitsRegistry) -> dict[str, Any]:
    """The registry as data: each unit's kind and role, each role's actions."""
    return {
        "units": {u.id: {"kind": u.kind, "role": u.role} for u in registry.all()},
        "roles": {
            role: sorted(a.value for a in actions) for role, actions in registry.roles().items()
        },
    }


def registry_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


class UnitsRegistryAdopted(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor
    digest: str
    content: dict[str, Any]

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, RegistryRecord)
        aggregate.digest, aggregate.content = self.digest, self.content


class UnitsRegistryChanged(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor
    digest: str
    content: dict[str, Any]
    added_units: list[str]
    removed_units: list[str]
    changed_units: list[str]
    changed_roles: list[str]

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, RegistryRecord)
        aggregate.digest, aggregate.content = self.digest, self.content


class RegistryRecord(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.digest = ""
        self.content: dict[str, Any] = {}

    @classmethod
    def adopt(cls, actor: Actor, now: datetime, content: dict[str, Any]) -> RegistryRecord:
        return cls._create(
            UnitsRegistryAdopted,
            id=REGISTRY_RECORD_ID,
            timestamp=now,
            actor=actor,
            digest=registry_digest(content),
            content=content,
        )

    def change(self, actor: Actor, now: datetime, content: dict[str, Any]) -> bool:
        """Records `content` if it differs from the registry last recorded."""
        digest = registry_digest(content)
        if digest == self.digest:
            return False
        old_units, new_units = self.content.get("units", {}), content["units"]
        old_roles, new_roles = self.content.get("roles", {}), content["roles"]
        self.trigger_event(
            UnitsRegistryChanged,
            timestamp=max(now, self.modified_on),
            actor=actor,
            digest=digest,
            content=content,
            added_units=sorted(set(new_units) - set(old_units)),
            removed_units=sorted(set(old_units) - set(new_units)),
            changed_units=sorted(
                u for u in set(old_units) & set(new_units) if old_units[u] != new_units[u]
            ),
            changed_roles=sorted(
                r for r in set(old_roles) | set(new_roles) if old_roles.get(r) != new_roles.get(r)
            ),
        )
        return True
