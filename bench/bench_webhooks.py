"""Webhooks: from a command's commit to its webhook's arrival, and how fast one
`liandong notify` posts a backlog beside a bare HTTP client posting the same requests.

    .venv/bin/python -m bench.bench_webhooks [--seconds 60] [--rate 50] [--backlog 1500]

The system runs as in production, each worker a process of its own (`liandong relay`,
`liandong projections run status`, `liandong notify`) on SQLite stores and the bench
broker. Thirty units subscribe (towns, economy, ecology, the power company) to a
receiver in a process of its own (bench/webhook_receiver.py), which notes each
delivery's arrival minus its event's time. The command driver, in this process, posts
a realistic mix (listing, classification, concurrence, suspension, cut order) across
the towns at a fixed rate. Goals (issue #13): p99 under 500 ms at 50 commands/s with 30
subscribers; one notify process at least 0.5 of the bare client's deliveries/s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaConsumer, TopicPartition

from api.bootstrap import bootstrap
from api.settings import Settings
from bench.bench_api import start
from bench.common import REPO, kafka_bootstrap, percentile, report
from domain import commands as c
from domain.application import Liandong
from domain.notifications import ItemKind
from domain.subscriptions import Subscribe
from domain.units import default_registry
from domain.values import Actor, ProblemKind, Utility
from gateways.signing import development_key
from gateways.webhook_signing import sign_headers
from projections.db import Database, parse_utc
from projections.notify import DELIVERIES, NotifyProjection
from projections.runner import ProjectionRunner

RECEIVER = "http://127.0.0.1:18095"


def case_life(app: Liandong, town: str, n: int) -> list[Any]:
    """One case's first days: each entry runs one command."""
    state: dict[str, Any] = {}
    deadline = app.clock() + timedelta(days=30)

    def listed() -> None:
        state["id"] = app.handle(
            Actor(unit=town),
            c.ListEnterprise(
                name=f"{town}厂{n}",
                address="某村",
                town=town,
                connections=(c.Connection(utility=Utility.POWER),),
                problems=(c.ProblemInput(kind=ProblemKind.NO_EIA, description="d"),),
            ),
        ).aggregate_id

    def classified() -> None:
        app.handle(
            Actor(unit="economy"),
            c.Classify(case_id=state["id"], disposition="close", reason="r", deadline=deadline),
        )

    def concurred() -> None:
        app.handle(Actor(unit=town), c.ConcurClassification(case_id=state["id"], agree=True))

    def suspended() -> None:
        app.handle(Actor(unit=town), c.OrderSuspension(case_id=state["id"], document_number="停"))

    def cut() -> None:
        app.handle(
            Actor(unit="economy"),
            c.RequestUtilityOrder(
                case_id=state["id"],
                utility=Utility.POWER,
                kind="cut",
                grounds="close_classification",
                document_number="断",
                deadline=app.clock() + timedelta(days=5),
            ),
        )

    return [listed, classified, concurred, suspended, cut]


def commands(app: Liandong, towns: list[str]) -> Any:
    """An endless stream of commands across the towns, cases interleaved."""
    n = 0
    while True:
        lives = [case_life(app, town, n) for town in towns]
        n += 1
        for step in range(5):
            for life in lives:
                yield life[step]


def published(bootstrap_servers: str, topic: str, events: int, timeout_s: float = 300) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            if sum(consumer.end_offsets(partitions).values()) >= events:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the relay did not publish everything")
            time.sleep(0.2)
    finally:
        consumer.close()


def pending(db: Database) -> int:
    return int(db.query(f"SELECT count(*) FROM {DELIVERIES} WHERE state = 'pending'")[0][0])


def settle(db: Database, timeout_s: float = 600) -> None:
    """Waits until nothing is pending for two seconds (the outbox is drained)."""
    quiet_since = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pending(db) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2:
                return
        else:
            quiet_since = None
        time.sleep(0.1)
    raise TimeoutError("deliveries did not drain")


