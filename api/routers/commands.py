"""POST endpoints, one per command of the domain (generated from domain/commands.py, so
the API cannot drift from the command API; each command's URL is its written-out `slug`,
and tests/api/test_routes.py pins the list). Each takes `Idempotency-Key` and, with
`?wait=true`, returns only once the view that shows the command has it (read-your-writes).

No `from __future__ import annotations` here: the generated endpoints' annotations
must be real classes for FastAPI to read them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES, ApiError
from api.idempotency import Stored
from domain import commands as c
from domain.application import RequestKey
from domain.errors import ConcurrencyConflict
from domain.values import Actor
from projections.queries import wait_for_case, wait_for_patrol

router = APIRouter(responses=PROBLEM_RESPONSES)

IDEMPOTENCY_KEY_MAX = 200
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=IDEMPOTENCY_KEY_MAX,
        description="makes a retried POST return the original result and record nothing new",
    ),
]
Wait = Annotated[bool, Query(description="wait (up to 5 s) until the status view shows it")]


class CommandResponse(BaseModel):
    aggregate_id: UUID = Field(description="the case (or patrol) the command acted on")
    version: int = Field(description="the case's version after the command")
    position: int = Field(description="position of its last event in the log")
    events: int = Field(description="events recorded (0 for a redelivered receipt)")
    created: dict[str, Any] = Field(description="ids of what the command created")
    visible: bool | None = Field(
        default=None, description="with ?wait=true: the status view shows it"
    )


def body_of(command: type[c.Command], skip: set[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in command.model_fields.items() if name not in skip
    }
    model: type[BaseModel] = create_model(
        f"{command.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        __doc__=command.__doc__,
        **fields,
    )
    return model


def execute(
    request: Request,
    services: Any,
    actor: Actor,
    command: c.Command,
    key: str | None,
    wait: bool,
    status: int = 200,
) -> Response:
    """Carries out one command. With `wait`, waits for the view that shows what it acted
    on: a case's status, a patrol's row; what is read from the event store itself (the
    四山 control areas) is visible at once."""
    if len(request.headers.getlist("idempotency-key")) > 1:
        # Which one would count? Neither: a retry must be recognisable by its one key.
        raise ApiError(
            400,
            "ambiguous_idempotency_key",
            "send one Idempotency-Key header, not several",
            "只能发送一个 Idempotency-Key 请求头",
            field="Idempotency-Key",
            rule="one Idempotency-Key per request",
        )
    request_key = None
    if key:
        fingerprint = services.idempotency.fingerprint(
            request.method, request.url.path, command.model_dump_json().encode()
        )
        request_key = RequestKey(key, fingerprint, status)
        stored = services.idempotency.begin(
            actor.unit, key, fingerprint, recover=lambda: recorded(services, actor.unit, key)
        )
        if stored is not None:
            return replay(stored)
    try:
        result = services.app.handle(actor, command, request_key)
    except ConcurrencyConflict:
        # The same request may have been carried out meanwhile by another worker that
        # took over a stale claim: then its result is the answer.
        found = recorded(services, actor.unit, key) if key else None
        if key and found is not None and found.fingerprint == fingerprint:
            services.idempotency.finish(actor.unit, key, found.status, found.body)
            return replay(found)
        if key:
            services.idempotency.forget(actor.unit, key)
        raise
    except BaseException:
        if key:
            services.idempotency.forget(actor.unit, key)
        raise
    body = CommandResponse(
        aggregate_id=result.aggregate_id,
        version=result.version,
        position=result.position,
        events=result.events,
        created=result.created,
    )
    if wait:
        body.visible = visible(services, command, result.aggregate_id, result.version)
    content = body.model_dump(mode="json")
    if key:
        services.idempotency.finish(actor.unit, key, status, content)
    return _json(content, status)


def visible(
    services: Any, command: c.Command, aggregate_id: UUID, version: int, timeout_s: float = 5.0
) -> bool:
    if isinstance(command, c.RecordPatrol):
        return wait_for_patrol(services.db, str(aggregate_id), timeout_s)
    if isinstance(command, (c.DefineControlArea, c.RemoveControlArea, c.RefuseRegistration)):
        return True  # read from the event store, which has it already
    return wait_for_case(services.db, str(aggregate_id), version, timeout_s)


def replay(stored: Stored) -> Response:
    return _json(stored.body, stored.status, {"Idempotent-Replay": "true"})


def _json(content: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """The answer as it goes out, built here: a `Response` returned from an endpoint skips
    FastAPI's validation of the return value against `response_model`, which for a sync
    endpoint is one more hop to a worker thread and back (about a tenth of a command's
    CPU). The declared model still documents it; tests/api pin the shape."""
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def recorded(services: Any, unit: str, key: str) -> Stored | None:
    """The result of a keyed request as the event store recorded it, if it was carried out
    (its events and its record were saved in one transaction)."""
    handled = services.app.find_request(unit, key)
    if handled is None:
        return None
    body = CommandResponse(
        aggregate_id=handled.aggregate_id,
        version=handled.version,
        position=services.app.request_position(handled),
        events=handled.events,
        created=handled.created,
    )
    return Stored(handled.status, body.model_dump(mode="json"), handled.fingerprint)


ORDER_NO = r"^O[0-9]{1,9}$"


@dataclass(frozen=True)
class CommandRoute:
    """One command's endpoint, as `api.direct_commands` answers it too: how the command
    is made from the path's parameters and the body, in one place for both."""

    path: str
    command: type[c.Command]
    body_model: type[BaseModel]
    make: Callable[[dict[str, Any], BaseModel], c.Command]
    status: int


