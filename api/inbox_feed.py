"""One reader of the status view's inbox change log per API process, shared by every
open live stream (GET /inbox/stream).

Each stream used to poll the view on its own: a few hundred open pages meant a
thousand queries a second through the API's one view-store connection and its thread
pool, which the other requests need too. Here one task, every POLL_SECONDS, reads each
listened unit's changes once, from the stream furthest behind (a new stream, or one
resuming from Last-Event-ID, is simply behind), renders each change once (the item as
it stands) and hands every stream the frames it has not had.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from projections.db import Database
from projections.queries import InboxChange, inbox_changes, inbox_item, last_inbox_change

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25
BACKLOG = 1000  # frames a slow stream may have waiting before it is closed (it reconnects)


@dataclass(frozen=True)
class Frame:
    seq: int
    unit: str
    data: bytes  # the SSE frame, ready to send

    @classmethod
    def of(cls, change: InboxChange, unit: str, item: dict[str, Any] | None) -> Frame:
        payload = {
            "change": change.change,
            "kind": change.kind,
            "case_id": change.case_id,
            "task_id": change.task_id,
            "at": change.at,
            # The item as it stands now (a later change may follow); null once it is
            # another unit's (reassigned).
            "item": item,
        }
        frame = b"id: %d\nevent: inbox\ndata: %s\n\n" % (change.seq, orjson.dumps(payload))
        return cls(change.seq, unit, frame)


@dataclass(eq=False)  # each stream is its own listener, hashed by identity
class _Listener:
    unit: str
    offered: int  # the last change handed to it (it has everything before)
    queue: asyncio.Queue[Frame | None] = field(default_factory=lambda: asyncio.Queue(BACKLOG))


class InboxFeed:
    def __init__(self, db: Database, render: Any) -> None:
        """`render(item dict) -> JSON-able dict`: how an item is shown (the API's model)."""
        self.db, self.render = db, render
        self._listeners: set[_Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def newest(self) -> int:
        """The number of the log's newest change, read now."""
        return await run_in_threadpool(last_inbox_change, self.db)

    async def stream(self, unit: str, after: int) -> AsyncIterator[bytes]:
        """The frames of `unit`'s changes after `after`, for ever. (A stream from now
        passes `await newest()`, read before it tells its client it is connected.)"""
        listener = _Listener(unit, after)
        self._listeners.add(listener)
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._poll())
        try:
            while True:
                frame = await listener.queue.get()
                if frame is None:
                    return  # too far behind, or the log was rebuilt: the page reconnects
                yield frame.data
        finally:
            self._listeners.discard(listener)

    async def _poll(self) -> None:
        """Hands every listener the changes of its unit after the last it was given:
        each unit's log is read once a round, from the listener furthest behind."""
        while self._listeners:
            try:
                await run_in_threadpool(self._round)
            except Exception:  # the view store is away: streams wait, /health says why
                log.warning("the inbox feed cannot read the view store", exc_info=True)
                await asyncio.sleep(POLL_SECONDS * 4)
                continue
            await asyncio.sleep(POLL_SECONDS)

    def _round(self) -> None:
        newest = last_inbox_change(self.db)
        listeners = list(self._listeners)
        for listener in listeners:
            if listener.offered > newest:  # a cursor past the end: a rebuilt log
                self._offer(listener, None)
        by_unit: dict[str, list[_Listener]] = {}
        for listener in listeners:
            if listener.offered <= newest:
                by_unit.setdefault(listener.unit, []).append(listener)
        for unit, group in by_unit.items():
            behind = min(listener.offered for listener in group)
            frames = self._read(unit, behind, newest) if behind < newest else []
            for listener in group:
                for frame in frames:
                    if frame.seq > listener.offered:
                        self._offer(listener, frame)
                listener.offered = max(listener.offered, newest)

    def _read(self, unit: str, after: int, upto: int) -> list[Frame]:
        """Renders the unit's changes after `after`, up to `upto`, from the log."""
        now = datetime.now(tz=UTC)
        frames: list[Frame] = []
        while True:
            changes = inbox_changes(self.db, unit, after)
            for change in changes:
                if change.seq > upto:
                    return frames
                frames.append(Frame.of(change, unit, self._shown(change, unit, now)))
                after = change.seq
            if len(changes) < 200:
                return frames

    def _shown(self, change: InboxChange, unit: str, now: datetime) -> dict[str, Any] | None:
        """The item as it stands, for the unit it concerns; None when it is another
        unit's now, or cannot be shown (the change is still told: one item's trouble
        must not stop every page's stream)."""
        item = inbox_item(self.db, change.case_id, change.task_id, now)
        if item is None or item["unit"] != unit:
            return None
        try:
            shown: dict[str, Any] = self.render(item)
        except Exception:
            log.exception("inbox change %d cannot be shown; told without its item", change.seq)
            return None
        return shown

    def _offer(self, listener: _Listener, frame: Frame | None) -> None:
        """Queues a frame from the poller's thread onto the stream's loop."""

        def put() -> None:
            try:
                listener.queue.put_nowait(frame)
            except asyncio.QueueFull:  # too slow to follow: tell it to go
                with contextlib.suppress(asyncio.QueueEmpty):
                    listener.queue.get_nowait()
                listener.queue.put_nowait(None)

        assert self._loop is not None
        self._loop.call_soon_threadsafe(put)
