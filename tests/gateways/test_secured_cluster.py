"""A cluster that asks clients to authenticate (SASL): every process reaches it with
the credentials from settings, the projection feed included, and /health still sees
whether the broker is there. The broker is real, with a SASL_PLAINTEXT listener
(infra/kafka/kafka.sh, KAFKA_SASL_PORT)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import bootstrap
from api.settings import Settings, store_env
from domain.application import Liandong
from gateways.kafka_access import KafkaAccess
from gateways.relay import EventRelay
from gateways.topics import Topics
from projections.audit import AuditProjection
from projections.db import Database
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from tests.domain.scenario import FrozenClock, Scenario
from tests.gateways.conftest import wait_until_published
from tests.infra_fixtures import PrivateBroker
from tests.projections.scenario import campaign

pytestmark = pytest.mark.kafka
PLAIN_PORT, SASL_PORT = 19292, 19294


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path_factory.mktemp("sasl-kafka"), PLAIN_PORT, SASL_PORT)
    broker.start()
    yield broker
    broker.script("stop")


def sasl_settings(password: str = "liandong") -> Settings:
    return Settings(
        kafka_bootstrap=f"127.0.0.1:{SASL_PORT}",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="liandong",
        kafka_sasl_password=password,
    )


def test_relay_and_projections_work_through_the_authenticated_listener(
    secured: PrivateBroker, tmp_path: Path
) -> None:
    kafka = sasl_settings().kafka()
    clock = FrozenClock()
    app = Liandong(env=store_env(f"sqlite:///{tmp_path / 'events.sqlite'}"), clock=clock)
    topics = Topics(prefix="secured")
    relay = EventRelay(app, kafka, topics, transactional_id="relay-secured")
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        campaign(Scenario(app, clock))
        wait_until_published(relay, app, timeout_s=60)
    finally:
        stop.set()
        thread.join(timeout=15)
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    # feed_backlog=0: the feed process must authenticate too (its credentials go in its
    # environment, not on its command line).
    for projection in (StatusProjection(), AuditProjection()):
        ProjectionRunner(projection, db, kafka, topics.events.name, feed_backlog=0).catch_up(
            timeout_s=120
        )
    assert db.query("SELECT count(*) FROM audit_entries")[0][0] == app.event_count()
    assert db.query("SELECT count(*) FROM status_cases")[0][0] == 4
    app.close()


def test_health_probes_the_authenticated_listener_and_sees_it_stop(
    secured: PrivateBroker, tmp_path: Path
) -> None:
    # No workers run here: /health checks the broker and the stores only.
    settings = sasl_settings().model_copy(
        update={
            "event_store": "memory://",
            "view_store": f"sqlite:///{tmp_path / 'views.sqlite'}",
            "expected_workers": [],
        }
    )
    with TestClient(create_app(bootstrap(settings))) as client:
        up = client.get("/health")
        assert up.status_code == 200, up.text
        assert "does not authenticate" in up.json()["checks"]["kafka"]["detail"]
        secured.stop()
        try:
            started = time.monotonic()
            down = client.get("/health")
            assert time.monotonic() - started < 10
            assert down.status_code == 503
            assert down.json()["checks"]["kafka"]["status"] == "down"
        finally:
            secured.start()
        assert client.get("/health").status_code == 200


def test_a_sasl_protocol_without_credentials_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="SASL_PLAINTEXT needs a SASL mechanism"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN").kafka()


def test_the_password_never_shows_in_logs_or_reprs() -> None:
    kafka = KafkaAccess(
        "k:9093", "SASL_SSL", "SCRAM-SHA-512", "liandong", "s3cret", ssl_cafile="/ca.pem"
    )
    assert "s3cret" not in repr(kafka)
    assert "s3cret" not in str(kafka)
    assert "s3cret" not in repr(sasl_settings("s3cret"))
    assert kafka.options()["sasl_plain_password"] == "s3cret"
    assert kafka.options()["ssl_cafile"] == "/ca.pem"
