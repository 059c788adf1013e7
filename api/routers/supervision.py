"""The district office's views: per-unit accountability and town ledgers (DOMAIN.md 9)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ActorDep, ServicesDep, require_units
from api.errors import PROBLEM_RESPONSES
from domain.values import QueryMoment
from projections.dashboard import overview
from projections.queries import accountability, town_ledgers

router = APIRouter(tags=["supervision"], responses=PROBLEM_RESPONSES)
OFFICE = "district-office"


class UnitAccountabilityView(BaseModel):
    unit: str
    assigned: int = Field(description="tasks ever assigned to the unit")
    done_on_time: int
    done_late: int
    open: int
    overdue_now: int
    overdue_seconds_total: int
    overdue_seconds_max: int
    median_seconds_to_act: float | None
    notices_received: int = Field(description="supervision notices (督办) received")
    notices_answered: int
    notices_overdue_now: int = Field(description="unanswered past their respond_by")
    disputes_raised: int
    escalation: dict[str, int] = Field(description="open tasks per colour")


class ListedCase(BaseModel):
    case_id: str
    name: str
    state: str


class TownLedger(BaseModel):
    town: str
    listed: int
    by_disposition: dict[str, int]
    by_state: dict[str, int]
    lists: dict[str, list[ListedCase]] = Field(description="三个一批: relocate, rectify, close")
    from_patrols: int = Field(description="cases listed from a patrol's findings")
    struck_off: int
    relapses: int


class UnitLightsView(BaseModel):
    unit: str
    red: int = Field(description="open tasks past their deadline")
    yellow: int
    green: int
    done_on_time: int
    done_late: int
    on_time_rate: float | None = Field(description="done on time / done; null: none done")


class TownLightsView(BaseModel):
    town: str
    listed: int
    struck_off: int
    red: int = Field(description="open tasks on the town's cases, of every unit")
    yellow: int
    green: int
    by_disposition: dict[str, int]


class OverviewItem(BaseModel):
    case_id: str
    case_name: str
    town: str
    task_id: str
    unit: str
    duty: str
    completes_on: str = Field(description="the action that completes it")
    kind: str
    deadline: datetime
    overdue_seconds: int


class WeekView(BaseModel):
    week: str = Field(description="ISO week in district time, e.g. 2026-W48")
    starts: date
    listed: int
    struck_off: int


class Overview(BaseModel):
    at: datetime
    units: list[UnitLightsView]
    towns: list[TownLightsView]
    overdue: list[OverviewItem] = Field(description="the oldest overdue items first")
    overdue_total: int
    due_soon: list[OverviewItem] = Field(description="deadlines in the next 3 days")
    due_soon_total: int
    batches: dict[str, int] = Field(description="三个一批: relocate, rectify, close, unclassified")
    struck_off: int
    listed: int
    weeks: list[WeekView] = Field(description="cases listed and struck off per week")


def overview_model(services: Any, now: datetime) -> Overview:
    found = overview(services.db, now)
    return Overview.model_validate(
        {
            **dataclasses.asdict(found),
            "units": [
                {**dataclasses.asdict(u), "on_time_rate": u.on_time_rate} for u in found.units
            ],
        }
    )


@router.get(
    "/dashboard",
    response_model=Overview,
    summary="督办总览: lights per unit and town, overdue, due soon, batches, weeks",
)
def get_dashboard(
    actor: ActorDep,
    services: ServicesDep,
    at: Annotated[QueryMoment | None, Query(description="evaluate lights at this time")] = None,
) -> Overview:
    require_units(actor, OFFICE)
    return overview_model(services, at if at and at.tzinfo else datetime.now(tz=UTC))


@router.get(
    "/accountability",
    response_model=list[UnitAccountabilityView],
    summary="Per unit: assigned, on time, late, open, overdue",
)
def get_accountability(
    actor: ActorDep,
    services: ServicesDep,
    at: Annotated[QueryMoment | None, Query(description="evaluate overdue at this time")] = None,
) -> list[UnitAccountabilityView]:
    require_units(actor, OFFICE)
    now = at if at and at.tzinfo else datetime.now(tz=UTC)
    return [
        UnitAccountabilityView.model_validate(dataclasses.asdict(a))
        for a in accountability(services.db, now)
    ]


@router.get(
    "/towns",
    response_model=list[TownLedger],
    summary="Per town: the three lists, counts, patrols, 销号, relapses",
)
def get_towns(actor: ActorDep, services: ServicesDep) -> list[TownLedger]:
    require_units(actor, OFFICE, territorial=True, services=services)
    ledgers = town_ledgers(services.db)
    if actor.unit != OFFICE:
        ledgers = [t for t in ledgers if t["town"] == actor.unit]
    return [TownLedger.model_validate(t) for t in ledgers]
