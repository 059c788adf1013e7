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
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES
from api.inbox_feed import InboxFeed
from api.routers.inbox import item_model, whose_inbox

router = APIRouter(tags=["inbox"], responses=PROBLEM_RESPONSES)
KEEPALIVE_SECONDS = 15.0


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
    feed = inbox_feed(request, services)
    resumed = last_event_id is not None and last_event_id.isdigit()
    # Where the stream starts is fixed before the page hears it is connected.
    newest = await feed.newest()
    # A cursor past the log's end belongs to a view since rebuilt: start from now.
    after = min(int(last_event_id), newest) if last_event_id and resumed else newest

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n: connected\n\n"
        frames = feed.stream(whose, after).__aiter__()
        pending: asyncio.Task[bytes] | None = None
        try:
            while not await request.is_disconnected():
                pending = pending or asyncio.ensure_future(frames.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                pending = None
                try:
                    yield done.pop().result()
                except StopAsyncIteration:
                    return  # too slow to follow: the page reconnects from Last-Event-ID
        finally:
            if pending is not None:  # the generator is running in it: stop it there
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await frames.aclose()  # type: ignore[attr-defined]

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


def inbox_feed(request: Request, services: Any) -> InboxFeed:
    """The API process's one reader of the change log (made on first use)."""
    feed: InboxFeed | None = getattr(request.app.state, "inbox_feed", None)
    if feed is None:
        feed = InboxFeed(services.db, lambda i: item_model(i).model_dump(mode="json"))
        request.app.state.inbox_feed = feed
    return feed
