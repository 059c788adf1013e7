"""The broker is stopped for 30 seconds while commands keep being accepted; once it
is back, every event arrives and nothing is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.topics import Topics
from tests.domain.scenario import TOWN, Scenario
from tests.gateways.conftest import SIGNING_KEY
from tests.gateways.kafka_reading import read_topic
from tests.infra_fixtures import PrivateBroker

pytestmark = pytest.mark.kafka
OUTAGE_SECONDS = 30


def test_commands_accepted_during_a_broker_outage_all_arrive(
    private_broker: PrivateBroker, topics: Topics, tmp_path: Path
) -> None:
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"))
    s = Scenario(app)
    s.clock.now = app.clock()
    relay = EventRelay(
        app,
        private_broker.bootstrap,
        topics,
        signing_key=SIGNING_KEY,
        transactional_id=f"relay-{topics.prefix}",
    )
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        serial = 0

        def one_case() -> None:
            nonlocal serial
            serial += 1
            case_id = s.list(serial=serial)
            s.classify(case_id, "rectify")
            s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))

        for _ in range(5):
            one_case()
        private_broker.stop()
        accepted_during_outage = 0
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            one_case()  # the store accepts commands while Kafka is away
            accepted_during_outage += 1
            time.sleep(0.5)
        private_broker.start()

        stored = app.recorder.select_notifications(1, 100_000)
        records = read_topic(
            private_broker.bootstrap,
            topics.events.name,
            expect=len(stored),
            timeout_s=120,
            settle_s=3,
        )
    finally:
        stop.set()
        thread.join(timeout=30)
    assert accepted_during_outage >= 40
    assert len(records) == len(stored)
    assert len({r.header("ce_id") for r in records}) == len(stored)
    app.close()
