"""A projection far behind reads its backlog through a feed process, so that decoding
records and applying them use two cores. The views it builds are the same as those
built in one process, and a feed that dies, or a runner told to stop, loses nothing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.bench_projections import base_events, fill_topic
from gateways.topics import Topics, ensure_topics
from projections.audit import AuditProjection
from projections.db import Database, Tx
from projections.feed import FRAME_RECORDS, BacklogFeed, FeedError
from projections.runner import EventRecord, Projection, ProjectionRunner, stored_offsets
from projections.status import StatusProjection
from projections.workers import Beacon, create_worker_status, worker_rows
from tests.gateways.kafka_reading import read_topic
from tests.projections.feeds import feed_running, kill_feeds

pytestmark = pytest.mark.kafka
EVENTS = 30_000  # thirty frames: more than the feed's queue (16 frames) and its pipe hold, so it
# is still running when the first frame has been applied (12,000 fitted, and raced)
ALWAYS, NEVER = 0, 10**9


@pytest.fixture(scope="module")
def stream(kafka_bootstrap: str) -> Topics:
    """A realistic events topic (cases listed, classified, accepted, struck off)."""
    topics = Topics(prefix=f"feed{uuid.uuid4().hex[:10]}")
    fill_topic(kafka_bootstrap, topics, EVENTS, base_events(30))
    return topics


def runner(
    projection: Projection,
    db: Database,
    bootstrap: str,
    topics: Topics,
    feed_backlog: int,
    batch_records: int = FRAME_RECORDS,
) -> ProjectionRunner:
    """A runner applying one frame per batch (unless told otherwise): then the feed's
    queue holds 16 frames, which the tests of a feed still running rely on."""
    return ProjectionRunner(
        projection,
        db,
        bootstrap,
        topics.events.name,
        feed_backlog=feed_backlog,
        batch_records=batch_records,
    )


@pytest.fixture(scope="module")
def in_one_process(
    stream: Topics, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The digests of both views built without a feed."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('clean') / 'views.sqlite'}")
    digests = {}
    for projection in (StatusProjection(), AuditProjection()):
        runner(projection, db, kafka_bootstrap, stream, NEVER).catch_up()
        digests[projection.name] = projection.digest(db)
    yield digests
    db.close()


def applied(db: Database, name: str, topics: Topics) -> int:
    with db.transaction() as tx:
        return sum(stored_offsets(tx, name, topics.events.name).values())


def test_a_backlog_read_through_a_feed_builds_the_same_views(
    stream: Topics, kafka_bootstrap: str, views: Database, in_one_process: dict[str, str]
) -> None:
    for projection in (StatusProjection(), AuditProjection()):
        read = runner(projection, views, kafka_bootstrap, stream, ALWAYS).catch_up()
        assert read == EVENTS
        assert projection.digest(views) == in_one_process[projection.name], projection.name
    assert views.query("SELECT count(*) FROM audit_entries")[0][0] == EVENTS


@pytest.mark.parametrize("name", ["status", "audit"])
def test_a_feed_killed_mid_backlog_is_reported_and_the_next_catch_up_resumes(
    stream: Topics,
    kafka_bootstrap: str,
    tmp_path: Path,
    in_one_process: dict[str, str],
    name: str,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    projection = StatusProjection() if name == "status" else AuditProjection()
    killed_at: list[tuple[int, int]] = []

    def kill_the_feed(done: int, total: int) -> None:
        if not killed_at:
            assert kill_feeds(stream.events.name) == 0, "pkill found the feed"
            killed_at.append((done, total))

    with pytest.raises(FeedError, match="the feed process failed"):
        runner(projection, db, kafka_bootstrap, stream, ALWAYS).catch_up(progress=kill_the_feed)
    [(done, total)] = killed_at
    assert done < total, "killed part of the way through"
    runner(projection, db, kafka_bootstrap, stream, ALWAYS).catch_up()
    assert projection.digest(db) == in_one_process[name]
    if name == "audit":
        assert db.query("SELECT count(*) FROM audit_entries")[0][0] == EVENTS


def test_a_runner_told_to_stop_leaves_its_feed_and_resumes_later(
    stream: Topics, kafka_bootstrap: str, tmp_path: Path, in_one_process: dict[str, str]
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    status = StatusProjection()
    stop = threading.Event()
    read = runner(status, db, kafka_bootstrap, stream, ALWAYS).catch_up(
        progress=lambda done, total: stop.set(), stop=stop
    )
    assert 0 < read < EVENTS
    assert applied(db, "status", stream) < EVENTS
    runner(status, db, kafka_bootstrap, stream, ALWAYS).catch_up()
    assert status.digest(db) == in_one_process["status"]


def partition_end(bootstrap: str, topic: str, partition: int) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        where = TopicPartition(topic, partition)
        return int(consumer.end_offsets([where])[where])
    finally:
        consumer.close()


def test_a_feed_ends_after_its_backlog_and_says_why_when_it_fails(
    stream: Topics, kafka_bootstrap: str
) -> None:
    topic = stream.events.name
    with BacklogFeed(kafka_bootstrap, topic, {0: 0}, {0: 10}) as feed:
        frames = [f for f in feed.frames() if f is not None]
    assert [(p, o) for frame in frames for p, o, *_ in frame] == [(0, o) for o in range(10)]
    # Asked for more than partition 0 holds, the feed waits at its end; killed there,
    # it is reported, not taken for a finished backlog. It is killed only once it has
    # sent all partition 0 holds (a busy machine may start it slower than any timeout).
    held = partition_end(kafka_bootstrap, topic, 0)
    offsets_seen: list[int] = []

    def read_until_killed(feed: BacklogFeed) -> None:
        for frame in feed.frames(timeout_s=0.5):
            if frame is not None:
                offsets_seen.extend(o for p, o, *_ in frame)
            elif len(offsets_seen) == held:
                kill_feeds(f"--end 0:{EVENTS * 10}")

    with (
        BacklogFeed(kafka_bootstrap, topic, {0: 0}, {0: EVENTS * 10}) as feed,
        pytest.raises(FeedError, match="exit status -9"),
    ):
        read_until_killed(feed)
    assert offsets_seen == list(range(held)), "it sent what partition 0 holds before it waited"


def test_a_live_runner_whose_feed_dies_reads_on_in_its_own_process(
    stream: Topics, kafka_bootstrap: str, tmp_path: Path, in_one_process: dict[str, str]
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    audit = AuditProjection()
    stop = threading.Event()
    live = threading.Thread(
        target=runner(audit, db, kafka_bootstrap, stream, ALWAYS).run, args=(stop,)
    )
    live.start()
    try:
        deadline = time.monotonic() + 30
        while kill_feeds(stream.events.name) != 0:
            assert time.monotonic() < deadline, "the runner started no feed"
            time.sleep(0.01)
        deadline = time.monotonic() + 60
        while audit.digest(db) != in_one_process["audit"]:
            assert live.is_alive(), "the runner died with its feed"
            assert time.monotonic() < deadline, "the runner did not read on"
            assert not feed_running(stream.events.name), "a failed feed is not retried at once"
            time.sleep(0.05)
    finally:
        stop.set()
        live.join(timeout=30)
    assert db.query("SELECT count(*) FROM audit_entries")[0][0] == EVENTS


def test_a_live_runner_far_behind_after_a_burst_reads_it_through_a_feed(
    stream: Topics, kafka_bootstrap: str, tmp_path: Path, in_one_process: dict[str, str]
) -> None:
    burst = Topics(prefix=f"burst{uuid.uuid4().hex[:10]}")
    ensure_topics(kafka_bootstrap, [burst.events])
    records = read_topic(kafka_bootstrap, stream.events.name, expect=EVENTS, settle_s=0)
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    audit = AuditProjection()
    stop = threading.Event()
    following = runner(audit, db, kafka_bootstrap, burst, 2_000)
    live = threading.Thread(target=following.run, args=(stop,))
    live.start()
    feeds_seen = 0
    try:
        deadline = time.monotonic() + 120
        while following.beacon.state != "running":  # it found the topic empty and follows it
            assert time.monotonic() < deadline, "the runner did not start following"
            time.sleep(0.05)
        # A relay back from an outage: the whole backlog becomes visible at once.
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=burst.prefix)
        producer.init_transactions()
        producer.begin_transaction()
        for r in records:
            producer.send(
                burst.events.name, r.value, r.key, headers=r.headers, partition=r.partition
            )
        producer.commit_transaction()
        producer.close()
        deadline = time.monotonic() + 60
        while audit.digest(db) != in_one_process["audit"]:
            assert time.monotonic() < deadline, "the runner did not catch up"
            feeds_seen += feed_running(burst.events.name)
            time.sleep(0.01)
    finally:
        stop.set()
        live.join(timeout=30)
    assert feeds_seen, "the burst was read through a feed"
    assert db.query("SELECT count(*) FROM audit_entries")[0][0] == EVENTS


class BatchSizes(StatusProjection):
    """The status view, noting how many records each transaction applied."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        self.sizes.append(len(events))
        return super().apply_all(tx, events)


