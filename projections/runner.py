"""Runs a projection over the events topic: each batch of records and the offsets it
consumed are written in one database transaction, so a restart resumes exactly and a
replayed record changes nothing. The database, not the consumer group, is the
source of truth for positions; the group's committed offsets only show lag.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from gateways.kafka_access import Kafka, access
from projections.db import Database, Index, Tx, create_indexes
from projections.feed import (
    DEFAULT_BACKLOG,
    BacklogFeed,
    FeedError,
    FeedRecord,
    event_class_name,
    header_values,
)
from projections.workers import Beacon, describe, is_transient, supervise

log = logging.getLogger(__name__)

FEED_RETRY_SECONDS = 60
# Following live, a fetch waits this long on the broker for a record (which answers it at
# once); the loop itself looks up every second (a stop is seen within one).
LIVE_FETCH_WAIT_MS = 5000
LIVE_POLL_MS = 1000
# The most records one transaction applies. A poll returns what has arrived, so following
# live a batch is what came meanwhile; catching up, batches fill to this. The status view
# writes a case once per batch, however many of its events the batch holds, and every
# transaction costs a commit and a look at the offsets: 20,000 a batch against 1,000 took
# a sixth less CPU at 300,000 events, the database's included, and one status process
# caught up with a city in 237 s instead of 390 s (docs/benchmarks.md, "Longer batches").
DEFAULT_BATCH_RECORDS = 20_000
# Each partition's share of one fetch: enough for a batch to fill from a few partitions
# (the fetch as a whole stays under kafka-python's fetch_max_bytes, 50 MiB).
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
TRACKING = """CREATE TABLE IF NOT EXISTS projection_offsets (
    projection TEXT NOT NULL, topic TEXT NOT NULL, partition_no INTEGER NOT NULL,
    next_offset BIGINT NOT NULL, PRIMARY KEY (projection, topic, partition_no))"""


class EventRecord(NamedTuple):
    """One event from the events topic, as a projection sees it. (A named tuple: one is
    made per record, and a frozen dataclass took a tenth of a catch-up to construct.)"""

    type: str  # the event class name
    data: dict[str, Any]  # the event's JSON
    position: int  # its position in the event store's log (ce_sequence)
    previous: int  # the position published just before it (ce_prevsequence), 0 at start
    raw: bytes = b""  # the record's value, as published
    partition: int = 0
    offset: int = 0
    prepared: Any = None  # what the projection's prepare function made of it, if it ran

    @property
    def case_id(self) -> str:
        return str(self.data["originator_id"])

    @property
    def version(self) -> int:
        return int(self.data["originator_version"])

    @classmethod
    def from_kafka(cls, record: ConsumerRecord) -> EventRecord:
        return cls.from_feed(
            (record.partition, record.offset, record.value, *header_values(record.headers))
        )

    @classmethod
    def from_feed(cls, record: FeedRecord, prepared: bool = False) -> EventRecord:
        """The record as a feed sent it; `prepared`: its value is what the projection's
        prepare function made of the event (and `data` is left empty)."""
        partition, offset, value, ce_type, sequence, previous = record
        name = event_class_name(ce_type)
        if prepared:
            return cls(name, {}, int(sequence), int(previous), b"", partition, offset, value)
        return cls(
            name, orjson.loads(value), int(sequence), int(previous), value, partition, offset
        )


class EventNotApplicable(Exception):
    """A projection cannot apply an event: retrying will not help, so the runner stops
    and says which event and why (it never skips it silently)."""


class _RolledBack(Exception):
    pass


class _CannotApply(Exception):
    def __init__(self, reason: Exception) -> None:
        super().__init__(str(reason))
        self.reason = reason


class Projection(Protocol):
    name: str
    # "module:function" of a pure function (event class name, position, value) → anything
    # picklable, which a feed process runs on each record so the runner need not; the
    # projection then finds its result in EventRecord.prepared. None: no such work.
    prepare: str | None
    # Whether several runners may split the topic's partitions between them: true when
    # every row depends only on the events of one partition (one case's events share a
    # partition). Not for the audit chain, whose every entry follows the one before.
    splittable: bool

    def create(self, tx: Tx) -> None: ...
    def drop(self, tx: Tx) -> None: ...
    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        """Applies what it can; returns, per partition, the offset from which a restarted
        runner must read again (a projection may hold events back until it can apply
        them, as the audit chain does)."""
        ...

    def forget(self) -> None:
        """Drops whatever the projection holds in memory (the runner re-reads it)."""
        ...

    def index_definitions(self) -> list[Index]:
        """The view's secondary indexes: made when it has caught up (see `setup`)."""
        ...

    def rename_from(self, tx: Tx, shadow: Projection) -> None: ...
    def digest(self, db: Database) -> str: ...
    def shadow(self) -> Projection: ...


