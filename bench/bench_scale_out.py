"""Projections scaled out: one process against two, and a whole campaign from nothing.

    .venv/bin/python -m bench.bench_scale_out [--scale district|city | --enterprises N]

A campaign is generated through the application's commands (api.campaign, in memory,
deterministic from --seed) and its events are published onto a fresh events topic as
the relay publishes them. Then, against the real broker and PostgreSQL:

1. Baseline: a raw kafka-python consumer reads and parses the whole topic.
2. The status view (with the inbox, which is read from its tasks) caught up from
   nothing by one `liandong projections run status --in-group` process, then by two
   sharing the partitions. Goal: two at least 1.6 times the rate of one.
3. End to end: the status view split over two processes and the audit trail in a
   third, all started together on an empty view store, timed until every view holds
   every event. Goal at city scale (2,000,000 events): under 3 minutes.

Each process is the real CLI, started as an operator would; the time includes its
start. Figures are printed and, with --json FILE, written as JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from api.campaign import SettableClock, campaign_start, run_campaign
from api.settings import store_env
from bench.bench_projections import drop_topics, raw_read
from bench.common import (
    REPO,
    Publisher,
    kafka_bootstrap,
    postgres_dsn,
    postgres_schema,
    report,
    timed,
)
from domain.application import Liandong
from gateways.envelope import wrap_state
from gateways.topics import Topics, ensure_topics
from projections.audit import AuditProjection
from projections.db import Database, index_names
from projections.runner import TRACKING, Projection, stored_offsets
from projections.status import StatusProjection

# Events per enterprise the generator makes (measured: 50,055 for 2,000), to reach a
# number of events asked for.
EVENTS_PER_ENTERPRISE = 25
# A scale is its number of events: DOMAIN.md §11's enterprises at about 50 events each
# (district 2,000, city 40,000). Our generator's lives are shorter, so it lists more
# enterprises to make as many events.
SCALE_EVENTS = {"district": 100_000, "city": 2_000_000}


def generate(enterprises: int, seed: int) -> Liandong:
    """A campaign of `enterprises`, recorded in memory through the command path."""
    clock = SettableClock(campaign_start())
    app = Liandong(env=store_env("memory://"), clock=clock)
    run_campaign(app, clock, enterprises, seed)
    return app


def publish(app: Liandong, bootstrap: str, topics: Topics) -> int:
    """Every event of `app`'s log onto the events topic, as the relay writes it; returns
    how many (the log's positions may have gaps, so not the last position)."""
    ensure_topics(bootstrap, [topics.events])
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024
    )
    publisher = Publisher(producer, topics.events.name)
    previous, start, published = 0, 1, 0
    while notifications := app.recorder.select_notifications(start=start, limit=10_000):
        for notification in notifications:
            state = {
                "originator_id": str(notification.originator_id),
                "originator_version": notification.originator_version,
                **app.decode_state(notification.state),
            }
            envelope = wrap_state(
                notification.topic.rpartition(":")[2], state, notification.id, previous
            )
            publisher.send(envelope)
            previous = notification.id
            published += 1
        start = notifications[-1].id + 1
    publisher.finish()
    producer.close()
    return published


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


