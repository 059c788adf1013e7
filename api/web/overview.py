"""The district office's 督办总览 page, and the list behind each of its numbers: the
same overview GET /dashboard returns, rendered, each number a link to its items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.routers.supervision import overview_model
from api.web.pages import render, signed_in
from projections.dashboard import OpenTasks, count_open, open_items
from projections.db import utc_text

router = APIRouter(prefix="/app", include_in_schema=False)
Colour = Literal["red", "yellow", "green"]
LISTED_AT_MOST = 500


@router.get("/overview")
def overview_page(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services, office=True)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    found = overview_model(services, datetime.now(tz=UTC))
    busiest = max((u.red + u.yellow + u.green for u in found.units), default=0)
    weekly_most = max((max(w.listed, w.struck_off) for w in found.weeks), default=0)
    return render(
        request,
        "overview.html",
        session=session,
        unit=unit,
        o=found,
        busiest=busiest or 1,
        weekly_most=weekly_most or 1,
    )


@router.get("/tasks")
def tasks_page(
    request: Request,
    services: ServicesDep,
    unit_id: str | None = Query(None, alias="unit", max_length=64),
    town: str | None = Query(None, max_length=64),
    colour: Colour | None = None,
    due: Literal["soon"] | None = None,
) -> Response:
    """Open items of any unit or town, by colour or due soon (the office's lists)."""
    reader = signed_in(request, services, office=True)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    now = datetime.now(tz=UTC)
    soon = due == "soon"
    chosen = OpenTasks(
        unit=unit_id, town=town, colour=colour,
        due_from=utc_text(now) if soon else None,
        due_before=utc_text(now + timedelta(days=3)) if soon else None,
    )  # fmt: skip
    return render(
        request,
        "tasks.html",
        session=session,
        unit=unit,
        items=open_items(services.db, now, chosen, limit=LISTED_AT_MOST),
        total=count_open(services.db, now, chosen),
        chosen={"unit": unit_id, "town": town, "colour": colour, "due": due},
        now=now,
    )