def stored_offsets(tx: Tx, projection: str, topic: str) -> dict[int, int]:
    rows = tx.execute(
        "SELECT partition_no, next_offset FROM projection_offsets "
        "WHERE projection = ? AND topic = ?",
        (projection, topic),
    ).fetchall()
    return {int(p): int(o) for p, o in rows}


SETUP_LOCK = "liandong-projection-setup"
# How long a runner waits for Kafka to take its offsets, which only lag tools read.
GROUP_COMMIT_TIMEOUT_MS = 5_000


def setup(db: Database, projection: Projection) -> None:
    """Makes the view's tables, and its indexes unless it holds no event yet.

    A view built from nothing gets its secondary indexes once it has caught up
    (`index_view`): keeping five indexes of two million audit entries in step, row by
    row, cost PostgreSQL more CPU than the rows themselves, where one sort at the end is
    PostgreSQL's own advice for a bulk load. Queries are correct meanwhile, only slower,
    and the view is behind anyway. A view that holds events keeps, or gets, its indexes
    at once: so a process that died mid-catch-up leaves no view unindexed for long."""
    with db.transaction() as tx:
        # Processes started together (a group's members) make the tables one at a time:
        # PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
        db.lock(tx, SETUP_LOCK)
        tx.execute(TRACKING)
        projection.create(tx)
        if holds_events(tx, projection.name):
            create_indexes(tx, projection.index_definitions())


def holds_events(tx: Tx, projection: str) -> bool:
    """Whether the view has applied any record (its offsets are written with its rows)."""
    found = tx.execute(
        "SELECT 1 FROM projection_offsets WHERE projection = ? LIMIT 1", (projection,)
    ).fetchone()
    return found is not None


