"""Reading a backlog of the events topic in a process of its own.

kafka-python decodes record batches in pure Python, and applying events to a view is
Python work too: in one process the GIL makes the two take turns, and a projection
catching up on a large backlog (a rebuild, or a runner back after downtime) used one
core of the machine. A feed process reads and decodes the backlog while the runner
applies it, so both cores work.

The feed holds no state and decides nothing. The runner gives it, per partition, the
offset to start at (from the view's tracking record) and the offset to stop at (the
end of the topic when the catch-up began); it sends back what it read, in offset order,
and exits. Positions stay in the database: if either process dies, the runner starts
again from its tracking record. A feed whose runner died stops at its next write
(the pipe is broken) or at the end of its backlog, whichever comes first.

A projection may also name a pure function of one event (`Projection.prepare`, as
"module:function") for the feed to run on each record: the audit trail parses the
event and serializes its entry there, so the runner only chains and writes.

Frames on the feed's stdout: a 4-byte big-endian length, then a pickle of a list of
(partition, offset, value, ce_type, ce_sequence, ce_prevsequence), the value replaced
by what the prepare function returned when there is one. A zero length ends the feed.
(Pickle is safe here: the feed is our own child process, and what it sends is made of
ints, bytes, strings and tuples.)
"""

from __future__ import annotations

import argparse
import importlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from gateways.kafka_access import Kafka, KafkaAccess, access
from projections.collector import collect_less_often

# (partition, offset, value, ce_type, ce_sequence, ce_prevsequence); the value is what
# the projection's prepare function made of it when the projection has one.
FeedRecord = tuple[int, int, Any, bytes, bytes, bytes]
Prepare = Callable[[str, int, bytes], Any]  # (event class name, position, value)
# A catch-up this many records behind reads through a feed: below it, starting a process
# (about 0.2 s) costs more than it saves.
DEFAULT_BACKLOG = 10_000
# Records per frame at most: small enough that the runner starts applying soon, and joins
# the frames that wait for it into batches of its own size (BacklogFeed.frames).
FRAME_RECORDS = 1000
# How far, in positions of the event store, one partition's reading may run ahead of the
# slowest partition still unread. The audit chains events in the store's order and keeps
# in memory every event whose predecessor lies unread in another partition: read as the
# broker happened to send them, a city's catch-up kept up to 300,000 (1.5 GB).
POSITIONS_AHEAD = 20_000
_LENGTH = struct.Struct("!I")
_END = object()


