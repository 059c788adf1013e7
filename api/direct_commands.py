"""Commands answered without FastAPI's per-request machinery, when nothing about the
request needs it.

FastAPI's routing (a scan of every route) and dependency solving cost a command about
twice what the command itself costs (docs/benchmarks.md, "REST API"). This middleware
sits just outside FastAPI's router. For a POST to a command's path it does what the
generated endpoint does, with the same functions: the query's edge rule, the key's
holder (`api.deps`), the endpoint's body model, the route's own `make`, and `execute`.

It answers only a request every one of whose parts it can read exactly as FastAPI would:
a JSON body orjson reads as an object, a path parameter the same validator takes, a body
the body model takes, at most one Idempotency-Key of the allowed length, and no query but
`wait=true|false`. Anything else is handed, untouched, to the FastAPI route, so every
refusal of a malformed request is FastAPI's own, word for word. Errors raised once the
request is read (authentication, the query's edge rule, the domain's refusals) go
through the application's own exception handlers, as they would from the route.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette._exception_handler import _lookup_exception_handler
from starlette._utils import get_route_path, is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import _bearer, authenticate, get_services, query_at_the_edge
from api.routers.commands import (
    COMMAND_ROUTES,
    IDEMPOTENCY_KEY_MAX,
    ORDER_NO,
    CommandRoute,
    execute,
    router,
)

_UUID = TypeAdapter(UUID)
_ORDER_NO = re.compile(ORDER_NO)
_WAIT = {b"": False, b"wait=true": True, b"wait=false": False}


@dataclass(frozen=True)
class _Target:
    route: CommandRoute
    api_route: Any  # the FastAPI route: the access log and metrics name it
    params: tuple[str, ...]  # the path's parameters, in order


def _targets() -> dict[tuple[str, ...], _Target]:
    """Each command's path as a key: its fixed segments, with `{}` for a parameter."""
    api_routes = {getattr(r, "path", None): r for r in router.routes}
    found: dict[tuple[str, ...], _Target] = {}
    for route in COMMAND_ROUTES:
        segments = route.path.split("/")
        shape = tuple("{}" if s.startswith("{") else s for s in segments)
        params = tuple(s[1:-1] for s in segments if s.startswith("{"))
        found[shape] = _Target(route, api_routes[route.path], params)
    return found


class DirectCommands:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.targets = _targets()

    def _match(self, path: str) -> tuple[_Target, list[str]] | None:
        segments = path.split("/")
        if len(segments) == 4 and segments[1] == "cases":
            shape: tuple[str, ...] = ("", "cases", "{}", segments[3])
            values = [segments[2]]
        elif len(segments) == 5 and segments[1] == "orders":
            shape, values = ("", "orders", "{}", "{}", segments[4]), segments[2:4]
        else:
            shape, values = tuple(segments), []
        target = self.targets.get(shape)
        return (target, values) if target else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http" and scope["method"] == "POST":
            found = self._match(get_route_path(scope))
        if found is None:
            await self.app(scope, receive, send)
            return
        # Inside BodyGuard: the whole body comes in one message. Anything else (a client
        # gone, a body in parts) is passed on as it came.
        message = await receive()
        replay = _replay(message, receive)
        if message["type"] != "http.request" or message.get("more_body", False):
            await self.app(scope, replay, send)
            return
        request = Request(scope, replay)
        target, values = found
        try:
            answered = await self._answer(request, target, values, message, replay, send)
        except Exception as exc:
            # As Starlette's ExceptionMiddleware: the handlers by class, except the one for
            # any Exception, which the outermost middleware runs (and logs the error).
            handlers = {
                kind: handler
                for kind, handler in scope["app"].exception_handlers.items()
                if kind not in (500, Exception)
            }
            handler: Any = _lookup_exception_handler(handlers, exc)
            if handler is None:
                raise
            if is_async_callable(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
            await response(scope, replay, send)
            return
        if not answered:
            await self.app(scope, replay, send)

    async def _answer(
        self,
        request: Request,
        target: _Target,
        values: list[str],
        message: Message,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Answers the command, or returns False for FastAPI's route to answer it."""
        payload = _json_object(request, message.get("body", b""))
        wait = _WAIT.get(request.scope.get("query_string", b""))
        keys = request.headers.getlist("idempotency-key")
        key = keys[0] if len(keys) == 1 else None
        if payload is None or wait is None or len(keys) > 1 or len(key or "") > IDEMPOTENCY_KEY_MAX:
            return False
        try:
            params = _path_params(target.params, values)
            if params is None:
                return False
            body = target.route.body_model.model_validate(payload)
            command = target.route.make(params, body)
        except ValidationError:
            return False
        # What FastAPI's route would refuse it for, before any dependency, has been ruled
        # out; its dependencies follow, in its order: the app's, then the endpoint's.
        await query_at_the_edge(request)
        services = await get_services(request)
        bearer = await _bearer(request)
        request.scope["route"] = target.api_route

        def carry_out() -> Response:
            # The key's holder is looked up on the command's thread: on the event loop
            # its read would hand the GIL to and from that thread mid-command.
            actor = authenticate(services, request, bearer)
            return execute(request, services, actor, command, key, wait, target.route.status)

        if wait or key:
            # It writes to the view store (the key's claim) or waits for it (up to 5 s
            # for the view): another process may hold that for seconds, and the commands'
            # own threads (one on SQLite) must not wait with it.
            response = await run_in_threadpool(carry_out)
        else:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(services.command_threads, carry_out)
        await response(request.scope, receive, send)
        return True


def _path_params(names: tuple[str, ...], values: list[str]) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if name == "case_id":
            params[name] = _UUID.validate_python(value)
        elif name == "order_no" and _ORDER_NO.match(value):
            params[name] = value
        else:
            return None
    return params


def _json_object(request: Request, body: bytes) -> dict[str, Any] | None:
    """The body, if it is a JSON object sent as `application/json` that orjson reads
    (what orjson refuses, Python's parser may still take: FastAPI's route decides)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


def _replay(message: Message, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return message

    return replay
