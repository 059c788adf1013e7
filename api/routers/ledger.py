"""The ledger in Excel: the selected cases as a workbook offices file (the whole ledger
and the three lists, one sheet each), scoped as GET /enterprises is; the template a
town fills in; and the import of a town's workbook (a dry run, or each row listed once)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES, ApiError
from api.routers.enterprises import State
from api.scope import ScopeDep
from domain.actions import Action
from domain.values import Actor
from gateways.ledger_import import ImportReport, import_ledger, report_lines
from gateways.ledger_sheet import read_sheet
from gateways.ledger_template import template_workbook
from projections.dashboard import DISTRICT_TIME
from projections.ledger_xlsx import export_ledger, write_ledger
from projections.queries import CaseFilter

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=PROBLEM_RESPONSES)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024


def town_names(services: Any) -> dict[str, str]:
    return {u.id: u.name_zh for u in services.app.units.all()}


def listed_between(since: date | None, until: date | None) -> tuple[datetime, datetime] | None:
    """[since, until] as district days, for the listing date."""
    if since is None and until is None:
        return None
    first, last = date(1970, 1, 1), date(9998, 12, 31)  # days any moment can be stored at
    start = datetime.combine(min(max(since or first, first), last), time(), DISTRICT_TIME)
    end = datetime.combine(min(max(until or last, first), last), time(), DISTRICT_TIME)
    return start, end + timedelta(days=1)


def workbook_response(
    services: Any, chosen: CaseFilter | None, name: str = "ledger"
) -> StreamingResponse:
    """Writes the workbook to a temporary file (constant memory), then streams it; the
    file is closed (and so removed) when the stream ends. `chosen` None: no case."""
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (it outlives this call)
    try:
        names = town_names(services)
        if chosen is None:
            write_ledger(iter(()), spool, names)
        else:
            export_ledger(services.db, datetime.now(tz=UTC), chosen, spool, names)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def chunks() -> Iterator[bytes]:
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    return StreamingResponse(
        chunks(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get(
    "/export.xlsx",
    summary="The ledger and the three lists as an Excel workbook",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX: {}}}},
)
def export_xlsx(
    scope: ScopeDep,
    services: ServicesDep,
    town: Annotated[str | None, Query(max_length=64)] = None,
    disposition: Literal["relocate", "rectify", "close", "unclassified"] | None = None,
    state: State | None = None,
    listed_since: Annotated[
        date | None, Query(description="listed on or after (district day)")
    ] = None,
    listed_until: Annotated[date | None, Query(description="listed on or before")] = None,
) -> StreamingResponse:
    scope.require_not_utility()  # a utility reads its own orders only
    if scope.town is not None and town not in (None, scope.town):
        return workbook_response(services, None)  # another territory: nothing, as a list
    chosen = CaseFilter(
        town=scope.town or town,
        disposition=disposition,
        state=state,
        listed=listed_between(listed_since, listed_until),
    )
    return workbook_response(services, chosen)


@router.get(
    "/template.xlsx",
    summary="The ledger template a town fills in, with an explanation of each column",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def template(scope: ScopeDep) -> Response:
    return Response(
        template_workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="ledger-template.xlsx"'},
    )


class RowProblem(BaseModel):
    column: str
    reason: str = Field(description="in Chinese, as the office reads it")


class ImportedRow(BaseModel):
    row: int = Field(description="the row's number in the sheet")
    outcome: Literal["new", "listed", "already", "error"] = Field(
        description="new: would be listed (dry run); listed; already on the ledger; error"
    )
    name: str
    case_id: UUID | None
    problems: list[RowProblem]


class ImportReportView(BaseModel):
    sheet: str
    header_row: int
    columns: dict[str, str] = Field(description="field -> the header as written")
    unknown_columns: list[str] = Field(description="not recognised, not imported")
    not_imported_columns: list[str] = Field(description="the system's own (state, batch...)")
    committed: bool
    counts: dict[str, int]
    rows: list[ImportedRow]
    report: list[str] = Field(description="the report as lines of Chinese text")


def report_view(report: ImportReport) -> ImportReportView:
    return ImportReportView(
        sheet=report.sheet,
        header_row=report.header_row,
        columns=report.columns,
        unknown_columns=report.unknown_columns,
        not_imported_columns=report.not_imported_columns,
        committed=report.committed,
        counts={k: report.count(k) for k in ("new", "listed", "already", "error")},
        rows=[
            ImportedRow(
                row=r.row,
                outcome=r.outcome,
                name=r.name,
                case_id=r.case_id,
                problems=[RowProblem(column=c, reason=why) for c, why in r.problems],
            )
            for r in report.rows
        ],
        report=report_lines(report),
    )


def run_import(
    services: Any, actor: Actor, town: str, content: bytes, filename: str, commit: bool
) -> ImportReport:
    """Reads and imports one uploaded file; an unreadable one is a 422 naming `file`."""
    services.app.units.require(actor.unit, Action.LIST_ENTERPRISE)
    if town not in services.app.units.territories():
        raise ApiError(
            422, "invalid_input", f"{town!r} is not a town", f"{town!r} 不是登记的镇街",
            field="town", rule="towns are listed in the units registry",
        )  # fmt: skip
    services.app.units.require_territory(actor.unit, town)
    try:
        sheet = read_sheet(content, filename)
    except Exception as unreadable:  # a broken or foreign file: calamine's errors vary
        raise ApiError(
            422, "invalid_input", f"file: not a readable ledger ({unreadable})",
            f"文件无法读取为台账：{unreadable}", field="file",
            rule="a ledger is .xlsx, .xls, .ods or .csv with a header row",
        ) from None  # fmt: skip
    return import_ledger(services.app, actor, town, sheet, commit=commit)


@router.post(
    "/import",
    response_model=ImportReportView,
    summary="Import a town's ledger (.xlsx, .xls, .ods, .csv): a dry run, or list each row",
)
def post_import(
    actor: ActorDep,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="the ledger workbook")],
    town: Annotated[str, Query(min_length=1, max_length=64)],
    dry_run: Annotated[bool, Query(description="report only; record nothing")] = True,
) -> ImportReportView:
    content = file.file.read()
    report = run_import(services, actor, town, content, file.filename or "", not dry_run)
    return report_view(report)
