"""On a three-node Kafka cluster (replication 3, min.insync.replicas 2, the relay's
producer transactional with acks=all), one broker is killed under load, then the active
controller: every event acknowledged arrives exactly once, and the projection that
consumes them carries on to the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient

from api.settings import store_env
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.topics import Topics, ensure_topics
from projections.db import Database
from projections.runner import ProjectionRunner, setup
from projections.status import StatusProjection
from tests.domain.scenario import OTHER_TOWN, TOWN, FrozenClock, Scenario
from tests.gateways.conftest import SIGNING_KEY
from tests.gateways.kafka_reading import read_topic
from tests.infra_fixtures import REPO

pytestmark = [pytest.mark.kafka, pytest.mark.faults]
BASE_PORT = 29092


@dataclass(frozen=True)
class Cluster:
    root: Path

    def script(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(REPO / "infra/kafka/cluster.sh"), *args],
            env={**os.environ, "KAFKA_CLUSTER_PORT": str(BASE_PORT),
                 "KAFKA_CLUSTER_DIR": str(self.root)},
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert done.returncode == 0 or not check, done.stderr
        return done.stdout.strip()

    @property
    def bootstrap(self) -> str:
        return self.script("bootstrap")

    def leader(self) -> int:
        """The active controller's node id (asked until the quorum has one)."""
        answer = ""

        def known() -> bool:
            nonlocal answer
            answer = self.script("leader", check=False)
            return answer.isdigit()

        wait_for(known, "an active controller")
        return int(answer)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("kafka-cluster"))
    try:
        running.script("start")
        yield running
    finally:  # a node that failed to start is stopped too
        running.script("stop", check=False)
        shutil.rmtree(running.root, ignore_errors=True)


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout_s: float = 180,
    explain: Callable[[], str] = str,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}. {explain()}"
        time.sleep(0.1)


def where(name: str, thread: threading.Thread, last_error: str | None) -> str:
    """What a worker thread is doing now, and its last error: why it did not go on."""
    frame = sys._current_frames().get(thread.ident or -1)
    stack = "".join(traceback.format_stack(frame)) if frame else "(not running)"
    return f"{name}'s last error: {last_error}; it is at:\n{stack}"


def fully_replicated(bootstrap: str, topic: str) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="liandong-test-isr")
    try:
        described = admin.describe_topics([topic])
        partitions = described[0].get("partitions") or []
        return bool(partitions) and all(len(p.get("isr_nodes", [])) == 3 for p in partitions)
    except Exception:  # a node just killed: ask again
        return False
    finally:
        admin.close()


@pytest.mark.timeout(900)  # two broker restarts and their catch-up, on a busy machine
def test_killing_a_broker_then_the_controller_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    bootstrap = cluster.bootstrap
    topics = Topics(prefix="cluster")
    ensure_topics(bootstrap, topics.all())
    assert fully_replicated(bootstrap, topics.events.name)
    clock = FrozenClock(datetime.now(UTC))
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"), clock=clock)
    s = Scenario(app, clock)
    relay = EventRelay(
        app, bootstrap, topics, signing_key=SIGNING_KEY, transactional_id="relay-cluster"
    )
    views = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    status = StatusProjection()
    setup(views, status)
    runner = ProjectionRunner(status, views, bootstrap, topics.events.name)
    stop, stop_load = threading.Event(), threading.Event()
    listed: list[int] = []

    def load() -> None:
        """Listings and classifications, as towns and economy post them, all along."""
        while not stop_load.is_set():
            case_id = s.list(town=TOWN if len(listed) % 2 else OTHER_TOWN, serial=len(listed) + 1)
            s.classify(case_id, "rectify")
            listed.append(1)
            time.sleep(0.01)

    loader = threading.Thread(target=load, daemon=True)
    threads = [
        threading.Thread(target=work, args=(stop,), daemon=True) for work in (relay.run, runner.run)
    ] + [loader]
    for thread in threads:
        thread.start()

    def relay_state() -> str:
        return where("the relay", threads[0], relay.last_error)

    try:
        wait_for(lambda: relay.position >= 100, "the relay to publish under load")
        leader = cluster.leader()
        victim = next(n for n in (1, 2, 3) if n != leader)
        cluster.script("kill", str(victim))
        mark = relay.position
        wait_for(
            lambda: relay.position >= mark + 200,
            "publishing on two brokers of three",
            explain=relay_state,
        )
        cluster.script("start-node", str(victim))
        wait_for(lambda: fully_replicated(bootstrap, topics.events.name), "the broker to catch up")

        leader = cluster.leader()
        cluster.script("kill", str(leader))
        mark = relay.position
        wait_for(
            lambda: relay.position >= mark + 200,
            "publishing after the controller died",
            explain=relay_state,
        )
        cluster.script("start-node", str(leader))
        stop_load.set()
        loader.join(timeout=60)  # its last case is stored whole before counting
        assert not loader.is_alive(), "the load stopped"

        stored = app.recorder.max_notification_id() or 0
        wait_for(
            lambda: relay.position == stored, "the relay to publish everything", explain=relay_state
        )
        records = read_topic(bootstrap, topics.events.name, expect=stored, timeout_s=120)
        wait_for(
            lambda: views.query(f"SELECT count(*) FROM {status.t('cases')}")[0][0] == len(listed),
            "the projection to carry on to the end",
        )
    finally:
        stop_load.set()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    positions = [int(r.header("ce_sequence") or 0) for r in records]
    expected = [n.id for n in app.recorder.select_notifications(1, stored + 1)]
    assert sorted(positions) == expected, "each acknowledged event exactly once"
    assert len(listed) > 100
    views.close()
    app.close()
