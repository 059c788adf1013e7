"""Projections resume exactly: killed mid-batch, again and again, they end identical to a
clean rebuild; a rebuild replays into fresh tables and swaps them in."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from domain import commands as c
from projections.audit import AuditProjection
from projections.db import Database
from projections.runner import TRACKING, rebuild, stored_offsets
from projections.status import StatusProjection
from tests.domain.scenario import TOWN
from tests.gateways.kafka_reading import read_topic
from tests.projections.conftest import Pipeline, view_store_url
from tests.projections.feeds import feed_running
from tests.projections.scenario import campaign

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


def last_offsets(bootstrap: str, topic: str, count: int) -> dict[int, int]:
    """The offset of each partition's last committed record (end offsets also count the
    transaction markers, which are never delivered)."""
    last: dict[int, int] = {}
    for record in read_topic(bootstrap, topic, expect=count, settle_s=0.5):
        last[record.partition] = max(last.get(record.partition, -1), record.offset)
    return last


def applied(url: str, topic: str) -> int:
    """Offsets the status view has applied (0 before its runner has made its tables)."""
    db = Database(url)
    try:
        with db.transaction() as tx:
            tx.execute(TRACKING)
            return sum(stored_offsets(tx, "status", topic).values())
    finally:
        db.close()


def caught_up(
    db: Database, name: str, last: dict[int, int], topic: str, timeout_s: float = 90
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with db.transaction() as tx:
            stored = stored_offsets(tx, name, topic)
        if all(stored.get(p, 0) > o for p, o in last.items()):
            return
        assert time.monotonic() < deadline, f"{name} stuck at {stored}, last {last}"
        time.sleep(0.2)


def test_a_rebuilt_view_has_the_same_digest_as_the_live_one(
    pipeline: Pipeline, views: Database
) -> None:
    campaign(pipeline.scenario)
    pipeline.project(views)
    before = {p.name: p.digest(views) for p in (StatusProjection(), AuditProjection())}
    seen: list[tuple[int, int]] = []
    for projection in (StatusProjection(), AuditProjection()):
        rebuild(
            views,
            projection,
            pipeline.bootstrap,
            pipeline.topics.events.name,
            lambda done, total: seen.append((done, total)),
        )
    after = {p.name: p.digest(views) for p in (StatusProjection(), AuditProjection())}
    assert after == before
    assert seen
    assert seen[-1][0] == seen[-1][1], "progress ends at the topic's end"
    tables = {
        r[0]
        for r in views.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if views.dialect == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    assert not [t for t in tables if "__rebuild" in t], "the shadow tables were swapped in"


def test_the_rebuild_command_shows_progress_and_swaps_in(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    campaign(pipeline.scenario)
    # Every process's bootstrap puts its units registry on the trail when it differs from
    # the last recorded: recorded here first, the command adds no event of its own that
    # the relay might publish only after the rebuild has read to the end.
    pipeline.app.record_registry()
    pipeline.published()
    url = f"sqlite:///{tmp_path / 'views.sqlite'}"
    env = {
        **os.environ,
        "LIANDONG_VIEW_STORE": url,
        "LIANDONG_EVENT_STORE": pipeline.store_url,
        "LIANDONG_KAFKA_BOOTSTRAP": pipeline.bootstrap,
        "LIANDONG_TOPIC_PREFIX": pipeline.topics.prefix,
    }
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "projections", "rebuild"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "offsets" in done.stderr
    assert "status: rebuilt and swapped in" in done.stdout
    assert "audit: rebuilt and swapped in" in done.stdout
    clean = Database(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    pipeline.project(clean)
    assert f"digest {StatusProjection().digest(clean)}" in done.stdout
    assert f"digest {AuditProjection().digest(clean)}" in done.stdout


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("store", "feed_backlog"),
    [
        ("sqlite", "10000"),
        pytest.param("postgres", "10000", marks=pytest.mark.postgres),
        # Every restart finds a backlog and reads it through a feed process first.
        pytest.param("sqlite", "1", id="sqlite-feed"),
    ],
)
def test_killed_mid_batch_repeatedly_ends_identical_to_a_clean_rebuild(
    pipeline: Pipeline,
    store: str,
    feed_backlog: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    url = view_store_url(store, request, tmp_path)
    env = {
        **os.environ,
        "LIANDONG_VIEW_STORE": url,
        "LIANDONG_EVENT_STORE": pipeline.store_url,
        "LIANDONG_KAFKA_BOOTSTRAP": pipeline.bootstrap,
        "LIANDONG_TOPIC_PREFIX": pipeline.topics.prefix,
        "LIANDONG_PROJECTION_FEED_BACKLOG": feed_backlog,
    }
    s = pipeline.scenario
    stop_writing = threading.Event()

    def commands() -> None:
        serial = 100
        while not stop_writing.is_set():
            serial += 1
            case_id = s.list(serial=serial)
            s.classify(case_id, "rectify")
            s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停"))
            time.sleep(0.02)

    campaign(s)
    writer = threading.Thread(target=commands)
    writer.start()
    log = (tmp_path / "projections.log").open("ab")
    rng = random.Random(7)
    progress: list[int] = []
    try:
        for _ in range(8):
            runner = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "projections", "run"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
            )
            # Kill it once it is applying (a condition, not a guess at how long a busy
            # machine takes to start it), at a random instant a little later.
            before = progress[-1] if progress else 0
            wait_until(
                lambda before=before: applied(url, pipeline.topics.events.name) > before,  # type: ignore[misc]
                "the runner made progress before it was killed",
            )
            time.sleep(rng.uniform(0.0, 0.5))
            runner.send_signal(signal.SIGKILL)
            runner.wait()
            progress.append(applied(url, pipeline.topics.events.name))
    finally:
        stop_writing.set()
        writer.join()
    # Every kill landed after progress, while commands kept coming.
    assert progress == sorted(progress), progress
    pipeline.published()
    final = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "projections", "run"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
    )
    live = Database(url)
    topic = pipeline.topics.events.name
    last = last_offsets(pipeline.bootstrap, topic, pipeline.app.event_count())
    try:
        for name in ("status", "audit"):
            caught_up(live, name, last, topic)
    finally:
        final.terminate()
        final.wait(timeout=30)
    clean = Database(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    pipeline.project(clean)
    assert StatusProjection().digest(live) == StatusProjection().digest(clean)
    assert AuditProjection().digest(live) == AuditProjection().digest(clean)
    count = live.query("SELECT count(*) FROM audit_entries")[0][0]
    assert count == pipeline.app.event_count()
    assert no_feed_outlives_its_runner(pipeline.topics.events.name)


def no_feed_outlives_its_runner(topic: str, timeout_s: float = 20) -> bool:
    """A feed whose runner was killed stops at its next write or its backlog's end."""
    deadline = time.monotonic() + timeout_s
    while feed_running(topic):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
