"""infra/kafka/kafka.sh: idempotent start, data kept across stop and start, and a
/health that tells the truth when the broker goes away. These tests run their own
broker (not the session's), because they stop it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from api.app import create_app
from api.bootstrap import bootstrap
from api.settings import Settings
from tests.infra.test_services_are_real import produce_and_consume
from tests.infra_fixtures import PORT_PRIVATE as PORT
from tests.infra_fixtures import PrivateBroker

pytestmark = pytest.mark.kafka


def kafka_sh(command: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return PrivateBroker(data_dir, PORT).script(command)


def broker_pids(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-f", f"kafka.Kafka {data_dir}/server.properties"], capture_output=True, text=True
    )
    return out.stdout.split()


@pytest.fixture(scope="module")
def own_broker(private_broker: PrivateBroker) -> Path:
    return private_broker.data_dir


def test_starting_twice_leaves_one_broker(own_broker: Path) -> None:
    second = kafka_sh("start", own_broker)
    assert second.returncode == 0
    assert "already running" in second.stderr
    assert len(broker_pids(own_broker)) == 1


def test_stop_then_start_keeps_topics_and_messages(own_broker: Path) -> None:
    bootstrap_server = f"127.0.0.1:{PORT}"
    values = [b"kept-1", b"kept-2"]
    assert produce_and_consume(bootstrap_server, "survives.restart", values) == values
    assert kafka_sh("stop", own_broker).returncode == 0
    assert broker_pids(own_broker) == []
    assert kafka_sh("start", own_broker).returncode == 0
    consumer = KafkaConsumer(
        "survives.restart",
        bootstrap_servers=bootstrap_server,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
        group_id="after-restart",
    )
    try:
        got = [m.value for _, m in zip(range(2), consumer, strict=False)]
    finally:
        consumer.close()
    assert got == values


def test_health_shows_a_stopped_broker_as_down_within_ten_seconds(
    own_broker: Path, tmp_path: Path
) -> None:
    settings = Settings(  # no workers run here: /health checks the broker and the stores
        kafka_bootstrap=f"127.0.0.1:{PORT}",
        event_store="memory://",
        view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
        expected_workers=[],
    )
    with TestClient(create_app(bootstrap(settings))) as client:
        up = client.get("/health")
        assert up.status_code == 200, up.text
        assert up.json()["checks"]["kafka"]["status"] == "up"
        assert up.json()["checks"]["event_store"]["status"] == "up"

        assert kafka_sh("stop", own_broker).returncode == 0
        started = time.monotonic()
        down = client.get("/health")
        assert time.monotonic() - started < 10
        assert down.status_code == 503
        assert down.json()["checks"]["kafka"]["status"] == "down"
        assert down.json()["status"] == "degraded"

        assert kafka_sh("start", own_broker).returncode == 0
        assert client.get("/health").status_code == 200