def offsets_arg(offsets: dict[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(offsets.items()))


def parse_offsets(text: str) -> dict[int, int]:
    return {int(p): int(o) for p, o in (item.split(":") for item in text.split(",") if item)}


_EVENT_NAMES: dict[bytes, str] = {}  # ce_type header → event class name, as seen so far


def event_class_name(ce_type: bytes) -> str:
    """cn.gov.jiangjin.liandong.<EventClass>.v1 → <EventClass> (remembered: one per record
    is asked for, and there are a few dozen event classes)."""
    name = _EVENT_NAMES.get(ce_type)
    if name is None:
        name = ce_type.decode().rsplit(".", 2)[-2]
        if len(_EVENT_NAMES) < 1000:
            _EVENT_NAMES[ce_type] = name
    return name


def load_prepare(spec: str) -> Prepare:
    """The function named "module:function"."""
    module, _, name = spec.partition(":")
    function: Prepare = getattr(importlib.import_module(module), name)
    return function


def header_values(headers: list[tuple[str, bytes]]) -> tuple[bytes, bytes, bytes]:
    kind = sequence = b""
    previous = b"0"
    for key, value in headers:
        if key == "ce_type":
            kind = value
        elif key == "ce_sequence":
            sequence = value
        elif key == "ce_prevsequence":
            previous = value
    return kind, sequence, previous


class Pacer:
    """Which partitions to hold back so that none is read more than `ahead` positions past
    the slowest one still being read. Until a partition still to read has sent its first
    records, where it stands is unknown: the others wait for it (it is not held back, so
    its records come with the next fetches)."""

    def __init__(self, ahead: int = POSITIONS_AHEAD) -> None:
        self.ahead = ahead
        self.latest: dict[int, int] = {}  # per partition, the position last read

    def read(self, partition: int, position: int) -> None:
        self.latest[partition] = position

    def held_back(self, unfinished: Iterable[int]) -> set[int]:
        unfinished = list(unfinished)
        known = {p: self.latest[p] for p in unfinished if p in self.latest}
        if len(known) < len(unfinished):
            return set(known)
        slowest = min(known.values(), default=0)
        return {p for p, position in known.items() if position > slowest + self.ahead}


def read_backlog(
    bootstrap: Kafka,
    topic: str,
    starts: dict[int, int],
    ends: dict[int, int],
    out: IO[bytes],
    prepare: Prepare | None = None,
    frame_records: int = FRAME_RECORDS,
    positions_ahead: int = POSITIONS_AHEAD,
) -> int:
    """Reads [start, end) of each partition and writes it to `out` as frames of at most
    `frame_records` records, the partitions paced by the events' positions (Pacer)."""
    from kafka import KafkaConsumer, TopicPartition  # the runner's process need not load it

    consumer = KafkaConsumer(
        **access(bootstrap).options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=frame_records,
        fetch_max_wait_ms=100,
        client_id="projection-feed",
    )
    partitions = [TopicPartition(topic, p) for p in sorted(starts) if starts[p] < ends[p]]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, starts[tp.partition])
    sent, pacer = 0, Pacer(positions_ahead)
    reading, at = list(partitions), dict(starts)  # at: where each partition's reading stands
    try:
        while unfinished := [tp for tp in partitions if at[tp.partition] < ends[tp.partition]]:
            held = pacer.held_back(tp.partition for tp in unfinished)
            wanted = [tp for tp in unfinished if tp.partition not in held]
            if wanted != reading:
                # Held back by leaving the assignment: kafka-python 3.0.12 can keep a paused
                # partition's fetched records and never hand them over after resume. A
                # partition still assigned keeps its position and what was fetched for it;
                # one assigned again starts where its reading stood.
                back = [tp for tp in wanted if tp not in reading]
                reading = wanted
                consumer.assign(reading)
                for tp in back:
                    consumer.seek(tp, at[tp.partition])
            frame: list[FeedRecord] = []
            for tp, records in consumer.poll(timeout_ms=500).items():
                end = ends[tp.partition]
                read = [
                    (tp.partition, r.offset, r.value, *header_values(r.headers))
                    for r in records
                    if r.offset < end
                ]
                if read and read[-1][4]:
                    pacer.read(tp.partition, int(read[-1][4]))
                frame += read
            for tp in reading:  # the consumer's position also passes transaction markers
                at[tp.partition] = consumer.position(tp)
            if frame and prepare is not None:
                frame = [
                    (p, o, prepare(event_class_name(kind), int(seq), value), kind, seq, prev)
                    for p, o, value, kind, seq, prev in frame
                ]
            if frame:
                body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(_LENGTH.pack(len(body)) + body)
                sent += len(frame)
        out.write(_LENGTH.pack(0))
        out.flush()
    finally:
        consumer.close(autocommit=False)
    return sent


class FeedError(RuntimeError):
    """The feed process failed; its last words are in the message."""


