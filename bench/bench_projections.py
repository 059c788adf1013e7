"""Projections: catch-up beside a raw consumer, rebuild time, audit query latency.

    .venv/bin/python -m bench.bench_projections [--events 100000] [--audit-postgres]

A realistic set of cases is recorded through the application once; its events are
then replicated under fresh case ids onto a fresh events topic (as the relay would
write them, positions and links included) until the topic holds --events events.

1. Catch-up: a raw kafka-python consumer reads the whole topic; the status and audit
   projections catch up from nothing (SQLite), reading the backlog through a feed
   process as a runner does by default. Goal: >= 0.5 of the raw rate. With
   --one-process, also without the feed, for the record.
2. Rebuild time of both projections at --events (run with 100000 and 2000000).
3. With --audit-postgres: the audit trail rebuilt on PostgreSQL, then p95 of queries by
   case, by unit and by time range (goal: under 50 ms at 2,000,000 events).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from api.settings import store_env
from bench.common import (
    Publisher,
    kafka_bootstrap,
    percentile,
    postgres_dsn,
    postgres_schema,
    report,
    timed,
)
from domain import commands as c
from domain.application import Liandong
from domain.values import Actor, Evidence, ProblemKind, Utility
from gateways.envelope import wrap_state
from gateways.topics import Topics, ensure_topics
from projections.audit import AuditProjection
from projections.db import Database, parse_utc
from projections.queries import audit_page
from projections.runner import ProjectionRunner, rebuild
from projections.status import StatusProjection

TOWN = Actor(unit="town:degan")


def base_events(cases: int) -> list[tuple[str, dict[str, object]]]:
    """(event class, JSON state) of `cases` cases taken through a typical life."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Liandong(env=store_env(f"sqlite:///{tmp}/e.sqlite"))
        deadline = app.clock() + timedelta(days=30)
        for i in range(cases):
            case_id = app.handle(
                TOWN,
                c.ListEnterprise(
                    name=f"厂{i}",
                    address="德感",
                    town="town:degan",
                    licensed=True,
                    connections=(c.Connection(utility=Utility.POWER),),
                    problems=(
                        c.ProblemInput(kind=ProblemKind.NO_EIA, description="d"),
                        c.ProblemInput(kind=ProblemKind.FIRE_HAZARD, description="d"),
                    ),
                ),
            ).aggregate_id
            app.handle(
                Actor(unit="economy"),
                c.Classify(case_id=case_id, disposition="rectify", reason="r", deadline=deadline),
            )
            app.handle(TOWN, c.ConcurClassification(case_id=case_id, agree=True))
            app.handle(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
            app.handle(
                Actor(unit="ecology"),
                c.DenyApproval(
                    case_id=case_id, approval_kind="permit", application_ref="a", reason="r"
                ),
            )
            app.handle(
                TOWN,
                c.RequestAcceptance(
                    case_id=case_id, evidence=(Evidence(sha256="ab" * 32, locator="x"),)
                ),
            )
            for unit in ("ecology", "fire", "town:degan"):
                app.handle(Actor(unit=unit), c.SignAcceptance(case_id=case_id, passed=True))
            app.handle(TOWN, c.StrikeOff(case_id=case_id))
        events = [
            (
                n.topic.rpartition(":")[2],
                {
                    "originator_id": str(n.originator_id),
                    "originator_version": n.originator_version,
                    **app.decode_state(n.state),
                },
            )
            for n in app.recorder.select_notifications(1, app.event_count())
        ]
        app.close()
    return events


def fill_topic(
    bootstrap: str, topics: Topics, events: int, base: list[tuple[str, dict[str, object]]]
) -> int:
    ensure_topics(bootstrap, [topics.events])
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024
    )
    position = 0
    # Events are recorded in time order: spread them evenly over a 300-day campaign, as the
    # audit trail of a real one would be (about 6,700 a day at 2,000,000 events).
    start = datetime(2021, 11, 1, tzinfo=UTC)
    step = timedelta(days=300) / max(events, 1)
    publisher = Publisher(producer, topics.events.name)
    while position < events:
        renames: dict[str, str] = {}
        for _, state in base:
            renames.setdefault(str(state["originator_id"]), str(uuid.uuid4()))
        for name, state in base:
            if position >= events:
                break
            raw = orjson.dumps(state).decode()
            for old, new in renames.items():
                raw = raw.replace(old, new)
            moved = orjson.loads(raw)
            # In the store's own format (pydantic's UTC with microseconds), as the relay
            # publishes it.
            moved["timestamp"] = (start + position * step).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            position += 1
            envelope = wrap_state(name, moved, position, position - 1)
            publisher.send(envelope)
    publisher.finish()
    producer.close()
    return position


def drop_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics(names)
    finally:
        admin.close()


