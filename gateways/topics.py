"""Kafka topics as objects that carry their name, layout, configuration and
serialization (as quix-streams does), and their idempotent creation."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel

from domain.values import Utility
from gateways.kafka_access import Kafka, access

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class Topic(Generic[M]):
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    model: type[M] | None = None

    def serialize(self, message: M) -> bytes:
        return orjson.dumps(message.model_dump(mode="json"))

    def new_topic(self) -> NewTopic:
        return NewTopic(
            self.name,
            num_partitions=self.partitions,
            replication_factor=-1,
            topic_configs=dict(self.config),
        )


# The receipts gateway's consumer group of the default deployment: once every
# deployment's, so the default keeps it (its committed offsets); any other prefix gets
# its own group under this name.
RECEIPTS_GROUP = "liandong-receipts"


@dataclass(frozen=True)
class Topics:
    """Every topic of one deployment, named under a prefix (LIANDONG_TOPIC_PREFIX)."""

    prefix: str
    # Defaults suit a single broker; production sets partitions and replication by config.
    event_partitions: int = 6

    @property
    def events(self) -> Topic[Any]:
        # Everything is kept: no deletion by time or size, no compaction.
        return Topic(f"{self.prefix}.events.v1", self.event_partitions, KEEP_FOREVER)

    @property
    def relay_position(self) -> Topic[Any]:
        # The relay's position, written in the same transaction as the events it covers.
        return Topic(f"{self.prefix}.relay-position.v1", 1, {"cleanup.policy": "compact"})

    def orders(self, utility: Utility) -> Topic[Any]:
        from gateways.orders import OrderMessage

        return Topic(f"{self.prefix}.orders.{utility.value}.v1", 3, KEEP_FOREVER, OrderMessage)

    @property
    def receipts(self) -> Topic[Any]:
        from gateways.orders import Receipt

        return Topic(f"{self.prefix}.receipts.v1", 3, KEEP_FOREVER, Receipt)

    @property
    def dead_letters(self) -> Topic[Any]:
        return Topic(f"{self.prefix}.receipts.dead-letter.v1", 1, KEEP_FOREVER)

    @property
    def receipts_group(self) -> str:
        """The consumer group the receipts gateway's processes share: this deployment's
        own, or two deployments on one broker would rebalance each other's."""
        if self.prefix == "liandong":
            return RECEIPTS_GROUP
        return f"{RECEIPTS_GROUP}-{self.prefix}"

    def all(self) -> list[Topic[Any]]:
        return [
            self.events,
            self.relay_position,
            *(self.orders(u) for u in Utility),
            self.receipts,
            self.dead_letters,
        ]


def ensure_topics(
    bootstrap: Kafka,
    topics: Iterable[Topic[Any]],
    admin_factory: Callable[..., KafkaAdminClient] = KafkaAdminClient,
) -> list[str]:
    """Creates the topics that do not exist yet; returns the names it created."""
    admin = admin_factory(**access(bootstrap).options(), client_id="liandong-topics")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        created = []
        for topic in missing:
            try:
                admin.create_topics([topic.new_topic()])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # created meanwhile by another process
        if created:
            log.info("created topics %s", created)
        # Another process may have just created them: wait in every case.
        _wait_until_visible(admin, [t.name for t in topics])
        return created
    finally:
        admin.close()


def _wait_until_visible(admin: KafkaAdminClient, names: list[str], timeout_s: float = 30) -> None:
    """Creation returns before every broker serves the new topics' metadata; a consumer
    that subscribes in between gets no partitions until its next metadata refresh."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = admin.describe_topics(names)
        if all(t.get("error_code", 0) == 0 and t.get("partitions") for t in described):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics {names} not visible after {timeout_s} s")
