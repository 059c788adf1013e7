"""One event store has one active relay, whatever the settings say (issue #10, findings 1
and 2): a second relay, with the same transactional id or another one, stands by instead
of fencing the first back and forth or publishing everything again. And a batch the broker
refuses is never committed as a position without its events."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.relay_position import POSITION_KEY, RelayPosition, read_committed_position
from gateways.topics import Topics
from tests.domain.scenario import TOWN, Scenario
from tests.gateways.conftest import SIGNING_KEY
from tests.gateways.test_relay_crashes import start_relay

pytestmark = pytest.mark.kafka


def committed_events(bootstrap: str, topic: str) -> list[bytes]:
    """The ce_id of every committed record of `topic`, read to its end."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", group_id=None
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        ids: list[bytes] = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=500).values():
                ids += [dict(r.headers)["ce_id"] for r in batch]
        return ids
    finally:
        consumer.close()


def wait_for(condition: object, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize("same_id", [True, False], ids=["same transactional id", "another id"])
@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_second_relay_stands_by_and_nothing_is_lost_or_duplicated(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    topics: Topics,
    tmp_path: Path,
    same_id: bool,
    store: str,
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'events.sqlite'}"
        if store == "sqlite"
        else request.getfixturevalue("postgres_store_url")
    )
    base = {
        "LIANDONG_EVENT_STORE": url,
        "LIANDONG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIANDONG_TOPIC_PREFIX": topics.prefix,
        "LIANDONG_RELAY_BATCH_SIZE": "20",
    }
    first_env = {**base, "LIANDONG_RELAY_TRANSACTIONAL_ID": "relay-a"}
    second_env = {**base, "LIANDONG_RELAY_TRANSACTIONAL_ID": "relay-a" if same_id else "relay-b"}
    app = Liandong(env=store_env(url))
    s = Scenario(app)
    s.clock.now = app.clock()
    stop_writing = threading.Event()
    written = threading.Event()

    def commands() -> None:
        serial = 0
        while not stop_writing.is_set() or serial < 30:
            serial += 1
            case_id = s.list(serial=serial)
            s.classify(case_id, "rectify")
            s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
            if serial == 30:
                written.set()

    log_a, log_b = tmp_path / "relay-a.log", tmp_path / "relay-b.log"
    first = start_relay(first_env, log_a)
    wait_for(lambda: "resumes after position" in log_a.read_text(), "the first relay started")
    second = start_relay(second_env, log_b)
    writer = threading.Thread(target=commands)
    writer.start()
    try:
        wait_for(lambda: "stands by" in log_b.read_text(), "the second relay stood by")
        wait_for(written.is_set, "commands were written while both relays ran")
        # The active relay dies: the standby takes over and publishes the rest.
        first.kill()
        first.wait()
        wait_for(lambda: "resumes after position" in log_b.read_text(), "the standby took over")
    finally:
        stop_writing.set()
        writer.join()
    stored = app.event_count()
    wait_for(
        lambda: read_committed_position(kafka_bootstrap, topics) == stored,
        "the standby published everything",
    )
    second.terminate()
    second.wait(timeout=30)
    ids = committed_events(kafka_bootstrap, topics.events.name)
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicated, f"{len(duplicated)} events published twice"
    assert len(ids) == stored, f"{stored} stored, {len(ids)} published"
    app.close()


def test_a_standby_with_another_id_fences_a_relay_that_died_in_a_transaction(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """A relay killed between its sends and its commit leaves a transaction open, and
    `read_committed` readers stop at its first record until it ends. A standby with
    another transactional id cannot fence it by starting; it must fence the dead relay's
    id, or every reader (and the standby's own position) waits for the broker's timeout,
    here made 15 minutes as a broker may allow."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    base = {
        "LIANDONG_EVENT_STORE": url,
        "LIANDONG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIANDONG_TOPIC_PREFIX": topics.prefix,
    }
    app = Liandong(env=store_env(url))
    s = Scenario(app)
    s.clock.now = app.clock()
    s.classify(s.list(serial=1), "rectify")
    log_a, log_b = tmp_path / "relay-a.log", tmp_path / "relay-b.log"
    first = start_relay({**base, "LIANDONG_RELAY_TRANSACTIONAL_ID": "relay-a"}, log_a)
    wait_for(
        lambda: read_committed_position(kafka_bootstrap, topics) == app.event_count(),
        "the first relay published the first events",
    )
    first.kill()
    first.wait()
    # What the killed relay left: a transaction on every partition and on the position
    # topic, written and never committed (its producer takes relay-a's epoch).
    dead = KafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id="relay-a",
        enable_idempotence=True,
        acks="all",
        transaction_timeout_ms=900_000,
    )
    dead.init_transactions()
    dead.begin_transaction()
    for partition in range(topics.events.partitions):
        dead.send(
            topics.events.name, b"never", partition=partition, headers=[("ce_id", b"left open")]
        )
    dead.send(topics.relay_position.name, RelayPosition(10**9, "relay-a").encode(), POSITION_KEY)
    dead.flush()
    second = start_relay({**base, "LIANDONG_RELAY_TRANSACTIONAL_ID": "relay-b"}, log_b)
    try:
        for serial in range(2, 12):
            s.classify(s.list(serial=serial), "rectify")
        stored = app.event_count()
        wait_for(
            lambda: read_committed_position(kafka_bootstrap, topics) == stored,
            "the standby published everything, and readers see it",
        )
        ids = committed_events(kafka_bootstrap, topics.events.name)
        assert b"left open" not in ids, "the dead relay's transaction was committed"
        assert len(ids) == len(set(ids)) == stored
        assert "fenced the previous relay relay-a" in log_b.read_text()
    finally:
        second.terminate()
        second.wait(timeout=30)
        dead.close(timeout=0)
        app.close()


def test_a_batch_the_broker_refuses_is_not_committed_and_is_published_later(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """The events topic is made to refuse records over 2 kB: the relay's position must stay
    before the refused event (no position without its events), and once the topic takes
    such records again, everything is published, once."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    events = topics.events
    small_records = {**events.config, "max.message.bytes": "2048"}
    admin.create_topics(
        [
            NewTopic(
                events.name, events.partitions, replication_factor=1, topic_configs=small_records
            )
        ]
    )
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"))
    s = Scenario(app)
    s.clock.now = app.clock()
    small = s.list(serial=1)
    big = s.list(serial=2)
    s.act(TOWN, c.RecordProblem(case_id=big, kind="no_eia", description="长" * 1500))
    s.classify(small, "rectify")
    relay = EventRelay(app, kafka_bootstrap, topics, signing_key=SIGNING_KEY, batch_size=1)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: relay.last_error is not None, "the refused batch was reported")
        refused_at = relay.position
        assert refused_at < app.event_count()
        assert read_committed_position(kafka_bootstrap, topics) == refused_at
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, events.name, configs={"max.message.bytes": "1048588"}
                )
            ]
        )
        wait_for(lambda: relay.position == app.event_count(), "the relay published the rest")
    finally:
        stop.set()
        thread.join(timeout=15)
        admin.close()
    ids = committed_events(kafka_bootstrap, events.name)
    assert len(ids) == len(set(ids)) == app.event_count()
    app.close()
