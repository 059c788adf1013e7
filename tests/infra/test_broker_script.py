"""infra/kafka/kafka.sh: idempotent start, data kept across stop and start, and a
/health that tells the truth when the broker goes away. These tests run their own
broker (not the session's), because they stop it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from api.app import create_app
from api.bootstrap import bootstrap
from api.settings import Settings
from tests.infra.test_services_are_real import produce_and_consume

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]
PORT = 19192


def kafka_sh(command: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_PORT": str(PORT), "KAFKA_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [str(REPO / "infra/kafka/kafka.sh"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def broker_pids(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-f", f"kafka.Kafka {data_dir}/server.properties"], capture_output=True, text=True
    )
    return out.stdout.split()


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("kafka")
    assert kafka_sh("start", data_dir).returncode == 0
    yield data_dir
    kafka_sh("stop", data_dir)


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


def test_health_shows_a_stopped_broker_as_down_within_ten_seconds(own_broker: Path) -> None:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{PORT}", event_store="memory://")
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
