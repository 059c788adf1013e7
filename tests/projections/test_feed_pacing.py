"""A feed reads the partitions of its backlog side by side in the event store's order, so
that a projection which applies events in that order (the audit chain) does not keep
in memory what one partition sent far ahead of another."""

from __future__ import annotations

import io
import pickle
import struct
import uuid

import pytest
from kafka import KafkaProducer

from gateways.topics import Topics, ensure_topics
from projections.feed import FeedRecord, Pacer, read_backlog

PER_PARTITION = 600
AHEAD, FRAME = 100, 50


def test_a_partition_read_further_ahead_than_allowed_is_held_back() -> None:
    pacer = Pacer(ahead=100)
    pacer.read(0, 1_000)
    pacer.read(1, 1_101)
    pacer.read(2, 1_100)
    assert pacer.held_back([0, 1, 2]) == {1}


def test_a_finished_partition_holds_nobody_back() -> None:
    pacer = Pacer(ahead=100)
    pacer.read(0, 1_000)
    pacer.read(1, 5_000)
    assert pacer.held_back([1]) == set()


def test_a_partition_not_read_yet_holds_back_the_others_until_it_is() -> None:
    pacer = Pacer(ahead=100)
    assert pacer.held_back([0, 1]) == set()
    pacer.read(1, 5_000)
    assert pacer.held_back([0, 1]) == {1}
    pacer.read(0, 4_950)
    assert pacer.held_back([0, 1]) == set()


def frames(written: bytes) -> list[list[FeedRecord]]:
    out: list[list[FeedRecord]] = []
    at = 0
    while True:
        (length,) = struct.unpack_from("!I", written, at)
        at += 4
        if length == 0:
            return out
        out.append(pickle.loads(written[at : at + length]))
        at += length


@pytest.mark.kafka
def test_no_partition_is_read_far_ahead_of_another_and_every_record_comes_once(
    kafka_bootstrap: str,
) -> None:
    # Partition 1 holds positions 1..600, partition 0 positions 601..1200: read as the
    # broker sends them, partition 0 would come whole before partition 1 began.
    topics = Topics(prefix=f"pace{uuid.uuid4().hex[:10]}")
    ensure_topics(kafka_bootstrap, [topics.events])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for partition in (0, 1):
        for i in range(PER_PARTITION):
            position = (1 - partition) * PER_PARTITION + i + 1
            headers = [
                ("ce_type", b"liandong.CaseListed"),
                ("ce_sequence", str(position).encode()),
                ("ce_prevsequence", str(position - 1).encode()),
            ]
            producer.send(topics.events.name, b"{}", partition=partition, headers=headers)
    producer.flush()
    producer.close()
    out = io.BytesIO()
    sent = read_backlog(
        kafka_bootstrap,
        topics.events.name,
        {0: 0, 1: 0},
        {0: PER_PARTITION, 1: PER_PARTITION},
        out,
        frame_records=FRAME,
        positions_ahead=AHEAD,
    )
    read = frames(out.getvalue())
    records = [r for frame in read for r in frame]
    assert sent == len(records) == 2 * PER_PARTITION
    for partition in (0, 1):
        offsets = [offset for p, offset, *_ in records if p == partition]
        assert offsets == list(range(PER_PARTITION))
    latest: dict[int, int] = {}
    last = {0: 2 * PER_PARTITION, 1: PER_PARTITION}
    for frame in read:  # one frame per poll
        unfinished = [p for p in (0, 1) if latest.get(p, 0) < last[p]]
        if all(p in latest for p in unfinished):
            slowest = min(latest[p] for p in unfinished)
            for partition in {r[0] for r in frame}:
                # Read in this poll: it was not ahead of the slowest by more than AHEAD.
                assert latest[partition] <= slowest + AHEAD
        for partition, _, _, _, sequence, _ in frame:
            latest[partition] = int(sequence)
    # Of partition 0, at most its first poll came before partition 1 was within AHEAD of it.
    near = next(i for i, r in enumerate(records) if r[4] == str(PER_PARTITION - AHEAD).encode())
    assert sum(1 for r in records[:near] if r[0] == 0) <= FRAME
