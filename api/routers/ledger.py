"""The ledger in Excel: the selected cases as a workbook offices file (the whole ledger
and the three lists, one sheet each), scoped as GET /enterprises is."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import ServicesDep
from api.errors import PROBLEM_RESPONSES
from api.routers.enterprises import State
from api.scope import ScopeDep
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
