"""Dependency aliases (Annotated), as FastAPI's full-stack template does it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Services
from api.errors import ApiError
from api.keys import key_id_of
from domain.values import Actor, edge_problem

_bearer = HTTPBearer(auto_error=False, description="an API key issued to a person of a unit")


# Dependencies that only compute are `async def`: FastAPI runs a plain `def` dependency on
# a worker thread, and each hop there and back cost a request more than the work itself
# (bench_api: about a fifth of the command endpoint's rate).
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _refuse(
    services: Services,
    request: Request,
    status: int,
    code: str,
    detail: str,
    detail_zh: str,
    *,
    key_id: str | None = None,
    unit: str | None = None,
) -> ApiError:
    services.auth_failures.record(_address(request), key_id, code, unit)
    return ApiError(
        status,
        code,
        detail,
        detail_zh,
        field="Authorization",
        rule="one API key of a person of a registered unit",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(
    services: Services, request: Request, bearer: HTTPAuthorizationCredentials | None
) -> Actor:
    """The person acting: the holder of the one key presented. The unit and the person
    both come from the key; nothing the client asserts besides it is trusted. It may
    read the view store (the key's holder): see `get_actor` for where it runs."""
    presented = bearer.credentials if bearer else None
    key_id = key_id_of(presented) if presented else None
    if services.auth_failures.blocked(_address(request), key_id):
        services.auth_failures.record(_address(request), key_id, "throttled", None)
        raise ApiError(
            429,
            "too_many_failures",
            "too many failed authentications from this address or for this key; wait a minute",
            "该地址或密钥认证失败次数过多，请一分钟后再试",
            field="Authorization",
            rule="failed authentication is slowed",
            headers={"Retry-After": "60"},
        )
    if len(request.headers.getlist("authorization")) > 1:
        raise _refuse(
            services,
            request,
            400,
            "ambiguous_credentials",
            "send one Authorization header, not several",
            "只能发送一个 Authorization 请求头",
            key_id=key_id,
        )
    if "x-person" in request.headers:
        raise ApiError(
            400,
            "person_from_key",
            "X-Person is not accepted: the person acting is the holder of the key "
            "(liandong units issue-key UNIT --person NAME)",
            "不接受 X-Person：操作人即密钥持有人（请为本人签发密钥）",
            field="X-Person",
            rule="every actor is a person of a unit, named by the key",
        )
    if not presented:
        raise _refuse(
            services,
            request,
            401,
            "unauthenticated",
            "an API key is required (Authorization: Bearer)",
            "需要 API 密钥（Authorization: Bearer）",
        )
    holder = services.keys.holder_of(presented)
    if holder is None or holder.unit not in services.app.units:
        raise _refuse(
            services,
            request,
            401,
            "invalid_key",
            "the API key is unknown or revoked",
            "API 密钥无效或已吊销",
            key_id=key_id,
            unit=holder.unit if holder else None,
        )
    request.state.unit = holder.unit
    return Actor(unit=holder.unit, person=holder.person)


async def get_actor(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """`authenticate`, on the event loop when the key's lookup is one indexed read (about
    10 us) on a reader that never waits for a writer (an SQLite file: `Database.query`),
    cheaper than a hop to a worker thread and back (about 0.3 ms with the GIL handed
    over). On PostgreSQL the lookup is a round trip, so it goes to a worker thread."""
    if services.keys.looks_up_without_waiting:
        return authenticate(services, request, bearer)
    return await run_in_threadpool(authenticate, services, request, bearer)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_units(
    actor: Actor, *allowed: str, territorial: bool = False, services: Services | None = None
) -> None:
    """Queries reserved to some units (the district office supervises everyone)."""
    if actor.unit in allowed:
        return
    if territorial and services is not None and services.app.units.get(actor.unit).is_territorial:
        return
    raise ApiError(
        403,
        "permission_denied",
        f"{actor.unit!r} may not read this",
        f"{actor.unit!r} 无权查看",
        field="unit",
        rule="rule 1: supervision views are the district office's",
    )


async def query_at_the_edge(request: Request) -> None:
    """Every query parameter obeys the edge rules a command's text does (no NUL, control
    characters or lone surrogates): such a value matches nothing stored, and PostgreSQL
    refuses to be asked about it. Refused with the parameter named, before any route."""
    for name, value in request.query_params.multi_items():
        problem = edge_problem(value) or edge_problem(name)
        if problem:
            raise ApiError(
                422,
                "invalid_input",
                f"{name}: {problem}",
                f"查询参数 {name} 含有控制字符或无效字符",
                field=name,
                rule="edge: text holds no NUL or control characters",
            )
