"""Reading topics back in tests, the way an independent consumer would."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 60.0, settle_s: float = 1.0
) -> list[Record]:
    """Every committed record of `topic` (read_committed, from the beginning), waiting until
    at least `expect` arrived, then `settle_s` longer to catch any surplus."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        group_id=None,
    )
    try:
        known: set[int] = set()
        wait_until = time.monotonic() + 30
        while not known and time.monotonic() < wait_until:  # the topic may not exist yet
            known = consumer.partitions_for_topic(topic) or set()
            if not known:
                time.sleep(0.1)
        partitions = [TopicPartition(topic, p) for p in sorted(known)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Record] = []
        deadline = time.monotonic() + timeout_s
        settled_at: float | None = None
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records += [
                    Record(r.partition, r.offset, r.key, r.value, list(r.headers)) for r in batch
                ]
            if len(records) >= expect:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle_s:
                    break
        return records
    finally:
        consumer.close()
