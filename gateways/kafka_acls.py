"""Least privilege on Kafka: one principal per process role, and only the ACLs that role
needs (docs/security.md). With the broker's StandardAuthorizer and
`allow.everyone.if.no.acl.found=false` (infra/kafka/kafka.sh, KAFKA_ACLS=1), everything
else is refused by the broker itself.

- relay: create the deployment's topics; write the events, order and position topics (in
  transactions under its transactional id); read its position.
- projections: read the events topic; commit offsets of the projection groups.
- receipts: read receipts; write dead letters; commit its group's offsets.
- power, water, gas: read its own order topic; write receipts; commit its group's offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
)

from domain.values import Utility
from gateways.kafka_access import Kafka, access
from gateways.topics import Topics

ROLES = ("relay", "projections", "receipts", *(u.value for u in Utility))


@dataclass(frozen=True)
class Grant:
    resource: ResourceType
    name: str
    operations: tuple[ACLOperation, ...]
    prefixed: bool = False

    def acls(self, principal: str) -> list[ACL]:
        pattern = ResourcePattern(
            self.resource,
            self.name,
            ACLResourcePatternType.PREFIXED if self.prefixed else ACLResourcePatternType.LITERAL,
        )
        return [
            ACL(f"User:{principal}", "*", operation, ACLPermissionType.ALLOW, pattern)
            for operation in self.operations
        ]


R, W, D, C = ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE, ACLOperation.CREATE
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP


def grants(topics: Topics, transactional_id: str) -> dict[str, list[Grant]]:
    """What each role may do, for the deployment whose topics are `topics`."""
    cluster = Grant(ResourceType.CLUSTER, "kafka-cluster", (ACLOperation.IDEMPOTENT_WRITE,))
    every_topic = f"{topics.prefix}."
    table: dict[str, list[Grant]] = {
        "relay": [
            Grant(TOPIC, every_topic, (C, D, W), prefixed=True),
            Grant(TOPIC, topics.relay_position.name, (R,)),
            Grant(ResourceType.TRANSACTIONAL_ID, transactional_id, (W, D)),
            cluster,
        ],
        "projections": [
            Grant(TOPIC, topics.events.name, (R, D)),
            # Its deployment's projection groups (`<events topic>.projection-<view>`), and
            # no other's: a prefix of every deployment's, `liandong-projection-`, let one
            # deployment's runners commit into another's groups on a shared broker.
            Grant(GROUP, f"{topics.events.name}.projection-", (R,), prefixed=True),
        ],
        "receipts": [
            Grant(TOPIC, every_topic, (D,), prefixed=True),
            Grant(TOPIC, topics.receipts.name, (R,)),
            Grant(TOPIC, topics.dead_letters.name, (W,)),
            # Its deployment's group only: a prefix would let it join every deployment's
            # `liandong-receipts-<prefix>` on a shared broker.
            Grant(GROUP, topics.receipts_group, (R,)),
            cluster,
        ],
    }
    for utility in Utility:
        table[utility.value] = [
            Grant(TOPIC, topics.orders(utility).name, (R, D)),
            Grant(TOPIC, topics.receipts.name, (W, D)),
            Grant(GROUP, f"utility-{utility.value}", (R,), prefixed=True),
            cluster,
        ]
    return table


def apply_acls(admin: Kafka, topics: Topics, transactional_id: str) -> int:
    """Creates every role's ACLs (as the super user); returns how many. Idempotent: the
    broker keeps one copy of an ACL created twice."""
    client = KafkaAdminClient(**access(admin).options(), client_id="liandong-acls")
    try:
        acls = [
            acl
            for role, role_grants in grants(topics, transactional_id).items()
            for grant in role_grants
            for acl in grant.acls(role)
        ]
        result = client.create_acls(acls)
        failed = result.get("failed", [])
        if failed:
            raise RuntimeError(f"the broker refused {len(failed)} ACLs: {failed[:3]}")
        return len(acls)
    finally:
        client.close()
