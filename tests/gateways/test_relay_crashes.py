"""The relay is killed with SIGKILL at random points while commands flow; after its
restarts the events topic still holds every event exactly once, in order."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from gateways.topics import Topics
from tests.domain.scenario import TOWN, Scenario
from tests.gateways.kafka_reading import read_topic

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


def start_relay(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "relay"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=out,
            stderr=out,
        )


def resumes(log: Path) -> int:
    """How many times a relay has started and read its position (its log says so)."""
    return len(re.findall(r"resumes after position", log.read_text())) if log.exists() else 0


def topic_end(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values()) if partitions else 0
    finally:
        consumer.close()


def grown(count: Callable[[], int], before: int) -> Callable[[], bool]:
    return lambda: count() > before


def wait_for(
    condition: Callable[[], bool], relay: subprocess.Popen[bytes], what: str, timeout_s: float = 120
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert relay.poll() is None, f"the relay exited ({relay.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def test_sigkill_at_random_points_neither_loses_nor_duplicates(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    env = {
        "LIANDONG_EVENT_STORE": url,
        "LIANDONG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIANDONG_TOPIC_PREFIX": topics.prefix,
        "LIANDONG_RELAY_TRANSACTIONAL_ID": f"relay-{topics.prefix}",
        "LIANDONG_RELAY_BATCH_SIZE": "20",
    }
    app = Liandong(env=store_env(url))
    s = Scenario(app)
    s.clock.now = app.clock()
    stop_writing = threading.Event()

    def commands() -> None:
        serial = 0
        while not stop_writing.is_set():
            serial += 1
            case_id = s.list(serial=serial)
            s.classify(case_id, "rectify")
            s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
            time.sleep(0.01)

    writer = threading.Thread(target=commands)
    writer.start()
    rng = random.Random(20211020)
    log = tmp_path / "relay.log"
    kills = 0
    relay: subprocess.Popen[bytes] | None = None
    try:
        while kills < 10:  # commands flow during every kill
            resumed_before = resumes(log)
            relay = start_relay(env, log)
            # Killed at a random instant once it is publishing (observed, not guessed:
            # a busy machine may take seconds to start a process).
            wait_for(grown(partial(resumes, log), resumed_before), relay, "it read its position")
            end = partial(topic_end, kafka_bootstrap, topics.events.name)
            wait_for(grown(end, end()), relay, "it committed a batch")
            time.sleep(rng.uniform(0.0, 0.5))
            relay.send_signal(signal.SIGKILL)
            relay.wait()
            kills += 1
    finally:
        if relay is not None and relay.poll() is None:  # a failed wait leaves none behind
            relay.kill()
            relay.wait()
        stop_writing.set()
        writer.join()

    final = start_relay(env, log)
    try:
        stored = app.recorder.select_notifications(1, 100_000)
        records = read_topic(
            kafka_bootstrap, topics.events.name, expect=len(stored), timeout_s=120, settle_s=3
        )
    finally:
        final.terminate()
        final.wait(timeout=30)
    assert len(records) == len(stored), f"{len(records)} on Kafka, {len(stored)} stored"
    ids = [r.header("ce_id") for r in records]
    assert len(set(ids)) == len(ids), "duplicates after crashes"
    order: dict[bytes, list[bytes]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        order[r.key].append(r.header("ce_id"))  # type: ignore[index, arg-type]
    for key, seen in order.items():
        versions = [int(i.rsplit(b"/", 1)[1]) for i in seen]
        assert versions == list(range(1, len(versions) + 1)), f"case {key!r} out of order"
    # The kills landed while the relay was making progress, not only while it idled.
    resumed = [int(p) for p in re.findall(r"resumes after position (\d+)", log.read_text())]
    assert len(set(resumed)) >= 6, resumed
    assert resumed == sorted(resumed), "a relay resumed from behind a committed position"
    app.close()