@pytest.mark.parametrize("feed_backlog", [ALWAYS, NEVER], ids=["through a feed", "in process"])
def test_no_transaction_applies_more_than_the_batch_size_and_every_record_is_applied_once(
    stream: Topics,
    kafka_bootstrap: str,
    tmp_path: Path,
    in_one_process: dict[str, str],
    feed_backlog: int,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    status = BatchSizes()
    runner(status, db, kafka_bootstrap, stream, feed_backlog, batch_records=2_500).catch_up()
    assert sum(status.sizes) == EVENTS
    assert max(status.sizes) <= 2_500
    assert status.digest(db) == in_one_process["status"]


def test_frames_waiting_for_a_slower_runner_come_joined_up_to_its_batch_size(
    stream: Topics, kafka_bootstrap: str
) -> None:
    topic = stream.events.name
    ends = {0: partition_end(kafka_bootstrap, topic, 0)}
    assert ends[0] > 3 * FRAME_RECORDS, "the partition holds frames enough to join"
    with BacklogFeed(kafka_bootstrap, topic, {0: 0}, ends, batch_records=2_500) as feed:
        deadline = time.monotonic() + 120
        while feed.frames_waiting < 3:  # the runner is busy elsewhere meanwhile
            assert time.monotonic() < deadline, "the feed sent no frames"
            time.sleep(0.01)
        batches = [f for f in feed.frames() if f is not None]
    assert FRAME_RECORDS < len(batches[0]) <= 2_500, "waiting frames were joined"
    assert max(len(batch) for batch in batches) <= 2_500
    offsets = [o for batch in batches for _, o, *_ in batch]
    assert offsets == list(range(ends[0])), "each record once, in order"


class HeldAtItsSecondBatch(StatusProjection):
    """The status view, which waits at its second batch until the test lets it go on."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.go_on = threading.Event()

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        self.batches += 1
        if self.batches == 2:
            assert self.go_on.wait(timeout=120), "the test never let the batch go on"
        return super().apply_all(tx, events)


def test_a_runner_catching_up_through_a_feed_keeps_its_heartbeat_with_the_lag_left(
    stream: Topics, kafka_bootstrap: str, tmp_path: Path, in_one_process: dict[str, str]
) -> None:
    """A city's backlog takes minutes: a heartbeat written only once caught up would
    leave the worker's row stale, and /health would call a working runner gone."""
    url = f"sqlite:///{tmp_path / 'views.sqlite'}"
    db = Database(url)
    with db.transaction() as tx:  # as the API's bootstrap makes it
        create_worker_status(db, tx)
    status = HeldAtItsSecondBatch()
    catching_up = ProjectionRunner(
        status,
        db,
        kafka_bootstrap,
        stream.events.name,
        feed_backlog=ALWAYS,
        batch_records=FRAME_RECORDS,
        beacon=Beacon(url, "projection:status"),
    )
    stop = threading.Event()
    live = threading.Thread(target=catching_up.run, args=(stop,))
    live.start()
    try:
        deadline = time.monotonic() + 120
        while True:  # the second batch waits meanwhile: the backlog is not read yet
            row = worker_rows(db).get("projection:status")
            if row is not None and row.state == "running":
                break
            assert live.is_alive(), "the runner died"
            assert time.monotonic() < deadline, "no heartbeat while behind"
            time.sleep(0.02)
        assert row.lag is not None, "it says how far behind it is"
        assert 0 < row.lag < EVENTS
        status.go_on.set()
        deadline = time.monotonic() + 120
        while applied(db, "status", stream) < EVENTS:
            assert live.is_alive(), "the runner died"
            assert time.monotonic() < deadline, "it did not catch up"
            time.sleep(0.05)
    finally:
        status.go_on.set()
        stop.set()
        live.join(timeout=30)
    assert status.digest(db) == in_one_process["status"]
