"""The 审计 page (the district office's): the audit trail searched by case, unit, type
and time, its chain head, exports of the selection, and how to verify one offline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import ServicesDep
from api.routers.audit import EXPORTS, entries_of
from api.web.dossier import parse_local
from api.web.pages import printable, render, signed_in
from projections.queries import audit_head, audit_page

router = APIRouter(prefix="/app", include_in_schema=False)
PAGE = 100
Text = Annotated[str, Query(max_length=64)]


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def _as_fields(filters: dict[str, Any]) -> dict[str, str]:
    """The filters as the page's fields show them again."""
    moment = _moment
    return {
        "case_id": filters["case_id"] or "",
        "unit": filters["unit"] or "",
        "type": filters["event_type"] or "",
        "since": moment(filters["since"]),
        "until": moment(filters["until"]),
    }


def page_filters(
    case_id: Text = "",
    unit: Text = "",
    kind: Annotated[str, Query(alias="type", max_length=64)] = "",
    since: Text = "",
    until: Text = "",
) -> dict[str, Any]:
    """The audit route's filters from the page's fields; what is not valid is dropped
    (a case id must be one, times are district time)."""
    try:
        case = str(UUID(case_id)) if case_id.strip() else None
    except ValueError:
        case = None
    return {
        "case_id": case,
        "unit": printable(unit) or None,
        "event_type": printable(kind) or None,
        "since": parse_local(since) if since else None,
        "until": parse_local(until) if until else None,
    }


FiltersDep = Annotated[dict[str, Any], Depends(page_filters)]


@router.get("/audit")
def audit_trail_page(
    request: Request,
    services: ServicesDep,
    filters: FiltersDep,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Response:
    reader = signed_in(request, services, office=True)
    if isinstance(reader, Response):
        return reader
    session, me = reader
    _, _, items = audit_page(services.db, after_seq=after_seq, limit=PAGE, **filters)
    fields = _as_fields(filters)
    return render(
        request,
        "audit.html",
        session=session,
        unit=me,
        items=items,
        head=audit_head(services.db),
        fields=fields,
        query={k: v for k, v in fields.items() if v},
        next_after=items[-1]["seq"] if len(items) == PAGE else None,
    )


@router.get("/audit/export.{fmt}")
def audit_export(
    fmt: Literal["jsonl", "csv"], request: Request, services: ServicesDep, filters: FiltersDep
) -> Response:
    """The selection exported on the session, streamed as GET /audit/export.{fmt} is."""
    reader = signed_in(request, services, office=True)
    if isinstance(reader, Response):
        return reader
    lines, media_type = EXPORTS[fmt]
    return StreamingResponse(
        lines(entries_of(services, filters)),
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename=audit.{fmt}"},
    )
