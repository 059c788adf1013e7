"""Dependency aliases (Annotated), as FastAPI's full-stack template does it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.bootstrap import Services
from api.errors import ApiError
from domain.values import Actor

_bearer = HTTPBearer(auto_error=False, description="an API key issued to the unit")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_actor(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    x_person: Annotated[
        str | None, Header(max_length=100, description="who at the unit acts")
    ] = None,
) -> Actor:
    presented = bearer.credentials if bearer else api_key
    if not presented:
        raise ApiError(
            401,
            "unauthenticated",
            "an API key is required (Authorization: Bearer)",
            "需要 API 密钥（Authorization: Bearer）",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    unit = services.keys.unit_of(presented)
    if unit is None or unit not in services.app.units:
        raise ApiError(
            401,
            "invalid_key",
            "the API key is unknown or revoked",
            "API 密钥无效或已吊销",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.unit = unit
    return Actor(unit=unit, person=x_person)


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
