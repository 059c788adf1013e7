"""GET /inbox/stream: the calling unit's inbox changes, live, as Server-Sent Events.

Each change the status view records (domain.notifications: opened, changed, reminded,
done, cancelled, reassigned) is sent as an `inbox` event whose id is its place in the
view's change log, so a browser's EventSource that reconnects with `Last-Event-ID`
carries on where it stopped. A comment line every few seconds keeps proxies from
closing an idle stream. The view keeps the latest changes only (CHANGES_KEPT): a client
away for longer reloads GET /inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES
from api.routers.inbox import item_model, whose_inbox
from projections.db import Database
from projections.queries import inbox_changes, inbox_item, last_inbox_change

router = APIRouter(tags=["inbox"], responses=PROBLEM_RESPONSES)
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


def _events(db: Database, unit: str, after: int) -> tuple[list[bytes], int]:
    """The SSE frames of the changes after `after`, and the last change's number."""
    now = datetime.now(tz=UTC)
    frames = []
    for change in inbox_changes(db, unit, after):
        found = inbox_item(db, change.case_id, change.task_id, now)
        data: dict[str, Any] = {
            "change": change.change,
            "kind": change.kind,
            "case_id": change.case_id,
            "task_id": change.task_id,
            "at": change.at,
            # The item as it stands now (a later change may follow); null once reassigned.
            "item": item_model(found).model_dump(mode="json")
            if found and found["unit"] == unit
            else None,
        }
        frames.append(b"id: %d\nevent: inbox\ndata: %s\n\n" % (change.seq, orjson.dumps(data)))
        after = change.seq
    return frames, after


@router.get(
    "/inbox/stream",
    summary="My inbox's changes, live (Server-Sent Events; resumes from Last-Event-ID)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def inbox_stream(
    request: Request,
    actor: ActorDep,
    services: ServicesDep,
    unit: Annotated[
        str | None, Query(max_length=64, description="district office: another unit's inbox")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    whose = whose_inbox(actor, unit)
    db = services.db
    newest = await run_in_threadpool(last_inbox_change, db)
    start = newest
    if last_event_id is not None and last_event_id.isdigit():
        # A cursor past the log's end belongs to a view since rebuilt: start from now.
        start = min(int(last_event_id), newest)

    async def stream() -> AsyncIterator[bytes]:
        after = start
        yield b"retry: 2000\n: connected\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            frames, after = await run_in_threadpool(_events, db, whose, after)
            for frame in frames:
                yield frame
            if frames:
                quiet = 0.0
                continue
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
