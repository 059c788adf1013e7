"""The 台账 page: the ledger searched by name, USCC or address and filtered by town,
batch, state, overdue and week, a town seeing its own territory only (as GET
/enterprises decides), with the count of what matches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.web.pages import printable, render, signed_in
from domain.values import CaseState, Disposition
from projections.dashboard import week_bounds
from projections.queries import CaseFilter, count_enterprises, enterprises

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50
Text = Annotated[str, Query(max_length=100)]


@router.get("/ledger")
def ledger_page(
    request: Request,
    services: ServicesDep,
    q: Text = "",
    town: Text = "",
    disposition: Text = "",
    state: Text = "",
    overdue: Text = "",
    listed_week: Text = "",
    struck_week: Text = "",
    cursor: Text = "",
) -> Response:
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    towns = services.app.units.territories()
    # A town reads its own territory only, whatever it asks for (DOMAIN.md 12).
    chosen_town = unit.id if unit.is_territorial else (town if town in towns else "")
    dispositions = [d.value for d in Disposition] + ["unclassified"]
    states = [s.value for s in CaseState]
    chosen = CaseFilter(
        town=chosen_town or None,
        disposition=disposition if disposition in dispositions else None,
        state=state if state in states else None,
        overdue=True if overdue == "on" else None,
        search=printable(q) or None,
        listed=week_bounds(listed_week) if listed_week else None,
        struck_off=week_bounds(struck_week) if struck_week else None,
    )
    now = datetime.now(tz=UTC)
    page = enterprises(services.db, now, chosen=chosen, cursor=cursor or None, limit=PAGE)
    query = {
        k: v
        for k, v in {
            "q": chosen.search or "", "town": chosen.town or "", "disposition": chosen.disposition
            or ("unclassified" if disposition == "unclassified" else ""),
            "state": chosen.state or "", "overdue": "on" if chosen.overdue else "",
            "listed_week": listed_week if chosen.listed else "",
            "struck_week": struck_week if chosen.struck_off else "",
        }.items()
        if v
    }  # fmt: skip
    return render(
        request,
        "ledger.html",
        session=session,
        unit=unit,
        items=page.items,
        next_cursor=page.next_cursor,
        total=count_enterprises(services.db, now, chosen),
        towns=[] if unit.is_territorial else towns,
        dispositions=dispositions,
        states=states,
        query=query,
    )
