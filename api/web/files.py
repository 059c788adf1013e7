"""Files in the workbench: evidence (upload, open, thumbnails), the printable notices of a
case, and the 督办 reports, on the signed-in session. Each page answers exactly as its
REST route does for the same unit: the same scope, the same file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.deps import ServicesDep
from api.errors import ApiError
from api.routers import documents, evidence, reports
from api.scope import scope_of
from api.web.pages import render, signed_in
from domain.values import Actor
from projections.dashboard import DISTRICT_TIME, iso_week
from projections.reports import parse_period

router = APIRouter(prefix="/app", include_in_schema=False)
Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]


def _answer(request: Request, services: Any, make: Any) -> Response:
    """The REST route's answer for the signed-in unit; its refusals as pages."""
    reader = signed_in(request, services)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    try:
        answer: Response = make(scope_of(services, unit.id))
    except ApiError as refused:
        page = "refused.html"
        return render(request, page, refused.status, session=session, unit=unit)
    return answer


@router.get("/evidence/{sha256}")
def evidence_file(sha256: Sha256, request: Request, services: ServicesDep) -> Response:
    return _answer(request, services, lambda scope: evidence.download(sha256, scope, services))


@router.get("/evidence/{sha256}/thumbnail")
def evidence_thumbnail(sha256: Sha256, request: Request, services: ServicesDep) -> Response:
    return _answer(request, services, lambda scope: evidence.small_picture(sha256, scope, services))


@router.get("/enterprises/{case_id}/documents/{version}.pdf")
def notice(
    case_id: UUID,
    version: Annotated[int, Path(ge=1, le=10_000_000)],
    request: Request,
    services: ServicesDep,
) -> Response:
    return _answer(
        request, services, lambda scope: documents.document(case_id, version, scope, services)
    )


@router.get("/reports/{period}.{fmt}")
def report_file(
    period: Annotated[str, Path(min_length=7, max_length=8)],
    fmt: Literal["xlsx", "pdf"],
    request: Request,
    services: ServicesDep,
) -> Response:
    return _answer(
        request, services, lambda scope: reports.report_file(period, fmt, scope, services)
    )


def report_periods(now: datetime) -> list[tuple[str, str]]:
    """The periods offered for download: this week and last, this month and last."""
    this_week, _ = iso_week(now)
    last_week, _ = iso_week(now - timedelta(days=7))
    local = now.astimezone(DISTRICT_TIME)
    first = local.replace(day=1)
    previous = first - timedelta(days=1)
    return [
        (this_week, "本周"),
        (last_week, "上周"),
        (f"{local.year}-{local.month:02d}", "本月"),
        (f"{previous.year}-{previous.month:02d}", "上月"),
    ]


@router.get("/evidence")
def upload_page(request: Request, services: ServicesDep, held: str = "") -> Response:
    reader = signed_in(request, services)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    about = None
    if len(held) == 64 and all(ch in "0123456789abcdef" for ch in held):
        about = services.evidence.about(held)
    return render(
        request,
        "evidence.html",
        session=session,
        unit=unit,
        held=about,
        thumbnail=bool(about and services.evidence.thumbnail(about.sha256)),
        limit_mib=services.settings.evidence_max_bytes // 1_048_576,
    )


@router.post("/evidence")
async def upload(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    form = await request.form(max_files=1, max_fields=4)
    try:
        csrf = form.get("csrf")
        if not session.csrf_matches(csrf if isinstance(csrf, str) else None):
            return Response("CSRF token missing or wrong", status_code=403)
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return render(
                request, "evidence.html", 422, session=session, unit=unit, held=None,
                error="请选择要上传的文件", limit_mib=services.settings.evidence_max_bytes >> 20,
            )  # fmt: skip
        actor = Actor(unit=unit.id, person=session.person)
        try:
            receipt = await run_in_threadpool(evidence.keep, file, actor, services)
        except ApiError as refused:
            return render(
                request, "evidence.html", refused.status, session=session, unit=unit,
                held=None, error=refused.detail_zh + f"（{refused.detail}）",
                limit_mib=services.settings.evidence_max_bytes >> 20,
            )  # fmt: skip
    finally:
        await form.close()
    return RedirectResponse(f"/app/evidence?held={receipt.sha256}", status_code=303)


@router.get("/reports")
def reports_page(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services, utility=False)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    return render(
        request,
        "reports.html",
        session=session,
        unit=unit,
        periods=report_periods(datetime.now(tz=UTC)),
    )


@router.get("/reports/go")
def report_chosen(
    request: Request,
    services: ServicesDep,
    period: Annotated[str, Query(max_length=8)] = "",
    fmt: Literal["xlsx", "pdf"] = "pdf",
) -> Response:
    """The form's choice, as the address of its file (a period it is not: the 422 page)."""
    if parse_period(period) is None:
        return _answer(request, services, lambda _: reports.period_of(period))
    return RedirectResponse(f"/app/reports/{period}.{fmt}", status_code=303)
