"""Patrols (巡查) per town, with what each found, and the 四山 control areas the district
office keeps (read from the event store, where they are recorded)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.errors import PROBLEM_RESPONSES
from api.scope import ScopeDep
from projections.queries import patrols

router = APIRouter(responses=PROBLEM_RESPONSES)


class ListedFromPatrol(BaseModel):
    case_id: str
    name: str
    state: str


class PatrolView(BaseModel):
    patrol_id: str
    town: str
    patrol_date: date
    area: str
    findings: str
    evidence: int = Field(description="pieces of evidence recorded")
    recorded_by: str
    recorded_at: str
    listed: list[ListedFromPatrol] = Field(description="enterprises listed from this patrol")


class PatrolPage(BaseModel):
    items: list[PatrolView]
    next_cursor: str | None


class ControlAreaView(BaseModel):
    area_id: str
    name: str
    town: str
    places: list[str]


@router.get(
    "/patrols",
    response_model=PatrolPage,
    tags=["patrols"],
    summary="Patrols, newest first, with the enterprises listed from each",
)
def list_patrols(
    scope: ScopeDep,
    services: ServicesDep,
    town: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[date | None, Query(description="patrols on or after this day")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PatrolPage:
    scope.require_not_utility()
    if scope.town is not None:
        town = scope.town  # a town reads its own patrols only
    page = patrols(
        services.db,
        town=town,
        since=since.isoformat() if since else None,
        cursor=cursor,
        limit=limit,
    )
    return PatrolPage(
        items=[PatrolView.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/control-areas",
    response_model=list[ControlAreaView],
    tags=["四山 control areas"],
    summary="The 四山 control areas the district office keeps",
)
def list_control_areas(scope: ScopeDep, services: ServicesDep) -> list[ControlAreaView]:
    scope.require_not_utility()
    areas = services.app.control_areas()
    found = list(areas.areas.values()) if areas else []
    return [
        ControlAreaView(area_id=a.area_id, name=a.name, town=a.town, places=list(a.places))
        for a in found
        if scope.town is None or a.town == scope.town
    ]
