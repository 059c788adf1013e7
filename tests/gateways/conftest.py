from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.settings import store_env
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.topics import Topics
from tests.domain.scenario import FrozenClock, Scenario

SIGNING_KEY = b"test-signing-key"


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
    """Waits until the relay has committed every stored event to Kafka."""
    deadline = time.monotonic() + timeout_s
    while relay.position < app.event_count():
        assert time.monotonic() < deadline, "the relay did not catch up"
        time.sleep(0.05)


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