class BacklogFeed:
    """A running feed process, read as an iterator of frames.

    A thread reads the pipe into a short queue, so the feed is never held up by the
    pipe's small buffer while the runner is busy applying the previous frame. The
    feed's stderr goes to a temporary file (a pipe nobody reads could fill up and stall
    it while the broker is unreachable and the client keeps logging)."""

    def __init__(
        self,
        bootstrap: Kafka,
        topic: str,
        starts: dict[int, int],
        ends: dict[int, int],
        prepare: str | None = None,
        batch_records: int = FRAME_RECORDS,
    ) -> None:
        self.batch_records = max(1, batch_records)
        self.frame_records = min(FRAME_RECORDS, self.batch_records)
        root = str(Path(__file__).resolve().parents[1])
        paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(paths),
            **access(bootstrap).environment(),
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._closed = threading.Event()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "projections.feed",
                "--bootstrap",
                access(bootstrap).bootstrap,
                "--topic",
                topic,
                "--start",
                offsets_arg(starts),
                "--end",
                offsets_arg(ends),
                *(["--prepare", prepare] if prepare else []),
                "--frame-records",
                str(self.frame_records),
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        # Room for a whole batch of frames, so that a batch can be joined from them.
        waiting = max(16, -(-self.batch_records // self.frame_records))
        self._frames: queue.Queue[Any] = queue.Queue(maxsize=waiting)
        self._reader = threading.Thread(target=self._read, name="feed-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        pipe = self._process.stdout
        try:
            while (head := pipe.read(_LENGTH.size)) and len(head) == _LENGTH.size:
                (length,) = _LENGTH.unpack(head)
                if length == 0:
                    self._put(None)
                    return
                body = pipe.read(length)
                if len(body) < length:
                    break  # cut off mid-frame
                self._put(body)
            self._put(_END)  # the pipe closed without the end frame
        except Exception as error:  # reported to the runner, which owns the feed
            self._put(error)

    def _put(self, item: object) -> None:
        """Queues an item unless the feed was closed meanwhile (then nobody takes it)."""
        while not self._closed.is_set():
            try:
                self._frames.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    @property
    def frames_waiting(self) -> int:
        """Frames read from the feed that the runner has not taken yet."""
        return self._frames.qsize()

    def frames(self, timeout_s: float = 1.0) -> Iterator[list[FeedRecord] | None]:
        """Yields each frame, or None every `timeout_s` while the feed has nothing yet
        (so the runner can check its deadline and stop flag); ends at the end frame.

        Frames that wait in the queue when one is taken (the runner is the slower of the
        two) come joined, up to `batch_records`: a longer batch per transaction."""
        while True:
            try:
                item = self._frames.get(timeout=timeout_s)
            except queue.Empty:
                yield None
                continue
            joined: list[FeedRecord] = []
            while True:
                if item is None:
                    if joined:
                        yield joined
                    return
                if item is _END or isinstance(item, Exception):
                    if joined:
                        yield joined  # what came before the failure is sound
                    raise FeedError(self._last_words(item))
                joined += pickle.loads(item)
                if len(joined) + self.frame_records > self.batch_records:
                    break
                try:
                    item = self._frames.get_nowait()
                except queue.Empty:
                    break
            yield joined

    def _last_words(self, item: object) -> str:
        try:
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its stdout broke but it lives on: end it
            self._process.kill()
            code = self._process.wait()
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        reason = item if isinstance(item, Exception) else f"exit status {code}"
        return f"the feed process failed ({reason}): {tail or 'no message'}"

    def close(self) -> None:
        self._closed.set()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)  # it sees the pipe's end, or the closed flag
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> BacklogFeed:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projections.feed", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--start", required=True, help="partition:offset,...")
    parser.add_argument("--end", required=True, help="partition:offset,...")
    parser.add_argument("--prepare", help="module:function run on each record")
    parser.add_argument("--frame-records", type=int, default=FRAME_RECORDS)
    args = parser.parse_args(argv)
    collect_less_often()
    try:
        read_backlog(
            KafkaAccess.from_environment(args.bootstrap),
            args.topic,
            parse_offsets(args.start),
            parse_offsets(args.end),
            sys.stdout.buffer,
            load_prepare(args.prepare) if args.prepare else None,
            frame_records=max(1, args.frame_records),
        )
    except BrokenPipeError:  # the runner is gone: nobody wants the rest
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
