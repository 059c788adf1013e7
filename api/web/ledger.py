"""The 台账 page: the ledger searched by name, USCC or address and filtered by town,
batch, state, overdue and week, a town seeing its own territory only (as GET
/enterprises decides), with the count of what matches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from api.deps import ServicesDep
from api.errors import ApiError, status_of
from api.routers.ledger import XLSX, run_import, workbook_response
from api.web.pages import printable, render, signed_in
from api.web.sessions import Session
from domain.actions import Action
from domain.errors import DomainError
from domain.units import Unit
from domain.values import Actor, CaseState, Disposition
from gateways.ledger_import import ImportReport, report_lines
from gateways.ledger_template import template_workbook
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
        may_import=services.app.units.permits(unit.id, Action.LIST_ENTERPRISE),
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


@router.get("/ledger/template.xlsx")
def ledger_template(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    return Response(
        template_workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="ledger-template.xlsx"'},
    )


def _import_page(
    request: Request,
    services: Any,
    session: Session,
    unit: Unit,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    units = services.app.units
    towns = [unit.id] if unit.is_territorial else units.territories()
    return render(
        request, "ledger_import.html", status, session=session, unit=unit, towns=towns,
        report=report, lines=report_lines(report) if report else [], error=error,
    )  # fmt: skip


@router.get("/ledger/import")
def ledger_import_page(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    return _import_page(request, services, *reader)


@router.post("/ledger/import")
async def ledger_import_post(request: Request, services: ServicesDep) -> Response:
    """The workbook uploaded from the page, imported as POST /ledger/import does it."""
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    form = await request.form()
    if not session.csrf_matches(str(form.get("csrf", ""))):
        return Response("CSRF token missing or wrong", status_code=403)
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload):
        return _import_page(request, services, session, unit, error="请选择文件", status=422)
    content = await upload.read()
    town, commit = str(form.get("town", "")), form.get("commit") == "on"
    actor = Actor(unit=session.unit, person=session.person)
    try:
        report = await run_in_threadpool(
            run_import, services, actor, town, content, upload.filename or "", commit
        )
    except (ApiError, DomainError) as refused:
        text = refused.detail_zh if isinstance(refused, ApiError) else refused.message_zh
        status = refused.status if isinstance(refused, ApiError) else status_of(refused)
        return _import_page(request, services, session, unit, error=text, status=status)
    return _import_page(request, services, session, unit, report=report)
