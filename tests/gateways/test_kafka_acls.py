"""Least privilege on Kafka, enforced by the broker itself (infra/kafka/kafka.sh with
KAFKA_ACLS=1, gateways/kafka_acls.py): each forbidden operation is refused, and the whole
pipeline (relay, receipts gateway, a utility's agent, a projection) works under its ACLs.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from api.settings import store_env
from domain.application import Liandong
from domain.values import OrderStatus, SupplyState, Utility
from gateways.agent import UtilityAgent, automatic
from gateways.kafka_access import KafkaAccess, access
from gateways.kafka_acls import ROLES
from gateways.receipts import ReceiptGateway
from gateways.relay import EventRelay
from gateways.signing import development_key
from gateways.topics import Topics
from projections.db import Database
from projections.queries import enterprise
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from projections.workers import Beacon, worker_rows
from tests.domain.scenario import FrozenClock, Scenario
from tests.infra_fixtures import REPO

pytestmark = pytest.mark.kafka
PORT = 19492
ADMIN = "admin-secret"
TRANSACTIONAL_ID = "relay-acl"


def as_(user: str, password: str | None = None) -> KafkaAccess:
    return KafkaAccess(
        bootstrap=f"127.0.0.1:{PORT}",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username=user,
        sasl_password=password or f"{user}-secret",
    )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topics]:
    data = tmp_path_factory.mktemp("acl-kafka")
    env = {
        **os.environ,
        "KAFKA_PORT": str(PORT),
        "KAFKA_DATA_DIR": str(data),
        "KAFKA_ACLS": "1",
        "KAFKA_ADMIN_PASSWORD": ADMIN,
        "KAFKA_SCRAM_USERS": " ".join(f"{role}:{role}-secret" for role in ROLES),
    }
    script = [str(REPO / "infra/kafka/kafka.sh")]
    subprocess.run([*script, "start"], env=env, check=True)
    topics = Topics(prefix=f"acl{uuid.uuid4().hex[:8]}")
    try:
        granted = subprocess.run(  # as an operator would, with the super user's credentials
            [sys.executable, "-m", "api.cli", "kafka-acls"],
            cwd=REPO,
            env={
                **os.environ,
                "LIANDONG_KAFKA_BOOTSTRAP": f"127.0.0.1:{PORT}",
                "LIANDONG_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "LIANDONG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
                "LIANDONG_KAFKA_SASL_USERNAME": "admin",
                "LIANDONG_KAFKA_SASL_PASSWORD": ADMIN,
                "LIANDONG_TOPIC_PREFIX": topics.prefix,
                "LIANDONG_RELAY_TRANSACTIONAL_ID": TRANSACTIONAL_ID,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert granted.returncode == 0, granted.stderr
        assert "ACLs granted" in granted.stdout
        yield topics
    finally:
        subprocess.run([*script, "stop"], env=env, check=False)


def refused_to_produce(user: str, topic: str) -> bool:
    producer = KafkaProducer(**access(as_(user)).options(), max_block_ms=15_000)
    try:
        producer.send(topic, b"forged").get(timeout=20)
        return False
    except (TopicAuthorizationFailedError, KafkaError):
        return True
    finally:
        producer.close(timeout=2)


def refused_to_read(user: str, topic: str) -> bool:
    """The broker refuses in one of two ways: a user who may not even describe the topic is
    not shown it at all (the admin sees it); one who may describe it but not read it gets
    TOPIC_AUTHORIZATION_FAILED on the fetch."""
    consumer = KafkaConsumer(
        **access(as_(user)).options(), group_id=None, auto_offset_reset="earliest"
    )
    try:
        if topic not in consumer.topics():
            admin = KafkaConsumer(**access(as_("admin", ADMIN)).options(), group_id=None)
            try:
                return topic in admin.topics()
            finally:
                admin.close()
        consumer.assign([TopicPartition(topic, 0)])
        for _ in range(20):
            consumer.poll(timeout_ms=500)
        return False
    except TopicAuthorizationFailedError:
        return True
    finally:
        consumer.close()


def test_every_role_runs_its_part_of_an_order_round_trip_under_acls(
    broker: Topics, tmp_path: Path
) -> None:
    topics = broker
    clock = FrozenClock(now=datetime.now(tz=UTC))
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"), clock=clock)
    s = Scenario(app, clock)
    stop = threading.Event()
    relay = EventRelay(app, as_("relay"), topics, transactional_id=TRANSACTIONAL_ID)
    receipts = ReceiptGateway(app, as_("receipts"), topics)
    workers = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (relay, receipts)]
    for worker in workers:
        worker.start()
    try:
        case_id = s.list(connections=(Utility.POWER,))
        s.classify(case_id, "close")
        s.request_order(case_id, Utility.POWER, "economy")
        order_id = s.order_of(case_id, Utility.POWER)
        out = io.StringIO()
        agent = UtilityAgent(
            as_("power"),
            topics,
            Utility.POWER,
            [development_key("district").public()],
            development_key("power"),
            out=out,
            group_id="utility-power-acl",
        )
        agent.run(automatic("execute", "M-1", 5.0), threading.Event(), max_orders=1)
        assert "REJECTED" not in out.getvalue()
        deadline = datetime.now(tz=UTC).timestamp() + 90
        while app.get_case(case_id).orders[order_id].status is not OrderStatus.EXECUTED:
            assert datetime.now(tz=UTC).timestamp() < deadline, "the receipt was not applied"
            stop.wait(0.2)
        while relay.position < app.event_count():
            assert datetime.now(tz=UTC).timestamp() < deadline, "the relay did not publish"
            stop.wait(0.1)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
    views = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    ProjectionRunner(
        StatusProjection(),
        views,
        as_("projections"),
        topics.events.name,
    ).catch_up()
    shown = enterprise(views, str(case_id), datetime.now(tz=UTC))
    assert shown is not None
    assert shown["supply_power"] == SupplyState.CUT.value
    assert in_group_view_of(topics, tmp_path, str(case_id))["supply_power"] == shown["supply_power"]
    app.close()


def in_group_view_of(topics: Topics, tmp_path: Path, case_id: str) -> dict[str, Any]:
    """The same view from a runner that is one process of a consumer group (`--in-group`),
    whose group id is its deployment's own: the broker lets the projections role join it."""
    views = Database(f"sqlite:///{tmp_path / 'group-views.sqlite'}")
    runner = ProjectionRunner(
        StatusProjection(), views, as_("projections"), topics.events.name, in_group=True
    )
    stop = threading.Event()
    following = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    following.start()
    deadline = datetime.now(tz=UTC).timestamp() + 90
    try:
        while (shown := enterprise(views, case_id, datetime.now(tz=UTC))) is None:
            assert runner.beacon.state != "failed", runner.beacon.last_error
            assert datetime.now(tz=UTC).timestamp() < deadline, runner.beacon.last_error
            stop.wait(0.2)
        return shown
    finally:
        stop.set()
        following.join(timeout=15)
        views.close()