def index_view(db: Database, projection: Projection) -> None:
    """Makes whatever of the view's indexes is missing; one process at a time."""
    with db.transaction() as tx:
        db.lock(tx, SETUP_LOCK)
        create_indexes(tx, projection.index_definitions())


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        db: Database,
        bootstrap: Kafka,
        topic: str,
        group_id: str | None = None,
        feed_backlog: int = DEFAULT_BACKLOG,
        beacon: Beacon | None = None,
        in_group: bool = False,
        batch_records: int = DEFAULT_BATCH_RECORDS,
    ) -> None:
        if in_group and not projection.splittable:
            raise ValueError(
                f"the {projection.name} projection cannot be split between processes: each "
                "of its entries follows the one before it in the whole log; run one process"
            )
        self.projection, self.db, self.bootstrap, self.topic = projection, db, bootstrap, topic
        # One of several runners in the projection's consumer group, each applying the
        # partitions Kafka assigns it (see _follow_in_group).
        self.in_group = in_group
        # Where the runner tells /health how it fares (a row in the view store).
        self.beacon = beacon or Beacon(None, f"projection:{projection.name}")
        # From this many records behind, a catch-up reads through a feed process.
        self.feed_backlog = feed_backlog
        self.batch_records = max(1, batch_records)
        # The projection's group is one deployment's (its topic's) alone: the group that
        # shares out partitions, or where one runner commits its offsets for lag tools.
        self.group_id = group_id or f"{topic}.projection-{projection.name}"
        self._expected: dict[int, int] = {}  # per partition: the offset we last stored
        self._no_feed_until = 0.0  # monotonic time before which a live runner starts none
        # Called after a batch that applied anything commits (what follows the view in
        # this process, the webhooks after the outbox, starts at once instead of polling).
        self.on_applied: Callable[[], None] | None = None
        self._indexed = False  # whether this runner has seen the view's indexes made
        setup(db, projection)

    def _consumer(self, group: bool) -> KafkaConsumer:
        return KafkaConsumer(
            **access(self.bootstrap).options(),
            group_id=self.group_id if group else None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=self.batch_records,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
            # Following live, a fetch waits on the broker until a record arrives (which
            # answers it at once) or five seconds pass: an idle follower costs little. A
            # catch-up wants to know soon that it has reached the end.
            fetch_max_wait_ms=LIVE_FETCH_WAIT_MS if group else 100,
            client_id=f"projection-{self.projection.name}",
        )

    def _seek_to_stored(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        self.projection.forget()
        with self.db.transaction() as tx:
            offsets = stored_offsets(tx, self.projection.name, self.topic)
        for tp in partitions:
            self._expected[tp.partition] = offsets.get(tp.partition, 0)
            consumer.seek(tp, self._expected[tp.partition])

    def _apply(self, batch: dict[int, list[EventRecord]]) -> dict[int, int]:
        """Applies one batch in one transaction with the offsets it consumed.

        Returns, for each partition whose tracking record moved under us (a rebuild was
        swapped in), the offset the database now holds; those records were not applied
        and must be read again from there."""
        reseek: dict[int, int] = {}
        fresh: list[EventRecord] = []
        try:
            stored = self._apply_batch(batch, reseek, fresh)
        except _CannotApply as failed:  # located now that the transaction has rolled back
            raise self._not_applicable(fresh, failed.reason) from failed.reason
        for partition in batch:
            self._expected[partition] = reseek.get(partition, stored.get(partition, 0))
        if fresh and self.on_applied is not None:
            self.on_applied()
        return reseek

    def _apply_batch(
        self,
        batch: dict[int, list[EventRecord]],
        reseek: dict[int, int],
        fresh: list[EventRecord],
    ) -> dict[int, int]:
        with self.db.transaction() as tx:
            # Runners of one projection exclude each other per partition, so that runners
            # splitting the partitions write side by side.
            self.db.lock(tx, *(f"{self.projection.name}:{p}" for p in sorted(batch)))
            stored = stored_offsets(tx, self.projection.name, self.topic)
            for partition, records in batch.items():
                next_offset = stored.get(partition, 0)
                if next_offset != self._expected.get(partition, next_offset):
                    reseek[partition] = next_offset
                    continue
                # Records before the stored offset were applied already: a replay changes
                # nothing. (Records the projection holds back lie after it.)
                fresh += [r for r in records if r.offset >= next_offset]
            try:
                stored.update(self.projection.apply_all(tx, fresh))
            except Exception as exc:
                if is_transient(exc):
                    raise
                raise _CannotApply(exc) from exc
            for partition in batch:
                if partition in reseek or partition not in stored:
                    continue
                tx.execute(
                    "INSERT INTO projection_offsets (projection, topic, partition_no, "
                    "next_offset) VALUES (?, ?, ?, ?) ON CONFLICT (projection, topic, "
                    "partition_no) DO UPDATE SET next_offset = excluded.next_offset",
                    (self.projection.name, self.topic, partition, stored[partition]),
                )
        return stored

    def _not_applicable(self, records: list[EventRecord], exc: Exception) -> EventNotApplicable:
        """Finds which record of a failed batch cannot be applied (each tried alone, in a
        transaction rolled back afterwards) and names it."""
        culprit, reason = (records[0] if records else None), exc
        with contextlib.suppress(_RolledBack), self.db.transaction() as tx:
            for record in records:
                try:
                    self.projection.apply_all(tx, [record])
                except Exception as single:
                    culprit, reason = record, single
                    break
            raise _RolledBack
        self.projection.forget()
        where = (
            f"event at position {culprit.position} ({culprit.type}, partition "
            f"{culprit.partition} offset {culprit.offset})"
            if culprit
            else "a batch"
        )
        return EventNotApplicable(
            f"{self.projection.name} cannot apply the {where}: {describe(reason)}"
        )

    def _step(self, consumer: KafkaConsumer, timeout_ms: int = 300) -> int:
        """Polls once and applies what came, in one transaction with its offsets."""
        polled = consumer.poll(timeout_ms=timeout_ms)
        batch = {
            tp.partition: [EventRecord.from_kafka(r) for r in records]
            for tp, records in polled.items()
        }
        if batch and self._apply(batch):
            # Start every partition again from the database, held events included.
            self._seek_to_stored(consumer, list(consumer.assignment()))
        return sum(len(records) for records in batch.values())

    def run(self, stop: threading.Event) -> None:
        """Follows the topic live until `stop`, through the one error policy of
        projections.workers: an unavailable broker or database is waited out with backoff,
        an event that cannot be applied stops the runner (WorkerFailed) with its position."""
        supervise(self.beacon, self._follow, stop)

    def _follow(self, stop: threading.Event) -> None:
        """Follows the topic live until `stop`.

        Partitions are assigned to this runner directly rather than through group
        rebalancing: the database holds the positions and one runner writes a view, so a
        restarted runner resumes at once instead of waiting out its dead predecessor's
        session. Offsets are still committed under the projection's group id, so the usual
        tools show each projection's lag.

        A large backlog, at the start or after a burst (a bulk import, a relay back from
        an outage), is read through a feed process by catch_up; then the live loop goes
        on from the tracking record."""
        self.beacon.report("starting")
        if self.in_group:
            self._follow_in_group(stop)
            return
        self._catch_up_live(stop)
        consumer = self._consumer(group=True)
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            self._seek_to_stored(consumer, partitions)
            while not stop.is_set():
                applied = self._step(consumer, timeout_ms=LIVE_POLL_MS)
                self.beacon.report("running", lag=self._behind(consumer))
                self._index_when_caught_up(consumer)
                if applied:
                    self._commit_group_offsets(consumer)
                    if (
                        self._behind(consumer) >= max(self.feed_backlog, 1)
                        and time.monotonic() >= self._no_feed_until
                    ):
                        self._catch_up_live(stop)
                        self._seek_to_stored(consumer, partitions)
        finally:
            consumer.close()

    def _follow_in_group(self, stop: threading.Event) -> None:
        """Follows the partitions the consumer group assigns this runner, one of several.

        Whenever the assignment changes (a runner joins, stops or dies), each runner reads
        its new partitions from the offsets the database holds, and forgets what it held
        in memory: another runner may have moved those cases on meanwhile. A runner that
        stalls past its session and applies a batch of a partition that has moved on
        finds the stored offset is not the one it expected, and applies nothing of it
        (_apply_batch), so no record is applied twice or skipped. A backlog is read here
        rather than through a feed process: the runners themselves share it out."""
        consumer = self._consumer(group=True)
        try:
            consumer.subscribe([self.topic], listener=_Reassigned(self, consumer))
            while not stop.is_set():
                applied = self._step(consumer, timeout_ms=LIVE_POLL_MS)
                self.beacon.report("running", lag=self._behind(consumer))
                if applied:
                    self._commit_group_offsets(consumer)
                self._index_when_caught_up(consumer)
        finally:
            consumer.close()

    def _catch_up_live(self, stop: threading.Event) -> None:
        def beating(done: int, total: int) -> None:
            # A catch-up of a city's backlog takes minutes: its heartbeat goes on, or
            # /health would call a working runner gone after 15 s.
            self.beacon.report("running", lag=total - done)

        try:
            self.catch_up(progress=beating, timeout_s=float("inf"), stop=stop)
        except FeedError:  # the live loop reads the rest from the tracking record
            log.warning(
                "%s: the feed failed; reading on in this process",
                self.projection.name,
                exc_info=True,
            )
            # A feed that cannot run (say, out of memory) is not started again at once.
            self._no_feed_until = time.monotonic() + FEED_RETRY_SECONDS

    def _index_when_caught_up(self, consumer: KafkaConsumer) -> None:
        """Makes the view's indexes, once, when this runner has read every partition it
        holds to the end its fetches last reported (see `setup`)."""
        if self._indexed:
            return
        assigned = consumer.assignment()
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None or consumer.position(tp) < highwater:
                return  # not fetched yet, or behind
        if assigned:
            self._index()

    def _index(self) -> None:
        if not self._indexed:
            index_view(self.db, self.projection)
            self._indexed = True

    @staticmethod
    def _behind(consumer: KafkaConsumer) -> int:
        """Records between the consumer's positions and the high watermarks its last
        fetches reported (known without asking the broker)."""
        behind = 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                behind += max(0, highwater - consumer.position(tp))
        return behind

    def _partitions(self, consumer: KafkaConsumer, timeout_s: float = 60) -> list[TopicPartition]:
        deadline = time.monotonic() + timeout_s
        while not (known := consumer.partitions_for_topic(self.topic)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {self.topic} not found")
            time.sleep(0.2)
        return [TopicPartition(self.topic, p) for p in sorted(known)]

    def _commit_group_offsets(self, consumer: KafkaConsumer) -> None:
        with self.db.transaction() as tx:
            offsets = stored_offsets(tx, self.projection.name, self.topic)
        mine = {tp.partition for tp in consumer.assignment()}
        try:
            consumer.commit(
                {
                    TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1)
                    for p, o in offsets.items()
                    if p in mine
                },
                # Not kafka-python's default (the request timeout, 305 s): a coordinator
                # that does not answer must not hold up the view, or a stop.
                timeout_ms=GROUP_COMMIT_TIMEOUT_MS,
            )
        except Exception:  # informational only: the database holds positions
            log.debug("group offset commit failed", exc_info=True)

    def catch_up(
        self,
        progress: Callable[[int, int], None] | None = None,
        timeout_s: float = 3600,
        stop: threading.Event | None = None,
    ) -> int:
        """Applies everything up to the topic's end as it is now (or until `stop`), without
        a group; returns the number of records read. A backlog of `feed_backlog` records
        or more is read by a feed process (see projections.feed)."""
        consumer = self._consumer(group=False)
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            self._seek_to_stored(consumer, partitions)
            end = consumer.end_offsets(partitions)
            total = sum(end.values())
            deadline = time.monotonic() + timeout_s
            read = 0
            backlog = sum(end[tp] - consumer.position(tp) for tp in partitions)
            if backlog >= max(self.feed_backlog, 1):
                read += self._read_feed(consumer, end, progress, deadline, stop)
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                if stop is not None and stop.is_set():
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.projection.name} did not catch up")
                read += self._step(consumer, timeout_ms=500)
                if progress:
                    progress(sum(consumer.position(tp) for tp in partitions), total)
            if all(consumer.position(tp) >= end[tp] for tp in partitions):
                self._index()
            return read
        finally:
            consumer.close()

    def _read_feed(
        self,
        consumer: KafkaConsumer,
        end: dict[TopicPartition, int],
        progress: Callable[[int, int], None] | None,
        deadline: float,
        stop: threading.Event | None,
    ) -> int:
        """Applies the backlog up to `end` as a feed process reads it, then leaves the
        consumer where the feed stopped (or, if it could not finish, where the database
        says the view stands)."""
        starts = {tp.partition: consumer.position(tp) for tp in end}
        ends = {tp.partition: offset for tp, offset in end.items()}
        positions, total, read = dict(starts), sum(ends.values()), 0
        prepare = self.projection.prepare
        with BacklogFeed(
            self.bootstrap, self.topic, starts, ends, prepare, self.batch_records
        ) as feed:
            for frame in feed.frames():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.projection.name} did not catch up")
                if stop is not None and stop.is_set():
                    self._seek_to_stored(consumer, list(end))
                    return read
                if frame is None:
                    continue
                batch: dict[int, list[EventRecord]] = {}
                for record in frame:
                    event = EventRecord.from_feed(record, prepared=prepare is not None)
                    batch.setdefault(record[0], []).append(event)
                for partition, records in batch.items():
                    positions[partition] = records[-1].offset + 1
                read += len(frame)
                if self._apply(batch):
                    # A rebuild was swapped in under us: go on in this process, from the
                    # positions the database holds now.
                    self._seek_to_stored(consumer, list(end))
                    return read
                if progress:
                    progress(sum(positions.values()), total)
        # Everything before `end` was read; what the projection holds back is in memory.
        for tp, offset in end.items():
            consumer.seek(tp, offset)
        if progress:
            progress(total, total)
        return read


