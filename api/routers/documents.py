"""Printable notices of a case (GET /enterprises/{id}/documents, then .../{version}.pdf):
the 停产整治通知书 and the 督办单, each made from its recorded event and carrying its
audit entry's hash. Read like the case: a town its own territory's, no utility."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.documents.names import unit_names
from api.documents.notices import PRINTABLE, AuditEntry, document_number, notice_pdf
from api.documents.pdf import NoChineseFont, chinese_font
from api.errors import PROBLEM_RESPONSES, ApiError
from api.routers.enterprises import require_visible
from api.scope import ScopeDep
from api.web.naming import duty_words
from domain.events import CaseEvent, SupervisionNoticeIssued
from projections.audit import AuditProjection

router = APIRouter(tags=["enterprises"], responses=PROBLEM_RESPONSES)


class PrintableDocument(BaseModel):
    version: int = Field(description="the event's version in the case")
    kind: str = Field(description="suspension_notice or supervision_notice")
    title: str
    document_number: str = Field(description="文号 (a 督办单 without one: by its audit entry)")
    at: datetime
    url: str
    on_the_trail: bool = Field(description="its audit entry is chained (the PDF can be made)")


def audit_entry(services: Any, case_id: UUID, version: int) -> AuditEntry | None:
    rows = services.db.query(
        f"SELECT seq, entry_hash FROM {AuditProjection().t('entries')} "
        "WHERE case_id = ? AND event_id = ?",
        (str(case_id), f"{case_id}/{version}"),
    )
    return AuditEntry(int(rows[0][0]), rows[0][1]) if rows else None


def printable(services: Any, scope: Any, case_id: UUID) -> tuple[Any, list[CaseEvent]]:
    scope.require_full_reader(case_id)
    case = services.app.get_case(case_id)
    require_visible(scope, case)
    events = [e for e in services.app.history(case_id) if type(e) in PRINTABLE]
    return case, events


@router.get(
    "/enterprises/{case_id}/documents",
    response_model=list[PrintableDocument],
    summary="The case's printable notices (停产整治通知书, 督办单)",
)
def documents(case_id: UUID, scope: ScopeDep, services: ServicesDep) -> list[PrintableDocument]:
    _, events = printable(services, scope, case_id)
    found = []
    for event in events:
        kind, title = PRINTABLE[type(event)]
        entry = audit_entry(services, case_id, event.originator_version)
        found.append(
            PrintableDocument(
                version=event.originator_version,
                kind=kind,
                title=title,
                document_number=document_number(event, entry or AuditEntry(0, ""))
                if entry or event.document_number
                else "",
                at=event.timestamp,
                url=f"/enterprises/{case_id}/documents/{event.originator_version}.pdf",
                on_the_trail=entry is not None,
            )
        )
    return found


@router.get(
    "/enterprises/{case_id}/documents/{version}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="One printable notice as PDF, with its audit entry's hash",
)
def document(
    case_id: UUID,
    version: Annotated[int, Path(ge=1, le=10_000_000)],
    scope: ScopeDep,
    services: ServicesDep,
) -> Response:
    _, events = printable(services, scope, case_id)
    event = next((e for e in events if e.originator_version == version), None)
    if event is None:
        raise ApiError(
            404,
            "not_found",
            f"event {version} of this case is not a printable notice",
            "该事件不是可打印的通知",
            field="version",
            rule="printable: suspension orders and supervision notices",
        )
    entry = audit_entry(services, case_id, version)
    deadline = time.monotonic() + 2.0  # the audit view is usually a moment behind
    while entry is None and time.monotonic() < deadline:
        time.sleep(0.05)
        entry = audit_entry(services, case_id, version)
    if entry is None:
        raise ApiError(
            503,
            "unavailable",
            "the notice is not on the audit trail yet; retry in a moment",
            "该通知尚未写入审计链，请稍后重试",
            headers={"Retry-After": "2"},
        )
    try:
        font = chinese_font(services.settings.pdf_font)
    except NoChineseFont as missing:
        raise ApiError(503, "unavailable", str(missing), "服务器未安装中文字体") from missing
    as_then = services.app.case_as_of(case_id, event.timestamp)
    extra: dict[str, Any] = {}
    if isinstance(event, SupervisionNoticeIssued):
        task = as_then.tasks.get(event.notice.task_id)
        if task is not None:
            title, duty = duty_words(task.completes_on.value, task.duty, "zh")
            # The recorded specifics beside the title, when they are in Chinese.
            extra["duty"] = f"{title}（{duty}）" if duty and not duty.isascii() else title
    content = notice_pdf(event, as_then, entry, unit_names(services.app.units), font, extra)
    kind, _ = PRINTABLE[type(event)]
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{kind}-{case_id}-{version}.pdf"'},
    )
