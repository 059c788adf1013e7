"""Shared helpers for the benchmarks: stores, timing, and printing ratios."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def acknowledged(producer: Any, sent: list[Any]) -> None:
    """Flushes `producer` and reads every send's result: a record the broker never took
    stops the benchmark instead of leaving a topic short (a city run once lost 42,159
    records to batches that expired on a busy broker, unseen). Clears `sent`."""
    producer.flush()
    for future in sent:
        future.get(timeout=0)
    sent.clear()


class Publisher:
    """Sends envelopes (gateways.envelope) to one topic as the relay writes them, and
    reads every send's result each `every` records and at `finish` (see acknowledged)."""

    def __init__(self, producer: Any, topic: str, every: int = 10_000) -> None:
        self.producer, self.topic, self.every = producer, topic, every
        self.sent: list[Any] = []

    def send(self, envelope: Any) -> None:
        self.sent.append(
            self.producer.send(
                self.topic, key=envelope.key, value=envelope.value, headers=envelope.headers
            )
        )
        if len(self.sent) >= self.every:
            acknowledged(self.producer, self.sent)

    def finish(self) -> None:
        acknowledged(self.producer, self.sent)


def kafka_bootstrap() -> str:
    """The bench broker: LIANDONG_BENCH_KAFKA_BOOTSTRAP, or the local infra broker."""
    configured = os.environ.get("LIANDONG_BENCH_KAFKA_BOOTSTRAP")
    if configured:
        return configured
    subprocess.run([str(REPO / "infra/kafka/kafka.sh"), "start"], check=True)
    return "127.0.0.1:9092"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def postgres_dsn() -> str:
    """The bench PostgreSQL: LIANDONG_BENCH_POSTGRES_DSN, or the local infra cluster."""
    configured = os.environ.get("LIANDONG_BENCH_POSTGRES_DSN")
    if configured:
        return configured
    subprocess.run([str(REPO / "infra/postgres/postgres.sh"), "start"], check=True)
    return "postgresql://liandong:liandong@127.0.0.1:55432/liandong_events"


@contextmanager
def postgres_schema(dsn: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{dsn}?schema={schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