def bare_client(rows: list[tuple[str, str, bytes, dict[str, str]]], lanes: int) -> float:
    """Posts the same requests as notify would, one thread per subscription; req/s."""
    by_lane: dict[str, list[tuple[str, bytes, dict[str, str]]]] = {}
    for sid, url, body, headers in rows:
        by_lane.setdefault(sid, []).append((url, body, headers))
    client = httpx.Client(
        limits=httpx.Limits(max_connections=lanes * 2, max_keepalive_connections=lanes),
        timeout=10,
    )

    def post_all(requests: list[tuple[str, bytes, dict[str, str]]]) -> None:
        for url, body, headers in requests:
            client.post(url, content=body, headers=headers).raise_for_status()

    threads = [threading.Thread(target=post_all, args=(r,)) for r in by_lane.values()]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client.close()
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--backlog", type=int, default=1500, help="commands for the backlog")
    args = parser.parse_args()
    bootstrap_servers = kafka_bootstrap()
    registry = default_registry()
    towns = sorted(u.id for u in registry.all() if u.id.startswith("town:"))
    units = [*towns[:27], "economy", "ecology", "power"]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        prefix = f"wh{uuid.uuid4().hex[:8]}"
        env = {
            "LIANDONG_EVENT_STORE": f"sqlite:///{tmp / 'events.sqlite'}",
            "LIANDONG_VIEW_STORE": f"sqlite:///{tmp / 'views.sqlite'}",
            "LIANDONG_KAFKA_BOOTSTRAP": bootstrap_servers,
            "LIANDONG_TOPIC_PREFIX": prefix,
            "LIANDONG_RELAY_TRANSACTIONAL_ID": f"relay-{prefix}",
            "LIANDONG_WEBHOOK_ALLOW_PRIVATE": "true",
            "LIANDONG_WEBHOOK_ALLOW_HTTP": "true",
            "LIANDONG_DATA_DIR": str(tmp / "data"),
        }
        os.environ.update(env)
        services = bootstrap(Settings())
        app, views = services.app, services.db
        topic = services.topics.events.name
        for unit in units:
            app.subscribe(
                Actor(unit=unit),
                Subscribe(url=f"{RECEIVER}/hook/{unit}", kinds=tuple(ItemKind)),
                allow_private=True,
                allow_http=True,
            )
        receiver = start(
            [sys.executable, "-m", "uvicorn", "bench.webhook_receiver:app", "--port", "18095",
             "--log-level", "warning", "--no-access-log"],
            {},
            18095,
        )  # fmt: skip
        cli = [sys.executable, "-m", "api.cli"]

        def worker(*argv: str) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [*cli, *argv], cwd=REPO, env={**os.environ, **env}, stderr=subprocess.DEVNULL
            )

        relay, status, notify = worker("relay"), worker("projections", "run", "status"), None
        try:
            notify = worker("notify")
            subscriptions = NotifyProjection().t("subscriptions")
            while views.query(f"SELECT count(*) FROM {subscriptions}")[0][0] < len(units):
                time.sleep(0.2)
            httpx.get(f"{RECEIVER}/stats")  # clear
            # 1. Latency at a fixed rate.
            stream = commands(app, towns)
            total = int(args.rate * args.seconds)
            began = time.perf_counter()
            for k in range(total):
                time.sleep(max(0.0, began + k / args.rate - time.perf_counter()))
                next(stream)()
            driven = time.perf_counter() - began
            settle(views)
            notes = orjson.loads(httpx.get(f"{RECEIVER}/stats").content)
            latencies = [seconds * 1000 for _, seconds in notes]
            delivered = int(
                views.query(f"SELECT count(*) FROM {DELIVERIES} WHERE state = 'delivered'")[0][0]
            )
            # 2. A backlog: notify stopped while commands are recorded, then the outbox
            # filled; the bare client and notify each post it to the same receiver.
            notify.terminate()
            notify.wait(timeout=60)
            notify = None
            for _ in range(args.backlog):
                next(stream)()
            published(bootstrap_servers, topic, app.event_count())
            runner = ProjectionRunner(NotifyProjection(), views, bootstrap_servers, topic)
            runner.catch_up()
            key = development_key("webhooks")
            rows = [
                (sid, url, body.encode(), {
                    **{f"ce-{k}": str(v) for k, v in orjson.loads(attrs).items()
                       if k != "datacontenttype"},
                    "content-type": "application/json",
                    **sign_headers(key, message_id, body.encode()),
                })
                for sid, url, message_id, attrs, body in views.query(
                    f"SELECT d.subscription_id, s.url, d.message_id, d.attributes, d.body "
                    f"FROM {DELIVERIES} d JOIN {subscriptions} s "
                    "ON s.subscription_id = d.subscription_id "
                    "WHERE d.state = 'pending' ORDER BY d.position"
                )
            ]  # fmt: skip
            bare_rate = bare_client(rows, lanes=32)
            httpx.get(f"{RECEIVER}/stats")  # clear
            notify = worker("notify")
            settle(views)
            backlog_ids = {(r[0], r[3]["webhook-id"]) for r in rows}
            stamps = [
                parse_utc(at)
                for sid, message_id, at in views.query(
                    f"SELECT subscription_id, message_id, delivered_at FROM {DELIVERIES} "
                    "WHERE state = 'delivered'"
                )
                if (sid, message_id) in backlog_ids
            ]
            notify_rate = len(stamps) / max((max(stamps) - min(stamps)).total_seconds(), 1e-6)
        finally:
            for process in (relay, status, notify, receiver):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=60)
            services.close()
        report(
            f"Webhooks: {len(units)} subscribers, {args.rate:.0f} commands/s for "
            f"{args.seconds:.0f} s (driven in {driven:.1f} s)",
            [
                ("deliveries made / noted by the receiver", f"{delivered:,} / {len(latencies):,}"),
                ("command commit to webhook received, p50 / p95 / p99",
                 f"{percentile(latencies, 50):.0f} / {percentile(latencies, 95):.0f} / "
                 f"{percentile(latencies, 99):.0f} ms"),
                ("backlog posted", f"{len(rows):,} deliveries"),
                ("bare httpx client, 32 threads, same requests", f"{bare_rate:,.0f} deliveries/s"),
                ("one liandong notify process",
                 f"{notify_rate:,.0f} deliveries/s ({notify_rate / bare_rate:.2f} of bare)"),
            ],
        )  # fmt: skip


if __name__ == "__main__":
    main()