COMMAND_ROUTES: list[CommandRoute] = []


def _register(
    command: type[c.Command],
    endpoint: Any,
    body_model: type[BaseModel],
    path: str,
    make: Callable[[dict[str, Any], BaseModel], c.Command],
    status: int = 200,
    **route: Any,
) -> None:
    """Adds a generated endpoint, its body annotated with the command's own body model."""
    endpoint.__annotations__["body"] = body_model
    route.setdefault("summary", (command.__doc__ or command.__name__).strip().splitlines()[0])
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        response_model=CommandResponse,
        name=command.__name__,
        status_code=status,
        **route,
    )
    COMMAND_ROUTES.append(CommandRoute(path, command, body_model, make, status))


def _case_endpoint(command: type[c.CaseCommand]) -> None:
    def make(params: dict[str, Any], body: BaseModel) -> c.Command:
        return command.model_validate({"case_id": params["case_id"], **body.model_dump()})

    async def endpoint(
        case_id: UUID,
        body: Any,
        request: Request,
        actor: ActorDep,
        services: ServicesDep,
        key: IdempotencyKey = None,
        wait: Wait = False,
    ) -> Any:
        cmd = make({"case_id": case_id}, body)
        return await run_in_threadpool(execute, request, services, actor, cmd, key, wait)

    _register(
        command,
        endpoint,
        body_of(command, {"case_id"}),
        f"/cases/{{case_id}}/{command.slug}",
        make,
        tags=["commands"],
        description=f"Action `{command.action.value}`. Refused with 403 unless the unit "
        "may post it (DOMAIN.md section 3), in its own territory for towns.",
    )


def _order_endpoint(command: type[c.OrderCommand]) -> None:
    verb = command.slug

    def make(params: dict[str, Any], body: BaseModel) -> c.Command:
        order_id = f"{params['case_id']}/{params['order_no']}"
        return command.model_validate({"order_id": order_id, **body.model_dump()})

    async def endpoint(
        case_id: UUID,
        order_no: Annotated[str, Path(pattern=ORDER_NO)],
        body: Any,
        request: Request,
        actor: ActorDep,
        services: ServicesDep,
        key: IdempotencyKey = None,
        wait: Wait = False,
    ) -> Any:
        cmd = make({"case_id": case_id, "order_no": order_no}, body)
        return await run_in_threadpool(execute, request, services, actor, cmd, key, wait)

    _register(
        command,
        endpoint,
        body_of(command, {"order_id"}),
        f"/orders/{{case_id}}/{{order_no}}/{verb}",
        make,
        tags=["utility orders"],
        summary=f"{verb} a utility order (rule 5: by the utility addressed, exactly once)",
    )


def _creating_endpoint(command: type[c.Command], path: str, tag: str) -> None:
    def make(params: dict[str, Any], body: BaseModel) -> c.Command:
        return command.model_validate(body.model_dump())

    async def endpoint(
        body: Any,
        request: Request,
        actor: ActorDep,
        services: ServicesDep,
        key: IdempotencyKey = None,
        wait: Wait = False,
    ) -> Any:
        cmd = make({}, body)
        return await run_in_threadpool(
            execute, request, services, actor, cmd, key, wait, status=201
        )

    _register(command, endpoint, body_of(command, set()), path, make, 201, tags=[tag])


_creating_endpoint(c.ListEnterprise, "/cases", "commands")
_creating_endpoint(c.RecordPatrol, "/patrols", "commands")
_creating_endpoint(c.DefineControlArea, "/control-areas", "四山 control areas")
_creating_endpoint(c.RemoveControlArea, "/control-areas/removals", "四山 control areas")
_creating_endpoint(c.RefuseRegistration, "/registration-refusals", "四山 control areas")
for _command in c.CASE_COMMANDS:
    _case_endpoint(_command)
for _order_command in c.ORDER_COMMANDS:
    _order_endpoint(_order_command)