@pytest.mark.parametrize(
    ("user", "action", "topic"),
    [
        ("power", "produce", "orders.power"),  # a utility forging an order to itself
        ("water", "produce", "orders.power"),  # or to another utility
        ("power", "read", "orders.water"),  # reading another utility's orders
        ("power", "produce", "events"),
        ("power", "read", "events"),
        ("projections", "produce", "events"),  # a reader that would write
        ("projections", "read", "receipts"),
        ("receipts", "read", "orders.power"),
        ("receipts", "produce", "events"),
        ("relay", "read", "receipts"),
    ],
)
def test_each_forbidden_operation_is_refused_by_the_broker(
    broker: Topics, user: str, action: str, topic: str
) -> None:
    name = {
        "orders.power": broker.orders(Utility.POWER).name,
        "orders.water": broker.orders(Utility.WATER).name,
        "events": broker.events.name,
        "receipts": broker.receipts.name,
    }[topic]
    if action == "produce":
        assert refused_to_produce(user, name)
    else:
        assert refused_to_read(user, name)


def test_no_credentials_or_a_wrong_password_cannot_connect(broker: Topics) -> None:
    for options in (
        {"bootstrap_servers": f"127.0.0.1:{PORT}"},
        access(as_("power", "not-the-password")).options(),
    ):
        with pytest.raises(KafkaError):
            KafkaProducer(**options, max_block_ms=5_000)


def test_a_worker_the_broker_refuses_says_why_while_it_retries(
    broker: Topics, tmp_path: Path
) -> None:
    """Its role lacks this view's group. A refusal may pass by itself (a gateway waits
    for the relay to create the topics it may not), so it is retried; its reason is in
    the heartbeat /health reads, which calls the worker down after a minute of it."""
    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    beacon, db = Beacon(views, "projection:status"), Database(views)
    runner = ProjectionRunner(
        StatusProjection(),
        db,
        as_("receipts"),
        broker.events.name,
        beacon=beacon,
        in_group=True,
    )
    stop = threading.Event()
    following = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    following.start()
    try:
        deadline = datetime.now(tz=UTC).timestamp() + 90
        while "GroupAuthorizationFailed" not in (beacon.last_error or ""):
            assert datetime.now(tz=UTC).timestamp() < deadline, beacon.last_error
            stop.wait(0.2)
        assert beacon.state == "retrying"
        assert worker_rows(db)["projection:status"].state == "retrying"
    finally:
        stop.set()
        following.join(timeout=60)
        db.close()
