"""The district office's views: per-unit accountability and town ledgers (DOMAIN.md 9)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ActorDep, ServicesDep, require_units
from api.errors import PROBLEM_RESPONSES
from domain.values import QueryMoment
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
