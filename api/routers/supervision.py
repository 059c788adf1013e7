"""The district office's views: per-unit accountability and town ledgers (DOMAIN.md 9)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ActorDep, ServicesDep, require_units
from api.errors import PROBLEM_RESPONSES
from domain.values import QueryMoment
from projections.queries import accountability, town_ledgers

router = APIRouter(tags=["supervision"], responses=PROBLEM_RESPONSES)
OFFICE = "district-office"


@router.get("/accountability", summary="Per unit: assigned, on time, late, open, overdue")
def get_accountability(
    actor: ActorDep,
    services: ServicesDep,
    at: Annotated[QueryMoment | None, Query(description="evaluate overdue at this time")] = None,
) -> list[dict[str, Any]]:
    require_units(actor, OFFICE)
    now = at if at and at.tzinfo else datetime.now(tz=UTC)
    return [dataclasses.asdict(a) for a in accountability(services.db, now)]


@router.get("/towns", summary="Per town: the three lists, counts, patrols, 销号, relapses")
def get_towns(actor: ActorDep, services: ServicesDep) -> list[dict[str, Any]]:
    require_units(actor, OFFICE, territorial=True, services=services)
    ledgers = town_ledgers(services.db)
    if actor.unit != OFFICE:
        ledgers = [t for t in ledgers if t["town"] == actor.unit]
    return ledgers
