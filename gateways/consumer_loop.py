"""One consumer loop for every Kafka consumer of ours: handle, then commit the next
offset; every error goes through one policy (quix-streams' shape).

- A message that can never succeed (malformed, refused by the domain) goes to a
  dead-letter topic with its reason, then its offset is committed.
- Anything else (the database is down, the broker hiccups) is retried from the
  same offset after a pause; nothing is committed, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from domain.errors import DomainError

log = logging.getLogger(__name__)


class Poison(Exception):
    """A message that can never be handled; it is dead-lettered with this reason."""

    def __init__(self, code: str, message: str, *, rule: str = "", field: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.rule, self.field = code, message, rule, field


def classify(exc: BaseException) -> Poison | None:
    """The error policy: which failures are the message's fault (dead-letter it)."""
    if isinstance(exc, Poison):
        return exc
    if isinstance(exc, DomainError):
        return Poison(exc.code, exc.message, rule=exc.rule, field=exc.field or "")
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return Poison(
            "invalid_input",
            first["msg"],
            field=".".join(str(p) for p in first["loc"]),
            rule="message schema",
        )
    if isinstance(exc, (orjson.JSONDecodeError, UnicodeDecodeError)):
        return Poison("malformed", str(exc), rule="message is JSON")
    return None


@dataclass
class ConsumerLoop:
    consumer: KafkaConsumer
    handle: Callable[[ConsumerRecord], None]
    # Makes the dead-letter producer when the first poison message comes: an idle
    # producer's network thread costs CPU all day for what is rare.
    dead_letters: Callable[[], KafkaProducer] | None = None
    dead_letter_topic: str | None = None
    retry_seconds: float = 1.0
    _producer: KafkaProducer | None = None

    def run(self, stop: threading.Event, on_poll: Callable[[], None] | None = None) -> None:
        """Consumes until `stop`. The consumer is closed however the loop ends: one left
        open after an error keeps its member in the group through its heartbeat thread,
        and the group's next rebalance waits for that member until it times out."""
        try:
            while not stop.is_set():
                polled = self.consumer.poll(timeout_ms=1000)
                if on_poll is not None:
                    on_poll()
                for records in polled.values():
                    for record in records:
                        if not self._process(record, stop):
                            break  # retry from this record on the next poll
        finally:
            self.consumer.close()
            if self._producer is not None:
                self._producer.close(timeout=5)

    def _process(self, record: ConsumerRecord, stop: threading.Event) -> bool:
        partition = TopicPartition(record.topic, record.partition)
        try:
            self.handle(record)
        except Exception as exc:
            poison = classify(exc)
            if poison is None:
                log.warning("retrying %s@%d after %s", record.topic, record.offset, exc)
                self.consumer.seek(partition, record.offset)
                stop.wait(self.retry_seconds)
                return False
            self._dead_letter(record, poison)
        self.consumer.commit({partition: OffsetAndMetadata(record.offset + 1, "", -1)})
        return True

    def _dead_letter(self, record: ConsumerRecord, poison: Poison) -> None:
        log.info(
            "dead-lettering %s@%d: %s %s", record.topic, record.offset, poison.code, poison.message
        )
        if self.dead_letters is None or self.dead_letter_topic is None:
            return
        headers = [
            ("dlq-source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ("dlq-code", poison.code.encode()),
            ("dlq-rule", poison.rule.encode()),
            ("dlq-field", poison.field.encode()),
            ("dlq-reason", poison.message.encode()),
        ]
        if self._producer is None:
            self._producer = self.dead_letters()
        # Wait for the broker's acknowledgement: the offset is committed only after.
        self._producer.send(
            self.dead_letter_topic, key=record.key, value=record.value, headers=headers
        ).get(timeout=30)
