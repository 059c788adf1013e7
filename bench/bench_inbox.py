"""GET /inbox at city scale, beside a bare FastAPI endpoint serving a page of the same
shape from memory, measured by the same client in the same run.

    .venv/bin/python -m bench.bench_inbox [--events 2000000] [--requests 400]

The campaign: case lives recorded through the application over every town (listed,
classified with the town's concurrence, suspension ordered, a cut order requested,
some struck off; deadlines met and missed), padded with approval denials to about 50
events a case, and replicated with fresh ids onto the events topic of the bench broker
until it holds `--events` events (2,000,000: 40,000 cases). The status view catches
up from the topic on SQLite as a runner does; the API (`liandong serve`, one process)
then serves it. Goal (issue #13): p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.bootstrap import bootstrap
from api.settings import Settings, store_env
from bench.bench_api import start
from bench.bench_projections import drop_topics, fill_topic
from bench.common import kafka_bootstrap, percentile, report, timed
from domain import commands as c
from domain.application import Liandong
from domain.units import default_registry
from domain.values import Actor, ProblemKind, Utility
from gateways.topics import Topics
from projections.db import Database
from projections.runner import ProjectionRunner
from projections.status import StatusProjection

EVENTS_PER_CASE = 50


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(tz=UTC)

    def __call__(self) -> datetime:
        return self.now


def lives(tmp: Path) -> list[tuple[str, dict[str, object]]]:
    """(event class, JSON state) of one case per town at each stage of its life."""
    clock = Clock()
    app = Liandong(env=store_env(f"sqlite:///{tmp / 'lives.sqlite'}"), clock=clock)
    towns = sorted(u.id for u in default_registry().all() if u.id.startswith("town:"))
    today = clock.now
    for t, town in enumerate(towns):
        for stage in range(4):
            # Assigned 0-59 days ago with 30 days to act: some tasks are late, some near.
            clock.now = today - timedelta(days=(t * 7 + stage * 13) % 60)
            actor = Actor(unit=town)
            case_id = app.handle(
                actor,
                c.ListEnterprise(
                    name=f"{town}厂{stage}",
                    address="某村",
                    town=town,
                    connections=(c.Connection(utility=Utility.POWER),),
                    problems=(c.ProblemInput(kind=ProblemKind.NO_EIA, description="d"),),
                ),
            ).aggregate_id
            if stage >= 1:
                disposition = "close" if stage == 2 else "rectify"
                deadline = clock.now + timedelta(days=30)
                app.handle(
                    Actor(unit="economy"),
                    c.Classify(
                        case_id=case_id, disposition=disposition, reason="r", deadline=deadline
                    ),
                )
                app.handle(actor, c.ConcurClassification(case_id=case_id, agree=True))
            if stage >= 2:
                app.handle(actor, c.OrderSuspension(case_id=case_id, document_number="停"))
            if stage == 2:
                app.handle(
                    Actor(unit="economy"),
                    c.RequestUtilityOrder(
                        case_id=case_id,
                        utility=Utility.POWER,
                        kind="cut",
                        grounds="close_classification",
                        document_number="断",
                        deadline=clock.now + timedelta(days=5),
                    ),
                )
            while app.get_case(case_id).version < EVENTS_PER_CASE:
                app.handle(
                    Actor(unit="ecology"),
                    c.DenyApproval(
                        case_id=case_id,
                        approval_kind="permit",
                        application_ref=f"{app.get_case(case_id).version}",
                        reason="listed",
                    ),
                )
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
        if n.topic.rpartition(":")[2] not in ("UsccRegistered", "WorkshopIndexed")
    ]
    app.close()
    return events


def measure(client: httpx.Client, url: str, headers: dict[str, str], n: int) -> list[float]:
    for _ in range(20):  # warm up
        client.get(url, headers=headers).raise_for_status()
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(url, headers=headers).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@dataclass
class City:
    """A city-scale campaign on the bench broker, projected into a status view."""

    tmp: Path
    topic: str
    views: str
    written: int
    fill_s: float
    catch_up_s: float
    open_tasks: int

    @property
    def cases(self) -> int:
        return self.written // EVENTS_PER_CASE

    def env(self, bootstrap_servers: str) -> dict[str, str]:
        return {
            "LIANDONG_EVENT_STORE": f"sqlite:///{self.tmp / 'events.sqlite'}",
            "LIANDONG_VIEW_STORE": self.views,
            "LIANDONG_KAFKA_BOOTSTRAP": bootstrap_servers,
            "LIANDONG_EXPECTED_WORKERS": "[]",
        }


def build_city(tmp: Path, events: int, bootstrap_servers: str) -> City:
    """Fills a fresh events topic with `events` events of case lives and projects it."""
    base = lives(tmp)
    topics = Topics(prefix=f"city{uuid.uuid4().hex[:8]}")
    written, fill_s = timed(lambda: fill_topic(bootstrap_servers, topics, events, base))
    views = f"sqlite:///{tmp / 'views.sqlite'}"
    db = Database(views)
    runner = ProjectionRunner(StatusProjection(), db, bootstrap_servers, topics.events.name)
    _, catch_up_s = timed(runner.catch_up)
    tasks = db.query(
        f"SELECT count(*) FROM {StatusProjection().t('tasks')} "
        "WHERE done_at IS NULL AND cancelled_at IS NULL"
    )[0][0]
    db.close()
    return City(tmp, topics.events.name, views, written, fill_s, catch_up_s, int(tasks))


def issue_keys(city: City, bootstrap_servers: str, units: tuple[str, ...]) -> dict[str, str]:
    os.environ.update(city.env(bootstrap_servers))
    services = bootstrap(Settings())
    keys = {u: services.keys.issue(u, "bench").key for u in units}
    services.close()
    return keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    bootstrap_servers = kafka_bootstrap()
    with tempfile.TemporaryDirectory() as tmp_dir:
        city = build_city(Path(tmp_dir), args.events, bootstrap_servers)
        units = ("town:degan", "economy", "power", "district-office")
        keys = issue_keys(city, bootstrap_servers, units)
        env = city.env(bootstrap_servers)
        api = start([sys.executable, "-m", "api.cli", "serve", "--port", "18090"], env, 18090)
        bare = start(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", "18091",
             "--log-level", "warning"],
            {},
            18091,
        )  # fmt: skip
        scenarios = [
            ("a town's inbox, first page", "town:degan", "/inbox"),
            ("economy's inbox (every town's classifications)", "economy", "/inbox"),
            ("economy's red items", "economy", "/inbox?colour=red"),
            ("the power company's orders", "power", "/inbox?kind=order"),
            ("district office reads a town's inbox", "district-office", "/inbox?unit=town:degan"),
        ]
        rows: list[tuple[str, str]] = [
            ("events on the topic / cases", f"{city.written:,} / {city.cases:,}"),
            ("open tasks in the view", f"{city.open_tasks:,}"),
            ("status catch-up from the topic",
             f"{city.catch_up_s:.1f} s ({city.written / city.catch_up_s:,.0f} events/s)"),
        ]  # fmt: skip
        try:
            with httpx.Client(timeout=30) as client:
                base_lat = measure(client, "http://127.0.0.1:18091/bare/items", {}, args.requests)
                base95 = percentile(base_lat, 95)
                rows.append(
                    ("bare FastAPI page from memory, p50 / p95",
                     f"{percentile(base_lat, 50):.1f} / {base95:.1f} ms"),
                )  # fmt: skip
                for title, unit, path in scenarios:
                    headers = {"Authorization": f"Bearer {keys[unit]}"}
                    lat = measure(client, f"http://127.0.0.1:18090{path}", headers, args.requests)
                    rows.append((f"GET {path}: {title}, p50 / p95 / p99", figures(lat, base95)))
        finally:
            for process in (api, bare):
                process.terminate()
                process.wait(timeout=30)
            drop_topics(bootstrap_servers, [city.topic])
        report(
            f"Inbox at {city.cases:,} cases, {city.written:,} events "
            f"(fill took {city.fill_s:.0f} s)",
            rows,
        )


def figures(latencies: list[float], base95: float) -> str:
    p95 = percentile(latencies, 95)
    return (
        f"{percentile(latencies, 50):.1f} / {p95:.1f} / {percentile(latencies, 99):.1f} ms "
        f"({p95 / base95:.1f}x the bare page's p95)"
    )


if __name__ == "__main__":
    main()
