"""The 台账 page: the ledger searched by name, USCC or address and filtered by town,
batch, state, overdue and week, a town seeing its own territory only (as GET
/enterprises decides), with the count of what matches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.routers.ledger import workbook_response
from api.web.pages import printable, render, signed_in
from domain.units import Unit
from domain.values import CaseState, Disposition
from projections.dashboard import week_bounds
from projections.queries import CaseFilter, count_enterprises, enterprises

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 50
Text = Annotated[str, Query(max_length=100)]


DISPOSITIONS = [d.value for d in Disposition] + ["unclassified"]
STATES = [s.value for s in CaseState]


@dataclass(frozen=True)
class LedgerQuery:
    """The ledger page's filters as typed in; what is not valid is dropped."""

    q: str = ""
    town: str = ""
    disposition: str = ""
    state: str = ""
    overdue: str = ""
    listed_week: str = ""
    struck_week: str = ""

    def chosen(self, unit: Unit, towns: list[str]) -> CaseFilter:
        # A town reads its own territory only, whatever it asks for (DOMAIN.md 12).
        town = unit.id if unit.is_territorial else (self.town if self.town in towns else "")
        return CaseFilter(
            town=town or None,
            disposition=self.disposition if self.disposition in DISPOSITIONS else None,
            state=self.state if self.state in STATES else None,
            overdue=True if self.overdue == "on" else None,
            search=printable(self.q) or None,
            listed=week_bounds(self.listed_week) if self.listed_week else None,
            struck_off=week_bounds(self.struck_week) if self.struck_week else None,
        )


def ledger_query(
    q: Text = "",
    town: Text = "",
    disposition: Text = "",
    state: Text = "",
    overdue: Text = "",
    listed_week: Text = "",
    struck_week: Text = "",
) -> LedgerQuery:
    return LedgerQuery(q, town, disposition, state, overdue, listed_week, struck_week)


QueryDep = Annotated[LedgerQuery, Depends(ledger_query)]


@router.get("/ledger")
def ledger_page(
    request: Request, services: ServicesDep, asked: QueryDep, cursor: Text = ""
) -> Response:
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    towns = services.app.units.territories()
    chosen = asked.chosen(unit, towns)
    disposition, listed_week, struck_week = asked.disposition, asked.listed_week, asked.struck_week
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
        dispositions=DISPOSITIONS,
        states=STATES,
        query=query,
    )


@router.get("/ledger/export.xlsx")
def ledger_export(request: Request, services: ServicesDep, asked: QueryDep) -> Response:
    """What the ledger page shows, as the Excel workbook of GET /ledger/export.xlsx."""
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    _, unit = reader
    return workbook_response(services, asked.chosen(unit, services.app.units.territories()))
