"""The real services for integration tests, started once per test session.

Kafka: LIANDONG_TEST_KAFKA_BOOTSTRAP when set; otherwise testcontainers when a
Docker engine answers; otherwise infra/kafka/kafka.sh on a test port.
PostgreSQL: LIANDONG_TEST_POSTGRES_DSN; otherwise testcontainers; otherwise
infra/postgres/postgres.sh on a test port. Each test gets its own topics and
its own schema, so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_KAFKA_PORT = 19092
TEST_PG_PORT = 55433


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_script(script: str, *args: str, env: dict[str, str]) -> None:
    subprocess.run([str(REPO / script), *args], check=True, env={**os.environ, **env})


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("LIANDONG_TEST_KAFKA_BOOTSTRAP")
    if configured:
        yield configured
        return
    if docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    data = REPO / ".data" / "test-kafka"
    env = {"KAFKA_PORT": str(TEST_KAFKA_PORT), "KAFKA_DATA_DIR": str(data)}
    # The test broker is throwaway: every session starts it empty, since each test makes
    # topics of its own and thousands of old partitions would pile up run after run.
    run_script("infra/kafka/kafka.sh", "stop", env=env)
    shutil.rmtree(data, ignore_errors=True)
    run_script("infra/kafka/kafka.sh", "start", env=env)
    yield f"127.0.0.1:{TEST_KAFKA_PORT}"
    # Left running; CI ends every process when it stops.


PORT_PRIVATE = 19192


@dataclass(frozen=True)
class PrivateBroker:
    """A broker of one test module's own, for tests that stop and start it."""

    data_dir: Path
    port: int
    sasl_port: int | None = None  # also a SASL_PLAINTEXT listener (user liandong:liandong)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_DATA_DIR": str(self.data_dir)}
        if self.sasl_port:
            env["KAFKA_SASL_PORT"] = str(self.sasl_port)
        return subprocess.run(
            [str(REPO / "infra/kafka/kafka.sh"), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def start(self) -> None:
        result = self.script("start")
        assert result.returncode == 0, result.stderr

    def stop(self) -> None:
        result = self.script("stop")
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path_factory.mktemp("kafka"), PORT_PRIVATE)
    broker.start()
    yield broker
    broker.script("stop")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN of a database the tests may create schemas in."""
    configured = os.environ.get("LIANDONG_TEST_POSTGRES_DSN")
    if configured:
        yield configured
        return
    if docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield container.get_connection_url()
        return
    env = {"PG_PORT": str(TEST_PG_PORT), "PG_DATA_DIR": str(REPO / ".data" / "test-postgres")}
    run_script("infra/postgres/postgres.sh", "start", env=env)
    yield f"postgresql://liandong:liandong@127.0.0.1:{TEST_PG_PORT}/liandong_events"


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_store_url(postgres_dsn: str, pg_schema: str) -> str:
    """An event-store URL (api.settings form) pointing at this test's own schema."""
    sep = "&" if "?" in postgres_dsn else "?"
    return f"{postgres_dsn}{sep}schema={pg_schema}"


@pytest.fixture
def topic_name() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"
