"""The 企业档案 page: one enterprise's record (status, supplies, approval lock, problems,
tasks, orders, acceptance rounds with their reasons, evidence and the timeline), with a
time slider that shows the case as it stood after any of its events, or at any moment.

Read from the event store, as GET /enterprises/{id}?as_of= is; who sees what is
decided as the API decides it (a utility sees its own supply and orders only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.bootstrap import Services
from api.deps import ServicesDep
from api.documents.notices import PRINTABLE
from api.web.acting import visible_case
from api.web.forms import DISTRICT_TIME
from api.web.i18n import Lang, command_title
from api.web.naming import actions_of
from api.web.pages import lang_of, render, signed_in
from domain import commands as c
from domain.case import Case
from domain.errors import NotFound
from domain.events import (
    AcceptanceFailed,
    AcceptancePassed,
    AcceptanceRequested,
    AcceptanceSigned,
    CaseEvent,
)
from domain.values import Utility

router = APIRouter(prefix="/app", include_in_schema=False)
NOT_FROM_PAGES = frozenset({"remind-task"})  # the reminders process sends these


def may_do(services: Services, unit_id: str, lang: Lang) -> list[tuple[str, str]]:
    """The case commands the unit's role permits: (slug, title)."""
    actions = services.app.units.actions_of(unit_id)
    return [
        (k.slug, command_title(k.slug, lang))
        for k in c.CASE_COMMANDS
        if k.slug not in NOT_FROM_PAGES and actions_of(k) & actions
    ]


def acceptance_rounds(events: list[CaseEvent]) -> list[dict[str, Any]]:
    """Each acceptance round: who had to sign, who signed, who failed it and why."""
    rounds: dict[int, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, AcceptanceRequested):
            a = e.acceptance
            rounds[a.round] = {
                "round": a.round, "required": a.required, "at": e.timestamp,
                "signed": [], "failed": [], "outcome": None,
            }  # fmt: skip
        elif isinstance(e, AcceptanceSigned) and e.round in rounds:
            rounds[e.round]["signed"].append(e.unit)
        elif isinstance(e, AcceptanceFailed) and e.round in rounds:
            rounds[e.round]["failed"].append({"unit": e.unit, "reasons": e.reasons})
            rounds[e.round]["outcome"] = "failed"
        elif isinstance(e, AcceptancePassed) and e.round in rounds:
            rounds[e.round]["outcome"] = "passed"
    return list(rounds.values())


def held_files(services: Services, events: list[CaseEvent]) -> dict[str, bool]:
    """Of the evidence cited, the files held here: hash to whether it has a thumbnail."""
    held: dict[str, bool] = {}
    for x in {x.sha256: x for e in events for x in e.evidence}.values():
        about = services.evidence.about(x.sha256)
        if about is not None:
            held[x.sha256] = about.media_type.startswith("image/") and about.media_type != (
                "image/heic"
            )
    return held


def parse_local(text: str) -> datetime | None:
    """A datetime-local value read as district time (None if it is not one)."""
    try:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=DISTRICT_TIME)
        moment.astimezone(UTC)  # one at the calendar's very edge has no UTC time
    except (ValueError, OverflowError):
        return None
    return moment


@router.get("/enterprises/{case_id}")
def record_page(
    case_id: UUID,
    request: Request,
    services: ServicesDep,
    event: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    as_of: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    reader = signed_in(request, services)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    current = visible_case(services, unit.id, case_id)
    if current is None:  # DOMAIN.md 12: outside one's reach, as if it did not exist
        return render(request, "refused.html", 404, session=session, unit=unit)
    now = datetime.now(tz=UTC)
    if unit.kind == "utility":
        return render(
            request, "record_utility.html", session=session, unit=unit, case=current,
            supply=current.supplies.get(Utility(unit.id)),
            orders=[o for o in current.orders.values() if o.utility == unit.id],
        )  # fmt: skip
    history = services.app.history(case_id)
    shown: Case = current
    moment = parse_local(as_of) if as_of else None
    if moment is not None:  # a moment typed in wins over the slider's position
        try:
            shown = services.app.case_as_of(case_id, moment)
        except NotFound:  # before the listing: the case as first listed
            shown = services.app.get_case(case_id, version=1)
    elif event is not None and event < current.version:
        shown = services.app.get_case(case_id, version=event)
    upto = [e for e in history if e.originator_version <= shown.version]
    lang = lang_of(request)
    return render(
        request,
        "record.html",
        session=session,
        unit=unit,
        case=shown,
        travelled=shown.version < current.version,
        history=history,
        upto=upto,
        rounds=acceptance_rounds(upto),
        evidence=[(e, x) for e in upto for x in e.evidence],
        held=held_files(services, upto),
        documents=[
            (e.originator_version, PRINTABLE[type(e)][1], e.document_number, e.timestamp)
            for e in upto
            if type(e) in PRINTABLE
        ],
        now=now,
        colour=lambda task: task.clock.escalation(now).value,
        may_do=may_do(services, unit.id, lang) if shown.version == current.version else [],
        as_of=as_of if moment else "",
    )
