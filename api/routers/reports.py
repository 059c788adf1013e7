"""The weekly and monthly 督办 reports (GET /reports/2026-W48, .xlsx, .pdf).

The district office and the departments read the whole district; a town or platform
reads its own row and its own unit's; a utility reads none (403)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.bootstrap import Services
from api.deps import ServicesDep
from api.documents.names import Namer, unit_names
from api.documents.pdf import NoChineseFont, chinese_font
from api.documents.report_files import report_pdf, report_xlsx
from api.errors import PROBLEM_RESPONSES, ApiError
from api.scope import ReadScope, ScopeDep
from projections.reports import Figures, Period, Report, parse_period, report

router = APIRouter(tags=["supervision"], responses=PROBLEM_RESPONSES)

PeriodText = Annotated[
    str,
    Path(
        min_length=7,
        max_length=8,
        description="an ISO week (2026-W48) or a month (2026-11), district time",
    ),
]
TownFilter = Annotated[
    str | None, Query(max_length=64, description="only this town (the district office)")
]
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class FiguresModel(BaseModel):
    key: str = Field(description="the town's or unit's id")
    name: str = Field(description="its Chinese name")
    listed: int
    classified: int
    struck_off: int
    relapses: int
    orders_executed: int
    actions: int
    tasks_assigned: int
    tasks_done: int
    done_on_time: int
    overdue: int
    on_time_rate: float | None


class ReportModel(BaseModel):
    period: str
    kind: Literal["week", "month"]
    starts: datetime
    ends: datetime
    as_of: datetime = Field(description="the period's end, or now while it runs")
    towns: list[FiguresModel]
    units: list[FiguresModel]
    total: FiguresModel


def period_of(text: str) -> Period:
    period = parse_period(text)
    if period is None:
        raise ApiError(
            422,
            "invalid_input",
            f"period {text!r} is neither a week (2026-W48) nor a month (2026-11)",
            f"报告期 {text!r} 应为周（如 2026-W48）或月（如 2026-11）",
            field="period",
            rule="a report covers an ISO week or a calendar month",
        )
    return period


def build(services: Services, scope: ReadScope, text: str, town: str | None) -> Report:
    scope.require_not_utility()
    period = period_of(text)
    if town is not None and town not in services.app.units.territories():
        raise ApiError(
            422,
            "invalid_input",
            f"town {town!r} is not a town, subdistrict or platform",
            f"{town!r} 不是镇街或平台",
            field="town",
            rule="towns are listed in the units registry",
        )
    return report(services.db, period, datetime.now(UTC), town=scope.town or town)


def as_model(row: Figures, name: Namer) -> FiguresModel:
    return FiguresModel(name=name(row.key), on_time_rate=row.on_time_rate, **asdict(row))


@router.get(
    "/reports/{period}.{fmt}",
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
    summary="The period's 督办 report as an Excel workbook or a PDF (with charts)",
)
def report_file(
    period: PeriodText,
    fmt: Literal["xlsx", "pdf"],
    scope: ScopeDep,
    services: ServicesDep,
    town: TownFilter = None,
) -> Response:
    made = build(services, scope, period, town)
    if fmt == "xlsx":
        content = report_xlsx(made, unit_names(services.app.units))
    else:
        try:
            font = chinese_font(services.settings.pdf_font)
        except NoChineseFont as missing:
            raise ApiError(
                503, "unavailable", str(missing), "服务器未安装中文字体，无法生成 PDF"
            ) from missing
        content = report_pdf(made, unit_names(services.app.units), font)
    kind = "周报" if made.period.kind == "week" else "月报"
    chosen = scope.town or town
    stem = f"report-{made.period.name}" + (f"-{chosen.replace(':', '-')}" if chosen else "")
    name = f"督办{kind}-{stem[7:]}.{fmt}"
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{stem}.{fmt}"; '
            f"filename*=UTF-8''{quote(name)}"
        },
    )


@router.get(
    "/reports/{period}",
    response_model=ReportModel,
    summary="The period's 督办 figures per town and per unit",
)
def report_figures(
    period: PeriodText, scope: ScopeDep, services: ServicesDep, town: TownFilter = None
) -> ReportModel:
    made = build(services, scope, period, town)
    name = unit_names(services.app.units)
    return ReportModel(
        period=made.period.name,
        kind="week" if made.period.kind == "week" else "month",
        starts=made.period.starts,
        ends=made.period.ends,
        as_of=made.as_of,
        towns=[as_model(r, name) for r in made.towns],
        units=[as_model(r, name) for r in made.units],
        total=as_model(made.total, name),
    )
