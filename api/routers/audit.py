"""The audit trail: filtered pages, streamed exports (CSV, JSON Lines), the head digest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.bootstrap import Services
from api.deps import ActorDep, ServicesDep, require_units
from api.errors import PROBLEM_RESPONSES
from domain.values import QueryMoment
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


def audit_filters(
    case_id: CaseQ = None,
    unit: UnitQ = None,
    event_type: TypeQ = None,
    since: QueryMoment | None = None,
    until: QueryMoment | None = None,
) -> dict[str, Any]:
    """The filters every audit query and export takes."""
    return {
        "case_id": case_id,
        "unit": unit,
        "event_type": event_type,
        "since": since,
        "until": until,
    }


FiltersDep = Annotated[dict[str, Any], Depends(audit_filters)]


@router.get("", response_model=AuditPage, summary="Audit entries, filtered, in chain order")
def get_audit(
    actor: ActorDep,
    services: ServicesDep,
    filters: FiltersDep,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    require_units(actor, OFFICE)
    _, _, items = audit_page(services.db, after_seq=after_seq, limit=limit, **filters)
    return AuditPage(items=items, next_after_seq=items[-1]["seq"] if len(items) == limit else None)


@router.get("/head", response_model=AuditHead, summary="The published head digest")
def get_head(actor: ActorDep, services: ServicesDep) -> AuditHead:
    return AuditHead(**audit_head(services.db))


def entries_of(services: Services, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    where, params = audit_filter(**filters)
    # A connection of its own, closed when the stream ends: the stream outlives the request.
    db = services.views()
    try:
        yield from iter_entries(db, AuditProjection(), where, params)
    finally:
        db.close()


Lines = Callable[[Iterable[dict[str, Any]]], Iterator[str] | Iterator[bytes]]
EXPORTS: dict[str, tuple[Lines, str]] = {
    "jsonl": (jsonl_lines, "application/x-ndjson"),
    "csv": (csv_lines, "text/csv"),
}


@router.get(
    "/export.{fmt}",
    summary="The trail as CSV or JSON Lines, streamed",
    response_class=StreamingResponse,
)
def export(
    actor: ActorDep, services: ServicesDep, filters: FiltersDep, fmt: Literal["jsonl", "csv"]
) -> StreamingResponse:
    require_units(actor, OFFICE)
    lines, media_type = EXPORTS[fmt]
    return StreamingResponse(
        lines(entries_of(services, filters)),
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename=audit.{fmt}"},
    )