class Processes:
    """`liandong projections run ...` processes of one deployment, as an operator starts
    them; their output goes to a log file each."""

    def __init__(self, view_store: str, bootstrap: str, topics: Topics, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "LIANDONG_VIEW_STORE": view_store,
            "LIANDONG_EVENT_STORE": f"sqlite:///{tmp / f'events-{uuid.uuid4().hex[:6]}.sqlite'}",
            "LIANDONG_KAFKA_BOOTSTRAP": bootstrap,
            "LIANDONG_TOPIC_PREFIX": topics.prefix,
            "LIANDONG_DATA_DIR": str(tmp),
        }
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> None:
        log = (self.tmp / f"process-{len(self.running)}.log").open("ab")
        self.running.append(
            subprocess.Popen(
                [sys.executable, "-m", "api.cli", "projections", "run", *args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        )

    def check(self) -> None:
        for i, process in enumerate(self.running):
            if process.poll() is not None:
                said = (self.tmp / f"process-{i}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"projection process {i} exited ({process.returncode}); it said:\n{said}"
                )

    def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            process.wait(timeout=60)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU time a process has used (with `children`, also its children that have exited:
    PostgreSQL's backends come and go under the postmaster)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # it has exited
        return 0.0
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def named(command: str) -> list[int]:
    """Processes whose command line contains `command`."""
    found = subprocess.run(["pgrep", "-f", command], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def services_cpu() -> dict[str, float]:
    """CPU time so far of the database server (all its processes) and the Kafka broker."""
    postgres = sum(cpu_seconds(pid, children=True) for pid in named("postgres"))
    return {"postgres": postgres, "kafka": sum(cpu_seconds(pid) for pid in named("kafka.Kafka"))}


def until(done: Callable[[], bool], processes: Processes, timeout_s: float = 3600) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        processes.check()
        if time.monotonic() > deadline:
            raise TimeoutError("the projections did not catch up")
        time.sleep(0.25)


def applied(db: Database, name: str, topic: str) -> dict[int, int]:
    with db.transaction() as tx:
        tx.execute(TRACKING)
        return stored_offsets(tx, name, topic)


def status_run(
    members: int, dsn: str, bootstrap: str, topics: Topics, ends: dict[int, int]
) -> float:
    """Seconds for `members` in-group processes to bring the status view from nothing to
    the topic's end (on a fresh PostgreSQL schema)."""
    with postgres_schema(dsn) as url, tempfile.TemporaryDirectory() as tmp:
        db, processes = Database(url), Processes(url, bootstrap, topics, Path(tmp))
        started = time.perf_counter()
        try:
            for _ in range(members):
                processes.start("status", "--in-group")
            until(lambda: applied(db, "status", topics.events.name) == ends, processes)
            return time.perf_counter() - started
        finally:
            processes.stop()
            db.close()


def end_to_end(
    dsn: str, bootstrap: str, topics: Topics, ends: dict[int, int], events: int
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Wall time for the status view split over two processes and the audit trail in a
    third to reach every event from nothing; when each view got there; and the CPU time
    each part used meanwhile (the projection processes, PostgreSQL, the broker)."""
    with postgres_schema(dsn) as url, tempfile.TemporaryDirectory() as tmp:
        db, processes = Database(url), Processes(url, bootstrap, topics, Path(tmp))
        started = time.perf_counter()
        services_before = services_cpu()
        finished: dict[str, float] = {}
        used: dict[str, float] = {}

        def everything() -> bool:
            # A view is done when it holds every event and has its indexes (made once it
            # has caught up: projections.runner.setup).
            if (
                "status" not in finished
                and applied(db, "status", topics.events.name) == ends
                and indexed(db, StatusProjection())
            ):
                finished["status"] = time.perf_counter() - started
                used["status"] = sum(cpu_seconds(p.pid) for p in processes.running[:2])
            audit = AuditProjection()
            if "audit" not in finished and audit_count(db) == events and indexed(db, audit):
                finished["audit"] = time.perf_counter() - started
                # with its feed process's, which has ended by then
                used["audit"] = cpu_seconds(processes.running[2].pid, children=True)
            return len(finished) == 2

        try:
            processes.start("status", "--in-group")
            processes.start("status", "--in-group")
            processes.start("audit")
            until(everything, processes)
            wall = time.perf_counter() - started
            services_after = services_cpu()
            for name, before in services_before.items():
                used[name] = services_after[name] - before
            return wall, finished, used
        finally:
            processes.stop()
            db.close()


def indexed(db: Database, projection: Projection) -> bool:
    return {i.name for i in projection.index_definitions()} <= index_names(db)


def audit_count(db: Database) -> int:
    """Entries in the audit trail: its head's number (entries are numbered from 1 without
    gaps). Counting the rows instead, four times a second, cost PostgreSQL about 60 s of
    CPU in a city run (166 s against 103 s), taken from the run it was measuring."""
    try:
        rows = db.query(f"SELECT seq FROM {AuditProjection().t('head')} WHERE id = 1")
    except Exception:  # the audit process has not made its tables yet
        return 0
    return int(rows[0][0]) if rows else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--scale", choices=["district", "city"], default="district")
    scale.add_argument("--enterprises", type=int)
    scale.add_argument("--events", type=int, help="enterprises enough for about this many")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--end-to-end-only",
        action="store_true",
        help="skip the one- and two-process status runs (at city scale they take 10 minutes)",
    )
    args = parser.parse_args()
    wanted = args.events or SCALE_EVENTS[args.scale]
    enterprises = args.enterprises or -(-wanted // EVENTS_PER_ENTERPRISE)
    bootstrap, dsn = kafka_bootstrap(), postgres_dsn()
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:8]}")
    app, generate_s = timed(lambda: generate(enterprises, args.seed))
    events, publish_s = timed(lambda: publish(app, bootstrap, topics))
    app.close()
    try:
        figures = measure(bootstrap, dsn, topics, events, args.end_to_end_only)
    finally:
        drop_topics(bootstrap, [topics.events.name])
    figures |= {
        "enterprises": enterprises,
        "events": events,
        "generate_s": round(generate_s, 1),
        "publish_s": round(publish_s, 1),
    }
    print_figures(figures)
    if args.json:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


def measure(
    bootstrap: str, dsn: str, topics: Topics, events: int, end_to_end_only: bool = False
) -> dict[str, Any]:
    topic = topics.events.name
    ends = end_offsets(bootstrap, topic)
    raw_count, raw_s = timed(lambda: raw_read(bootstrap, topic))
    assert raw_count == events, (raw_count, events)
    figures: dict[str, Any] = {
        "partitions": len(ends),
        "raw_consumer_events_per_s": round(events / raw_s),
    }
    if not end_to_end_only:
        one_s = status_run(1, dsn, bootstrap, topics, ends)
        two_s = status_run(2, dsn, bootstrap, topics, ends)
        figures |= {
            "status_one_process_s": round(one_s, 1),
            "status_one_process_events_per_s": round(events / one_s),
            "status_two_processes_s": round(two_s, 1),
            "status_two_processes_events_per_s": round(events / two_s),
            "two_over_one": round(one_s / two_s, 2),
        }
    wall_s, finished, used = end_to_end(dsn, bootstrap, topics, ends, events)
    cpu_total = sum(used.values())
    return figures | {
        "end_to_end_s": round(wall_s, 1),
        "end_to_end_status_s": round(finished["status"], 1),
        "end_to_end_audit_s": round(finished["audit"], 1),
        "end_to_end_cpu_s": {name: round(seconds, 1) for name, seconds in used.items()},
        "end_to_end_cpu_total_s": round(cpu_total, 1),
        # The CPU the whole run needs, against what 3 minutes of the machine's cores give:
        # no split of the work among processes can finish faster than this allows.
        "end_to_end_cpu_per_event_us": round(cpu_total / events * 1e6),
        "cores_for_three_minutes_at_2m_events": round(cpu_total / events * 2_000_000 / 180, 1),
        "cores_here": os.cpu_count(),
    }


def print_figures(f: dict[str, Any]) -> None:
    raw = f["raw_consumer_events_per_s"]
    rows = [
        ("campaign generated / published", f"{f['generate_s']} s / {f['publish_s']} s"),
        ("raw consumer (baseline)", f"{raw:,} events/s"),
    ]
    if "status_one_process_s" in f:
        rows += [
            (
                "status, one process",
                f"{f['status_one_process_s']} s, {f['status_one_process_events_per_s']:,} "
                f"events/s, {f['status_one_process_events_per_s'] / raw:.2f} of raw",
            ),
            (
                "status, two processes",
                f"{f['status_two_processes_s']} s, {f['status_two_processes_events_per_s']:,} "
                f"events/s, {f['two_over_one']} x one (goal >= 1.6)",
            ),
        ]
    rows += [
        (
            "end to end: status x2 + audit",
            f"{f['end_to_end_s']} s (status {f['end_to_end_status_s']} s, audit "
            f"{f['end_to_end_audit_s']} s; goal at 2,000,000 events < 180 s)",
        ),
        (
            "end to end: CPU used",
            f"{f['end_to_end_cpu_total_s']} s ("
            + ", ".join(f"{k} {v} s" for k, v in f["end_to_end_cpu_s"].items())
            + f"), {f['end_to_end_cpu_per_event_us']} us per event: 2,000,000 events in "
            f"180 s need {f['cores_for_three_minutes_at_2m_events']} cores "
            f"(this machine has {f['cores_here']})",
        ),
    ]
    report(
        f"bench_scale_out: {f['enterprises']:,} enterprises, {f['events']:,} events, "
        f"{f['partitions']} partitions (PostgreSQL views)",
        rows,
    )


if __name__ == "__main__":
    main()
