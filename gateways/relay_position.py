"""The relay's committed position, and which relay committed it.

Each relay transaction ends with a record on a compacted topic: the position it
published up to, and the relay's transactional id. A relay that takes over from one
with *another* transactional id reads that id and fences it first. Kafka aborts an
open transaction only when its own id is fenced, or when its timeout (60 s) runs out;
until then every `read_committed` reader (the projections, the utilities, the next
relay reading this very position) stops at the first record of that transaction. A
relay killed mid-batch would otherwise hold the whole system back for a minute, and a
standby that restarted in that minute would read a stale position and publish again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from gateways.kafka_access import Kafka, access
from gateways.topics import Topics

log = logging.getLogger(__name__)

POSITION_KEY = b"relay-position"


@dataclass(frozen=True)
class RelayPosition:
    position: int
    # None for records written before relays named themselves, or when none exists.
    relay: str | None = None

    def encode(self) -> bytes:
        return orjson.dumps({"position": self.position, "relay": self.relay})

    @classmethod
    def decode(cls, value: bytes) -> RelayPosition:
        fields = orjson.loads(value)
        relay = fields.get("relay")
        return cls(int(fields["position"]), relay if isinstance(relay, str) else None)


def read_relay_position(bootstrap: Kafka, topics: Topics, timeout_s: float = 30.0) -> RelayPosition:
    """The last position a relay committed (0 when none), read with read_committed."""
    consumer = KafkaConsumer(
        **access(bootstrap).options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        group_id=None,
        client_id="liandong-relay-position",
    )
    try:
        partition = TopicPartition(topics.relay_position.name, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        # read_committed: the end is the last stable offset, before any open transaction.
        end = consumer.end_offsets([partition])[partition]
        last = RelayPosition(0)
        deadline = time.monotonic() + timeout_s
        while consumer.position(partition) < end:
            if time.monotonic() > deadline:
                raise TimeoutError("could not read the relay position topic to its end")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    last = RelayPosition.decode(record.value)
        return last
    finally:
        consumer.close()


def read_committed_position(bootstrap: Kafka, topics: Topics, timeout_s: float = 30.0) -> int:
    return read_relay_position(bootstrap, topics, timeout_s).position


def fence(bootstrap: Kafka, transactional_id: str) -> None:
    """Fences the producers of `transactional_id`: the broker aborts their open
    transaction now, and any later send or commit of theirs is refused."""
    producer = KafkaProducer(
        **access(bootstrap).options(),
        transactional_id=transactional_id,
        enable_idempotence=True,
        acks="all",
        max_block_ms=30_000,
        client_id=f"{transactional_id}-fence",
    )
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=5)
    log.info("fenced the previous relay %s: its open transaction is aborted", transactional_id)
