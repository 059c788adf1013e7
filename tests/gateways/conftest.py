from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from api.settings import store_env
from domain.application import Liandong
from gateways.kafka_access import Kafka, access
from gateways.relay import EventRelay
from gateways.signing import development_key
from gateways.topics import Topics
from tests.domain.scenario import FrozenClock, Scenario

# The district key the relay signs with; agents started with default settings verify
# with the development key set, so the tests use it.
SIGNING_KEY = development_key("district")


@dataclass
class Relayed:
    """A store, its relay running in a thread, and this test's own topics."""

    app: Liandong
    relay: EventRelay
    topics: Topics
    scenario: Scenario
    store_url: str
    bootstrap: str

    def relay_caught_up(self, timeout_s: float = 60) -> None:
        wait_until_published(self.relay, self.app, timeout_s)


def wait_until_published(relay: EventRelay, app: Liandong, timeout_s: float = 60) -> None:
    """Waits until the relay has committed every stored event to Kafka, and the broker has
    written the commit markers on every partition: commit_transaction returns once the
    coordinator has logged the commit, a moment before read_committed consumers see the
    last transaction, so a catch-up "to the end" could otherwise stop short of it."""
    deadline = time.monotonic() + timeout_s
    while relay.position < app.event_count():
        assert time.monotonic() < deadline, "the relay did not catch up"
        time.sleep(0.05)
    while not transactions_settled(relay.bootstrap, relay.topics.events.name):
        assert time.monotonic() < deadline, "the last transaction's markers did not land"
        time.sleep(0.05)


def transactions_settled(bootstrap: Kafka, topic: str) -> bool:
    """No transaction is open on `topic`: its last stable offsets equal its high watermarks."""
    ends = []
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = KafkaConsumer(**access(bootstrap).options(), isolation_level=isolation)
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            ends.append(consumer.end_offsets(partitions))
        finally:
            consumer.close()
    return bool(ends[0] == ends[1])


@pytest.fixture
def topics() -> Topics:
    return Topics(prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def relayed(
    request: pytest.FixtureRequest, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> Iterator[Relayed]:
    """The relay reads the notification log of either store (both by polling)."""
    clock = FrozenClock(now=datetime.now(tz=UTC))  # utilities report real times
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_store_url")
    app = Liandong(env=store_env(url), clock=clock)
    relay = EventRelay(
        app,
        kafka_bootstrap,
        topics,
        signing_key=SIGNING_KEY,
        transactional_id=f"relay-{topics.prefix}",
    )
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    yield Relayed(app, relay, topics, Scenario(app, clock), url, kafka_bootstrap)
    stop.set()
    thread.join(timeout=15)
    app.close()
