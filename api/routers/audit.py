"""The audit trail: filtered pages, streamed exports (CSV, JSON Lines), the head digest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import ActorDep, ServicesDep, require_units
from api.errors import PROBLEM_RESPONSES
from projections.audit import AuditProjection, iter_entries
from projections.export import csv_lines, jsonl_lines
from projections.queries import audit_filter, audit_head, audit_page

router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
OFFICE = "district-office"


class AuditPage(BaseModel):
    items: list[dict[str, Any]]
    next_after_seq: int | None


class AuditHead(BaseModel):
    entries: int
    position: int
    head: str


CaseQ = Annotated[str | None, Query(max_length=64)]
UnitQ = Annotated[str | None, Query(max_length=64)]
TypeQ = Annotated[
    str | None, Query(alias="type", max_length=64, description="event type or action")
]


@router.get("", response_model=AuditPage, summary="Audit entries, filtered, in chain order")
def get_audit(
    actor: ActorDep,
    services: ServicesDep,
    case_id: CaseQ = None,
    unit: UnitQ = None,
    event_type: TypeQ = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    require_units(actor, OFFICE)
    _, _, items = audit_page(
        services.db,
        case_id=case_id,
        unit=unit,
        event_type=event_type,
        since=since,
        until=until,
        after_seq=after_seq,
        limit=limit,
    )
    return AuditPage(items=items, next_after_seq=items[-1]["seq"] if len(items) == limit else None)


@router.get("/head", response_model=AuditHead, summary="The published head digest")
def get_head(actor: ActorDep, services: ServicesDep) -> AuditHead:
    return AuditHead(**audit_head(services.db))


def _entries(services: Any, **filters: Any) -> Any:
    where, params = audit_filter(**filters)
    # A connection of its own: the stream outlives the request's dependencies.
    return iter_entries(services.views(), AuditProjection(), where, params)


@router.get(
    "/export.jsonl", summary="The trail as JSON Lines, streamed", response_class=StreamingResponse
)
def export_jsonl(
    actor: ActorDep,
    services: ServicesDep,
    case_id: CaseQ = None,
    unit: UnitQ = None,
    event_type: TypeQ = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    require_units(actor, OFFICE)
    entries = _entries(
        services, case_id=case_id, unit=unit, event_type=event_type, since=since, until=until
    )
    return StreamingResponse(
        jsonl_lines(entries),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": "attachment; filename=audit.jsonl"},
    )


@router.get("/export.csv", summary="The trail as CSV, streamed", response_class=StreamingResponse)
def export_csv(
    actor: ActorDep,
    services: ServicesDep,
    case_id: CaseQ = None,
    unit: UnitQ = None,
    event_type: TypeQ = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    require_units(actor, OFFICE)
    entries = _entries(
        services, case_id=case_id, unit=unit, event_type=event_type, since=since, until=until
    )
    return StreamingResponse(
        csv_lines(entries),
        media_type="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )
