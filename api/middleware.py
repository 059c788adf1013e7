"""Request ids, structured JSON access logs, request size limits and HTTP metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time

import orjson
from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram
from starlette._utils import get_route_path
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.direct_commands import DirectCommands
from api.errors import PROBLEM_JSON, TYPE_BASE

access_log = logging.getLogger("liandong.access")
REQUESTS = Counter("liandong_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("liandong_http_request_seconds", "HTTP request duration", ["method", "route"])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_json_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    # kafka-python tells every connection and metadata refresh at INFO; its warnings
    # and errors are what an operator needs.
    logging.getLogger("kafka").setLevel(logging.WARNING)


class RequestContext:
    """Gives each request an id (X-Request-ID), counts and times it, adds the security
    headers and writes one JSON access-log line. Plain ASGI rather than Starlette's
    BaseHTTPMiddleware: that one runs every request through a task and a stream of its
    own, which profiling showed was a fifth of the event loop's work on a command."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        # A random id, not uuid4: that reads the kernel's random source on every request,
        # a system call costing more than the rest of this middleware. An id only has to
        # be unique among the requests an operator compares.
        request_id = (request.headers.get("x-request-id") or f"{random.getrandbits(128):032x}")[:64]
        request.state.request_id = request_id
        started = time.perf_counter()
        status = 500  # what the client gets if the application fails before answering

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                secure(request, headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(request.method, path, str(status)).inc()
            LATENCY.labels(request.method, path).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                        "unit": getattr(request.state, "unit", None),
                    }
                },
            )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
# FastAPI's interactive documentation pages load their own scripts and styles.
DOCUMENT_PAGES = ("/docs", "/redoc")


def secure(request: Request, headers: MutableHeaders) -> None:
    """Security headers on every response: no sniffing, no framing, no caching of answers
    that may hold a case, no script from anywhere in what the API returns."""
    # From the scope, not `request.url`: that parses a whole URL for each response.
    documents = get_route_path(request.scope).startswith(DOCUMENT_PAGES)
    for name, value in SECURITY_HEADERS.items():
        if name == "Content-Security-Policy" and documents:
            continue
        headers.setdefault(name, value)
    if request.scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = "max-age=31536000"


class BodyGuard:
    """Reads a request's whole body before the application sees it, so that every way of
    sending a bad body gets the same clear answer:

    - over `limit` bytes, with or without Content-Length (chunked): 413 `too_large`;
    - a client that stops sending (declares more than it sends): 408 `request_timeout`
      after `read_timeout` seconds without a byte, instead of holding a worker;
    - JSON that no parser takes (invalid UTF-8, nesting past orjson's 1,024 levels, a
      truncated document): 422 `malformed_json`. Bodies that only Python's parser takes
      (`Infinity`, `NaN`) go on, so the command's own rule names the field.

    Uploads of files (`streamed`: path to its own limit) are not held in memory: they
    pass through as they arrive, counted. One declared too large gets the 413 at once;
    one that grows past its limit while streaming (chunked), or stalls, is cut off as a
    disconnect, so the handler stores nothing.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        read_timeout: float = 10.0,
        streamed: dict[str, int] | None = None,
    ) -> None:
        self.app, self.limit, self.read_timeout = app, limit, read_timeout
        self.streamed = streamed or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload_limit = self.streamed.get(scope.get("path", ""))
        if upload_limit is not None and scope.get("method") == "POST":
            await self._stream(scope, receive, send, headers, upload_limit)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _refuse(send, 413, "too_large", f"request body over {self.limit} bytes")
            return
        chunks: list[bytes] = []
        received, more = 0, True
        while more:
            try:  # asyncio.timeout, not wait_for: no task of its own for each read
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                await _refuse(
                    send, 408, "request_timeout", f"no body bytes for {self.read_timeout:g} s"
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                await _refuse(send, 413, "too_large", f"request body over {self.limit} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and b"json" in headers.get(b"content-type", b"") and not _parses(body):
            await _refuse(
                send,
                422,
                "malformed_json",
                "the request body is not JSON (invalid UTF-8, nesting too deep, or broken)",
                field="body",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # the application waits for a disconnect once the body is read
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes], limit: int
    ) -> None:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "too_large", f"upload over {limit} bytes", field="file")
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                return {"type": "http.disconnect"}
            received += len(message.get("body", b""))
            if received > limit:
                return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)


def _parses(body: bytes) -> bool:
    try:
        orjson.loads(body)
        return True
    except orjson.JSONDecodeError:
        pass
    try:  # Python's parser also takes Infinity and NaN: let the model refuse them by name
        json.loads(body.decode("utf-8"))
        return True
    except (ValueError, RecursionError):
        return False


async def _refuse(
    send: Send, status: int, code: str, detail: str, field: str | None = None
) -> None:
    problem: dict[str, object] = {
        "type": f"{TYPE_BASE}{code}",
        "title": code,
        "status": status,
        "code": code,
        "detail": detail,
        "rule": {413: "request size limit", 408: "request read timeout"}.get(
            status, "request body is JSON"
        ),
    }
    if field:
        problem["field"] = field
    body = orjson.dumps(problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(
    app: FastAPI, *, body_limit: int, read_timeout: float, streamed: dict[str, int] | None = None
) -> None:
    app.add_middleware(DirectCommands)  # innermost: it reads the body BodyGuard holds
    app.add_middleware(RequestContext)
    app.add_middleware(
        BodyGuard, limit=body_limit, read_timeout=read_timeout, streamed=streamed or {}
    )
