"""The fault suite (marker `faults`): while clients send commands over HTTP and a utility
reports receipts over Kafka, each scenario kills parts of the running system at random
instants and starts them again, as a tired operator or a crashing machine would. One
scenario runs the receipts gateway and the status view as two processes each, sharing
their topics' partitions in consumer groups, and kills one member at a time. Then:

- every acknowledged command is stored once (keyed retries never record twice),
- every stored event is published once (read_committed, to the topic's end),
- every event is projected once (the status view has each case once, the audit trail
  each event once) and the views equal a clean rebuild,
- every receipt is applied once.

Each scenario prints: sent, acknowledged, stored, published, projected, lost, duplicated.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from api.keys import KeyStore
from api.settings import store_env
from domain.application import Liandong
from domain.uscc import with_check_character
from gateways.orders import Receipt, receipt_envelope
from gateways.relay_position import read_committed_position
from gateways.signing import development_key
from gateways.topics import Topics, ensure_topics
from projections.audit import AuditProjection
from projections.db import Database
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from tests.faults.system import System, wait_until
from tests.gateways.conftest import transactions_settled
from tests.gateways.test_two_relays import committed_events
from tests.infra_fixtures import REPO, TEST_KAFKA_PORT, run_script

pytestmark = [pytest.mark.kafka, pytest.mark.faults]
TOWN = "town:degan"
TRAFFIC_SECONDS = 20
CLIENTS = 3


@dataclass
class Tally:
    sent: int = 0  # requests sent, retries included
    acknowledged: int = 0  # commands answered 2xx (first time or replayed)
    items: int = 0  # enterprises whose whole chain (list, classify, order, receipt) was done
    receipts: int = 0
    names: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)


class Client:
    """A unit's clerk who retries every command with the same Idempotency-Key until it is
    acknowledged, whatever the API answers meanwhile (connection refused, 409, 503)."""

    def __init__(self, system: System, keys: dict[str, str], tally: Tally, serial: int) -> None:
        self.system, self.keys, self.tally, self.serial = system, keys, tally, serial
        self.http = httpx.Client(base_url=system.url, timeout=10)

    def post(self, unit: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        while True:
            self.tally.count(sent=1)
            try:
                response = self.http.post(
                    path,
                    json=body,
                    headers={
                        "Authorization": f"Bearer {self.keys[unit]}",
                        "Idempotency-Key": key,
                    },
                )
            except httpx.HTTPError:
                time.sleep(0.2)  # the API is down: a clerk tries again shortly
                continue
            if response.status_code in (200, 201):
                self.tally.count(acknowledged=1)
                return dict(response.json())
            assert response.status_code in (409, 503), response.text
            time.sleep(0.2)

    def one_enterprise(self, item: str, receipts: KafkaProducer, topics: Topics) -> None:
        name = f"故障企业{item}"
        deadline = (datetime.now(tz=UTC) + timedelta(days=30)).isoformat()
        listing = {
            "name": name,
            "uscc": with_check_character(f"91500116{int(uuid.uuid4().int % 10**9):09d}"),
            "address": "德感街道",
            "town": TOWN,
            "licensed": True,
            "connections": [{"utility": "power", "account": f"P-{item}"}],
        }
        case_id = self.post(TOWN, "/cases", listing, f"list-{item}")["created"]["case_id"]
        self.post(
            "economy",
            f"/cases/{case_id}/classify",
            {"disposition": "close", "reason": "关停", "deadline": deadline},
            f"classify-{item}",
        )
        order = self.post(
            "economy",
            f"/cases/{case_id}/request-utility-order",
            {
                "utility": "power",
                "kind": "cut",
                "grounds": "close_classification",
                "document_number": f"江津经信〔2026〕{item}号",
                "deadline": deadline,
            },
            f"order-{item}",
        )["created"]["id"]
        receipt = {
            "receipt_id": f"receipt-{item}",
            "order_id": order,
            "utility": "power",
            "status": "executed",
            "meter": f"M-{item}",
            "reading": 12.5,
            "executed_at": datetime.now(tz=UTC).isoformat(),
        }
        value, headers = receipt_envelope(
            Receipt.model_validate(receipt), orjson.dumps(receipt), development_key("power")
        )
        while True:  # the broker may be down: the utility sends again (same receipt id)
            try:
                receipts.send(
                    topics.receipts.name, key=case_id.encode(), value=value, headers=headers
                ).get(timeout=60)
                break
            except KafkaError:
                time.sleep(0.5)
        self.tally.count(items=1, receipts=1)
        with self.tally.lock:
            self.tally.names.append(name)


Chaos = Callable[[System, random.Random, threading.Event], None]


def kill_and_restart(*roles: str) -> Chaos:
    def chaos(system: System, rng: random.Random, stop: threading.Event) -> None:
        while not stop.is_set():
            stop.wait(rng.uniform(1.0, 4.0))
            role = rng.choice(roles)
            system.kill(role)
            stop.wait(rng.uniform(0.0, 1.5))
            system.start(role)

    return chaos


def second_relays(system: System, rng: random.Random, stop: threading.Event) -> None:
    """Operators start a second relay, with the same transactional id and with another,
    and the active relay is killed now and then."""
    while not stop.is_set():
        extra_id = rng.choice(["liandong-relay", f"other-{rng.randrange(1000)}"])
        system.start("relay", "relay-2", LIANDONG_RELAY_TRANSACTIONAL_ID=extra_id)
        stop.wait(rng.uniform(2.0, 5.0))
        system.kill(rng.choice(["relay", "relay-2"]))
        stop.wait(rng.uniform(0.5, 2.0))
        if "relay" not in system.processes:
            system.start("relay")
        system.kill("relay-2")


def broker_killed(system: System, rng: random.Random, stop: threading.Event) -> None:
    """The broker dies by SIGKILL and comes back, twice."""
    data = REPO / ".data" / "test-kafka"
    env = {"KAFKA_PORT": str(TEST_KAFKA_PORT), "KAFKA_DATA_DIR": str(data)}
    for _ in range(2):  # both kills happen, even if the traffic ends first
        time.sleep(rng.uniform(3.0, 6.0))
        os.kill(int((data / "broker.pid").read_text()), signal.SIGKILL)
        system.kills["broker"] = system.kills.get("broker", 0) + 1
        time.sleep(rng.uniform(1.0, 3.0))  # the broker is down this long, then restarts
        run_script("infra/kafka/kafka.sh", "start", env=env)


# The processes each scenario runs, by name and role; most run one process per role.
ONE_EACH = {role: role for role in ("relay", "receipts", "projections", "api")}
GROUPS = {
    "relay": "relay",
    "receipts-1": "receipts",
    "receipts-2": "receipts",
    "audit": "audit",
    "status-1": "status-in-group",
    "status-2": "status-in-group",
    "api": "api",
}


def a_group_member_killed(system: System, rng: random.Random, stop: threading.Event) -> None:
    """Two receipts gateways share the receipts topic and two status processes the events
    topic, each pair in its consumer group; now one member is killed, its partitions move
    to the other, and it comes back and is given a share again."""
    members = {"receipts-1": "receipts", "receipts-2": "receipts"}
    members |= {"status-1": "status-in-group", "status-2": "status-in-group"}
    while not stop.is_set():
        stop.wait(rng.uniform(1.0, 4.0))
        name = rng.choice(sorted(members))
        system.kill(name)
        stop.wait(rng.uniform(0.0, 3.0))
        system.start(members[name], name)


SCENARIOS: dict[str, Chaos] = {
    "api killed": kill_and_restart("api"),
    "relay killed, second relays": second_relays,
    "receipts gateway killed": kill_and_restart("receipts"),
    "projections killed": kill_and_restart("projections"),
    "every process killed": kill_and_restart("api", "relay", "receipts", "projections"),
    "broker killed": broker_killed,
    "a member of a consumer group killed": a_group_member_killed,
}
LAYOUTS: dict[str, dict[str, str]] = {"a member of a consumer group killed": GROUPS}


@pytest.fixture
def system(kafka_bootstrap: str, tmp_path: Path) -> Iterator[System]:
    if not kafka_bootstrap.endswith(f":{TEST_KAFKA_PORT}"):
        pytest.skip("the fault suite kills the broker that infra/kafka/kafka.sh runs")
    running = System(tmp_path, kafka_bootstrap, f"sqlite:///{tmp_path / 'views.sqlite'}")
    yield running
    running.stop_all()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_nothing_acknowledged_is_lost_or_duplicated(system: System, scenario: str) -> None:
    topics = Topics(prefix=system.prefix)
    ensure_topics(system.kafka_bootstrap, topics.all())
    keys = {
        unit: KeyStore(Database(system.view_store)).issue(unit, "faults").key
        for unit in (TOWN, "economy", "district-office")
    }
    layout = LAYOUTS.get(scenario, ONE_EACH)
    for name, role in layout.items():
        system.start(role, name)
    tally = Tally()
    rng = random.Random(f"{scenario}-20261129")
    stop_chaos, stop_traffic = threading.Event(), threading.Event()
    producer = KafkaProducer(bootstrap_servers=system.kafka_bootstrap, acks="all", retries=100)

    def traffic(serial: int) -> None:
        client = Client(system, keys, tally, serial)
        item = 0
        while not stop_traffic.is_set():
            item += 1
            client.one_enterprise(f"{serial}-{item}", producer, topics)

    failures: list[BaseException] = []

    def guarded(target: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # a dead client or chaos thread fails the test
                failures.append(exc)
                stop_chaos.set()
                stop_traffic.set()

        return run

    chaos = threading.Thread(target=guarded(SCENARIOS[scenario], system, rng, stop_chaos))
    clients = [threading.Thread(target=guarded(traffic, n)) for n in range(CLIENTS)]
    for thread in (chaos, *clients):
        thread.start()
    time.sleep(TRAFFIC_SECONDS)  # how long the traffic and the chaos run, not a wait
    stop_chaos.set()
    chaos.join()
    for name, role in layout.items():
        if name not in system.processes:
            system.start(role, name)
    stop_traffic.set()
    for thread in clients:
        thread.join()
    producer.close()
    if failures:
        raise failures[0]
    report = settle_and_check(system, topics, tally)
    print(f"\n{scenario}: " + ", ".join(f"{k} {v}" for k, v in report.items()))
    print(f"  kills: {system.kills}")
    assert report["lost"] == 0, report
    assert report["duplicated"] == 0, report
    if layout is GROUPS:  # each member worked on a share of its topic, not all or none
        members = {"status-1": topics.events, "status-2": topics.events}
        members |= {"receipts-1": topics.receipts, "receipts-2": topics.receipts}
        for name, topic in members.items():
            shares = shares_assigned(system.log(name), topic.name)
            assert any(0 < share < topic.partitions for share in shares), (name, shares)


ASSIGNMENT = re.compile(r"Updated partition assignment: \[(.*)\]")


def shares_assigned(log: str, topic: str) -> list[int]:
    """How many partitions of `topic` a member was given at each rebalance (as
    kafka-python logs it)."""
    return [found.count(f"topic='{topic}'") for found in ASSIGNMENT.findall(log)]


def settle_and_check(system: System, topics: Topics, tally: Tally) -> dict[str, int]:
    app = Liandong(env=store_env(system.event_store))
    try:
        return check(system, topics, tally, app)
    finally:
        app.close()


def check(system: System, topics: Topics, tally: Tally, app: Liandong) -> dict[str, int]:
    listed = Counter[str]()
    executed = Counter[str]()
    notifications = app.recorder.select_notifications(1, 1_000_000)
    for n in notifications:
        kind = n.topic.rpartition(":")[2]
        if kind == "EnterpriseListed":
            listed[orjson.loads(n.state)["enterprise"]["name"]] += 1

    # Every receipt applied once (the gateway may still be reading the last ones).
    def receipts_applied() -> bool:
        executed.clear()
        for n in app.recorder.select_notifications(1, 1_000_000):
            if n.topic.endswith(":UtilityOrderExecuted"):
                executed[str(n.originator_id)] += 1
        return sum(executed.values()) >= tally.receipts

    wait_until(receipts_applied, "every receipt was applied")
    stored = app.event_count()
    wait_until(
        lambda: read_committed_position(system.kafka_bootstrap, topics) >= stored,
        "the relay published everything",
    )
    published = committed_events(system.kafka_bootstrap, topics.events.name)
    wait_until(
        lambda: transactions_settled(system.kafka_bootstrap, topics.events.name),
        "the last transaction's markers landed",
    )
    clean = Database(f"sqlite:///{system.root / 'clean.sqlite'}")
    for projection in (StatusProjection(), AuditProjection()):
        ProjectionRunner(projection, clean, system.kafka_bootstrap, topics.events.name).catch_up()
    views = Database(system.view_store)
    # Both live views converge on the clean rebuild (a view that lost or doubled an event
    # never would, and the wait times out).
    wait_until(
        lambda: all(
            p.digest(views) == p.digest(clean) for p in (StatusProjection(), AuditProjection())
        ),
        "the live views caught up with a clean rebuild",
    )
    audit_ids = [r[0] for r in views.query("SELECT event_id FROM audit_entries")]
    cases = views.query("SELECT count(*), count(DISTINCT case_id) FROM status_cases")[0]
    in_view = {r[0] for r in views.query("SELECT name FROM status_cases")}
    names = set(tally.names)
    # Nothing appears that no client was answered for (every client finished its items).
    unacknowledged = sorted(set(listed) - names)
    assert not unacknowledged, f"listed but never acknowledged: {unacknowledged[:5]}"
    lost = sum(1 for name in names if listed[name] == 0 or name not in in_view)
    lost += max(0, tally.receipts - sum(1 for v in executed.values() if v >= 1))
    lost += max(0, stored - len(set(published))) + max(0, stored - len(set(audit_ids)))
    duplicated = sum(v - 1 for v in listed.values() if v > 1)
    duplicated += sum(v - 1 for v in executed.values() if v > 1)
    duplicated += len(published) - len(set(published))
    duplicated += len(audit_ids) - len(set(audit_ids)) + cases[0] - cases[1]
    assert len(notifications) <= stored
    assert StatusProjection().digest(views) == StatusProjection().digest(clean)
    assert AuditProjection().digest(views) == AuditProjection().digest(clean)
    return {
        "sent": tally.sent,
        "acknowledged": tally.acknowledged,
        "stored": stored,
        "published": len(published),
        "projected": len(audit_ids),
        "lost": lost,
        "duplicated": duplicated,
    }
