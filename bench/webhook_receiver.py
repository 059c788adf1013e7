"""A webhook receiver for the benchmarks: a bare ASGI app (no framework) that answers
204 at once and notes, per delivery, how long after its event it arrived (now minus
`ce-time`, on the same machine's clock). GET /stats returns the notes and clears them.

    uvicorn bench.webhook_receiver:app --port 18095
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
_notes: list[tuple[str, float]] = []  # (webhook-id, seconds since the event)


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        message = await receive()  # lifespan: start and stop at once
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # drain the body
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        body = orjson.dumps(_notes)
        _notes.clear()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    headers = dict(scope["headers"])
    sent_at = headers.get(b"ce-time")
    if sent_at:
        event_time = datetime.fromisoformat(sent_at.decode().replace("Z", "+00:00"))
        _notes.append(
            (headers.get(b"webhook-id", b"").decode(), time.time() - event_time.timestamp())
        )
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
