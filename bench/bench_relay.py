"""The relay beside a raw kafka-python producer, and order latency to a utility.

    .venv/bin/python -m bench.bench_relay [--events 20000] [--orders 500]

1. Throughput: the relay publishes a store's events (transactions of 500, with its
   position) against a raw idempotent producer sending the very same keys, values and
   headers to a topic of the same configuration. Goal: relay >= 0.7 of raw.
2. Latency: power cut orders requested at 50 per second; the time from the command's
   commit to a utility's consumer receiving the order. Goal: p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer

from api.settings import store_env
from bench.common import acknowledged, kafka_bootstrap, percentile, report, timed
from domain import commands as c
from domain.application import Liandong
from domain.values import Actor, LegalBasis, OrderKind, Utility
from gateways.envelope import wrap_state
from gateways.relay import EventRelay
from gateways.topics import Topics, ensure_topics

TOWN = Actor(unit="town:degan")
ECONOMY = Actor(unit="economy")


def closing_cases(app: Liandong, count: int) -> list[uuid.UUID]:
    deadline = app.clock() + timedelta(days=30)
    cases = []
    for i in range(count):
        result = app.handle(
            TOWN,
            c.ListEnterprise(
                name=f"厂{i}",
                address="德感",
                town="town:degan",
                connections=(c.Connection(utility=Utility.POWER, account=f"P{i}"),),
            ),
        )
        app.handle(
            ECONOMY,
            c.Classify(
                case_id=result.aggregate_id, disposition="close", reason="关停", deadline=deadline
            ),
        )
        cases.append(result.aggregate_id)
    return cases


def throughput(bootstrap: str, events: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Liandong(env=store_env(f"sqlite:///{tmp}/events.sqlite"))
        while app.event_count() < events:
            closing_cases(app, 100)
        stored = app.recorder.select_notifications(1, app.event_count())
        envelopes = []
        for n in stored:
            state = {
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                **orjson.loads(n.state),
            }
            envelopes.append(wrap_state(n.topic.rpartition(":")[2], state, n.id))

        raw_topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}")
        ensure_topics(bootstrap, [raw_topics.events])
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=True
        )

        sent: list[Any] = []

        def raw() -> None:
            for e in envelopes:
                sent.append(
                    producer.send(
                        raw_topics.events.name, key=e.key, value=e.value, headers=e.headers
                    )
                )
            producer.flush()

        _, raw_seconds = timed(raw)
        acknowledged(producer, sent)  # a baseline that dropped records would flatter itself
        producer.close()

        topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}")
        relay = EventRelay(app, bootstrap, topics, transactional_id=f"bench-{topics.prefix}")
        relay.connect()

        def relay_all() -> None:
            while relay.relay_batch():
                pass

        _, relay_seconds = timed(relay_all)
        relay.close()
        app.close()
    count = len(envelopes)
    ratio = raw_seconds / relay_seconds
    return [
        ("events", f"{count}"),
        ("raw producer", f"{count / raw_seconds:,.0f} events/s"),
        ("relay", f"{count / relay_seconds:,.0f} events/s (transactions of 500 + position)"),
        ("ratio", f"{ratio:.2f} of raw (goal >= 0.7) {'PASS' if ratio >= 0.7 else 'BELOW GOAL'}"),
    ]


def latency(bootstrap: str, orders: int, rate: float) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Liandong(env=store_env(f"sqlite:///{tmp}/events.sqlite"))
        cases = closing_cases(app, orders)
        topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}")
        relay = EventRelay(
            app,
            bootstrap,
            topics,
            transactional_id=f"bench-{topics.prefix}",
            poll_seconds=0.005,
        )
        relay.connect()
        while relay.relay_batch():  # the preparation is not measured
            pass
        stop = threading.Event()
        relay_thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        relay_thread.start()

        received: dict[str, float] = {}
        consumer = KafkaConsumer(
            topics.orders(Utility.POWER).name,
            bootstrap_servers=bootstrap,
            group_id=f"utility-power-{topics.prefix}",
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        consumer.poll(timeout_ms=1000)  # join the group before the clock starts

        def consume() -> None:
            while not stop.is_set() and len(received) < orders:
                for records in consumer.poll(timeout_ms=50).values():
                    now = time.perf_counter()
                    for r in records:
                        received[orjson.loads(r.value)["order_id"]] = now

        consumer_thread = threading.Thread(target=consume, daemon=True)
        consumer_thread.start()
        committed: dict[str, float] = {}
        interval = 1.0 / rate
        start = time.perf_counter()
        for i, case_id in enumerate(cases):
            time.sleep(max(0.0, start + i * interval - time.perf_counter()))
            result = app.handle(
                ECONOMY,
                c.RequestUtilityOrder(
                    case_id=case_id,
                    utility=Utility.POWER,
                    kind=OrderKind.CUT,
                    grounds=LegalBasis.CLOSE_CLASSIFICATION,
                    document_number="停电",
                    deadline=app.clock() + timedelta(days=3),
                ),
            )
            committed[result.created["id"]] = time.perf_counter()
        deadline = time.monotonic() + 30
        while len(received) < orders and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        relay_thread.join(timeout=10)
        consumer_thread.join(timeout=10)
        consumer.close()
        app.close()
    delays = [(received[k] - t) * 1000 for k, t in committed.items() if k in received]
    p99 = percentile(delays, 99)
    return [
        ("orders", f"{len(delays)} of {orders} received, offered at {rate:g}/s"),
        ("latency p50", f"{percentile(delays, 50):.1f} ms"),
        ("latency p99", f"{p99:.1f} ms (goal < 250 ms) {'PASS' if p99 < 250 else 'ABOVE GOAL'}"),
        ("latency max", f"{max(delays):.1f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    bootstrap = kafka_bootstrap()
    report("bench_relay: throughput", throughput(bootstrap, args.events))
    report(
        "bench_relay: order latency, command commit -> utility consumer",
        latency(bootstrap, args.orders, args.rate),
    )


if __name__ == "__main__":
    main()