def raw_read(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        max_poll_records=1000,
        fetch_max_wait_ms=100,
    )
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    read = 0
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                orjson.loads(record.value)  # a consumer that does nothing still parses
                read += 1
    consumer.close()
    return read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--keep-topic", action="store_true", help="leave the filled topic on the broker"
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--one-process", action="store_true", help="also catch up without a feed process"
    )
    parser.add_argument("--audit-postgres", action="store_true")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="only the PostgreSQL audit figures"
    )
    args = parser.parse_args()
    bootstrap = kafka_bootstrap()
    base = base_events(100)
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}")
    try:
        run(args, bootstrap, topics, base)
    finally:
        if not args.keep_topic:  # 2,000,000 events are about a gigabyte of log
            drop_topics(bootstrap, [topics.events.name])


def run(
    args: argparse.Namespace,
    bootstrap: str,
    topics: Topics,
    base: list[tuple[str, dict[str, object]]],
) -> None:
    filled, fill_seconds = timed(lambda: fill_topic(bootstrap, topics, args.events, base))
    rows = [("events on the topic", f"{filled} ({fill_seconds:.0f} s to produce)")]

    if args.skip_sqlite:
        report(
            f"bench_projections: {filled} events",
            rows + audit_on_postgres(bootstrap, topics, filled, args.queries),
        )
        return
    raw_count, raw_seconds = timed(lambda: raw_read(bootstrap, topics.events.name))
    rows.append(("raw consumer", f"{raw_count / raw_seconds:,.0f} events/s"))
    with tempfile.TemporaryDirectory() as tmp:
        for projection in (StatusProjection(), AuditProjection()):
            db = Database(f"sqlite:///{tmp}/{projection.name}.sqlite")
            runner = ProjectionRunner(projection, db, bootstrap, topics.events.name)
            _, seconds = timed(runner.catch_up)
            rate = filled / seconds
            ratio = seconds and raw_seconds / seconds
            rows.append(
                (
                    f"{projection.name} catch-up (SQLite)",
                    f"{rate:,.0f} events/s, {ratio:.2f} of raw (goal >= 0.5) "
                    f"{'PASS' if ratio >= 0.5 else 'BELOW GOAL'}",
                )
            )
            _, seconds = timed(
                lambda db=db, p=projection: rebuild(  # type: ignore[misc]
                    db, p, bootstrap, topics.events.name
                )
            )
            rows.append((f"{projection.name} rebuild at {filled} (SQLite)", f"{seconds:.1f} s"))
            db.close()
            if args.one_process:
                # For the record: the same catch-up with no feed process.
                db = Database(f"sqlite:///{tmp}/{projection.name}-one.sqlite")
                runner = ProjectionRunner(
                    projection, db, bootstrap, topics.events.name, feed_backlog=10**12
                )
                _, seconds = timed(runner.catch_up)
                rows.append(
                    (
                        f"{projection.name} catch-up in one process (SQLite)",
                        f"{filled / seconds:,.0f} events/s, {raw_seconds / seconds:.2f} of raw",
                    )
                )
                db.close()
    if args.audit_postgres:
        rows += audit_on_postgres(bootstrap, topics, filled, args.queries)
    report(f"bench_projections: {filled} events", rows)


def audit_on_postgres(
    bootstrap: str, topics: Topics, filled: int, queries: int
) -> list[tuple[str, str]]:
    rows = []
    with postgres_schema(postgres_dsn()) as url:
        db = Database(url)
        projection = AuditProjection()
        _, seconds = timed(lambda: rebuild(db, projection, bootstrap, topics.events.name))
        rows.append((f"audit rebuild at {filled} (PostgreSQL)", f"{seconds:.1f} s"))
        with db.transaction() as tx:
            tx.execute("ANALYZE")
        cases = [
            r[0]
            for r in db.query("SELECT case_id FROM audit_entries TABLESAMPLE SYSTEM (1) LIMIT 1000")
        ]
        units = ["town:degan", "ecology", "fire", "economy"]
        times = [
            parse_utc(r[0])
            for r in db.query("SELECT at FROM audit_entries TABLESAMPLE SYSTEM (1) LIMIT 1000")
        ]
        rng = random.Random(2)
        for label, run in (
            ("by case", lambda: audit_page(db, case_id=rng.choice(cases), limit=100)),
            (
                "by unit",
                lambda: audit_page(
                    db, unit=rng.choice(units), limit=100, after_seq=rng.randint(0, filled)
                ),
            ),
            (
                "by time range",
                lambda: (
                    t := rng.choice(times),
                    audit_page(db, since=t, until=t + timedelta(days=1), limit=100),
                ),
            ),
        ):
            latencies = []
            for _ in range(queries):
                started = time.perf_counter()
                run()
                latencies.append((time.perf_counter() - started) * 1000)
            p95 = percentile(latencies, 95)
            rows.append(
                (
                    f"audit query {label} (PostgreSQL)",
                    f"p50 {percentile(latencies, 50):.1f} ms, p95 {p95:.1f} ms "
                    f"(goal < 50 ms) {'PASS' if p95 < 50 else 'ABOVE GOAL'}",
                )
            )
        db.close()
    return rows


if __name__ == "__main__":
    main()
