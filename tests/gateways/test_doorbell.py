"""An idle relay looks at the store rarely (its interval grows to `idle_seconds`), yet a
new event is published at once: a commit in its own process rings its doorbell, and on
PostgreSQL a commit in any process does (NOTIFY). The relays here wait ten minutes
between looks, so an event that arrives within the test's wait was announced."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.settings import store_env
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.topics import Topics
from tests.domain.scenario import FrozenClock, Scenario
from tests.gateways.conftest import SIGNING_KEY
from tests.gateways.kafka_reading import read_topic

pytestmark = pytest.mark.kafka
IDLE_FOR_TEN_MINUTES = 600.0


def idle_relay(app: Liandong, bootstrap: str, topics: Topics) -> EventRelay:
    return EventRelay(
        app,
        bootstrap,
        topics,
        signing_key=SIGNING_KEY,
        transactional_id=f"relay-{topics.prefix}",
        poll_seconds=IDLE_FOR_TEN_MINUTES,
        idle_seconds=IDLE_FOR_TEN_MINUTES,
    )


def running(relay: EventRelay) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)


def wait_until_idle(relay: EventRelay) -> None:
    """Until the relay has looked, found nothing, and waits ten minutes for its next look."""
    assert relay.doorbell.waiting.wait(60), "the relay never started waiting"


def test_a_commit_in_the_relays_process_is_published_at_once(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    clock = FrozenClock(now=datetime.now(tz=UTC))
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"), clock=clock)
    relay = idle_relay(app, kafka_bootstrap, topics)
    for _ in running(relay):
        wait_until_idle(relay)
        Scenario(app, clock).list(serial=1)
        stored = app.recorder.max_notification_id() or 0
        records = read_topic(kafka_bootstrap, topics.events.name, expect=stored, timeout_s=120)
        assert len(records) == stored
    app.close()


@pytest.mark.postgres
def test_on_postgresql_a_commit_in_another_process_wakes_the_relay(
    kafka_bootstrap: str, topics: Topics, postgres_store_url: str
) -> None:
    clock = FrozenClock(now=datetime.now(tz=UTC))
    relaying = Liandong(env=store_env(postgres_store_url), clock=clock)
    writing = Liandong(env=store_env(postgres_store_url), clock=clock)  # another process's
    relay = idle_relay(relaying, kafka_bootstrap, topics)
    for _ in running(relay):
        wait_until_idle(relay)
        Scenario(writing, clock).list(serial=2)
        stored = writing.recorder.max_notification_id() or 0
        records = read_topic(kafka_bootstrap, topics.events.name, expect=stored, timeout_s=120)
        assert len(records) == stored
    relaying.close()
    writing.close()