class _Reassigned(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped library
    """Starts each partition the group assigns a runner from the offset its view holds."""

    def __init__(self, runner: ProjectionRunner, consumer: KafkaConsumer) -> None:
        self.runner, self.consumer = runner, consumer

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Another runner may apply these cases next: what this one holds of them goes.
        self.runner.projection.forget()

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info(
            "%s: assigned partitions %s",
            self.runner.projection.name,
            sorted(tp.partition for tp in assigned),
        )
        self.runner._seek_to_stored(self.consumer, list(assigned))


def rebuild(
    db: Database,
    projection: Projection,
    bootstrap: Kafka,
    topic: str,
    progress: Callable[[int, int], None] | None = None,
    feed_backlog: int = DEFAULT_BACKLOG,
    batch_records: int = DEFAULT_BATCH_RECORDS,
) -> None:
    """Replays from the start into fresh tables, then swaps them in, in one transaction."""
    shadow = projection.shadow()
    with db.transaction() as tx:
        tx.execute(TRACKING)
        shadow.drop(tx)
        tx.execute("DELETE FROM projection_offsets WHERE projection = ?", (shadow.name,))
    ProjectionRunner(
        shadow, db, bootstrap, topic, feed_backlog=feed_backlog, batch_records=batch_records
    ).catch_up(progress)
    with db.transaction() as tx:
        projection.drop(tx)
        projection.rename_from(tx, shadow)
        tx.execute("DELETE FROM projection_offsets WHERE projection = ?", (projection.name,))
        tx.execute(
            "UPDATE projection_offsets SET projection = ? WHERE projection = ?",
            (projection.name, shadow.name),
        )
