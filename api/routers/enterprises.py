"""Enterprises: the status view, one case with its timeline, its state as of a past time,
and the approval-lock check every department can call before approving."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.enterprise_models import EnterpriseDetail, EnterprisePage, UtilityCaseView
from api.errors import PROBLEM_RESPONSES, ApiError
from api.scope import ReadScope, ScopeDep
from domain.application import no_such_case
from domain.case import Case
from domain.uscc import uscc_problem
from domain.values import QueryMoment
from projections.queries import enterprise, enterprises

router = APIRouter(tags=["enterprises"], responses=PROBLEM_RESPONSES)

Disposition = Literal["relocate", "rectify", "close"]
State = Literal[
    "listed",
    "classified",
    "suspended",
    "acceptance_requested",
    "accepted",
    "closure_verified",
    "struck_off",
    "reopened",
    "withdrawn",
]


class TimelineEntry(BaseModel):
    version: int
    event: str
    at: datetime
    unit: str
    person: str | None
    action: str | None
    note: str
    legal_basis: str
    document_number: str
    evidence: list[str] = Field(description="SHA-256 of each piece of evidence")


class ApprovalLock(BaseModel):
    case_id: UUID | None
    locked: bool
    may_approve: bool = Field(description="false: 不予核准、审批和备案")
    reason: str


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


@router.get(
    "/enterprises",
    response_model=EnterprisePage,
    response_model_exclude_unset=True,
    summary="Cases on the ledger, filtered, with cursor pagination",
)
def list_enterprises(
    scope: ScopeDep,
    services: ServicesDep,
    town: Annotated[str | None, Query(max_length=64)] = None,
    disposition: Disposition | None = None,
    state: State | None = None,
    overdue: Annotated[bool | None, Query(description="with a task past its deadline")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="text in name, USCC or address")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EnterprisePage:
    if scope.town is not None and town not in (None, scope.town):
        return EnterprisePage(items=[], next_cursor=None)  # another territory: nothing
    page = enterprises(
        services.db,
        now_utc(),
        town=scope.town or town,
        disposition=disposition,
        state=state,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
        with_orders_for=scope.utility,
        search=q,
    )
    items = page.items
    if scope.utility is not None:
        items = [
            scope.minimal_for_utility(enterprise(services.db, i["case_id"], now_utc()) or i)
            for i in items
        ]
    return EnterprisePage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/enterprises/{case_id}",
    response_model=EnterpriseDetail | UtilityCaseView,
    # What the case's source holds, and nothing else (a utility sees its own supply only).
    response_model_exclude_unset=True,
    summary="One case: its status, or its state as of a time",
)
def get_enterprise(
    case_id: UUID,
    scope: ScopeDep,
    services: ServicesDep,
    as_of: Annotated[
        QueryMoment | None,
        Query(description="time travel: the case as it stood then (from the event store)"),
    ] = None,
) -> dict[str, Any]:
    if as_of is not None:
        if as_of.tzinfo is None:
            raise ApiError(
                422,
                "invalid_input",
                "as_of must carry a time zone",
                "as_of 必须带时区",
                field="as_of",
                rule="times are unambiguous",
            )
        scope.require_full_reader(case_id)
        # Who may see it is decided on the case as it is (a town never changes), before
        # travelling: a missing case and a hidden one then answer alike.
        require_visible(scope, services.app.get_case(case_id))
        return snapshot(services.app.case_as_of(case_id, as_of))
    view = enterprise(services.db, str(case_id), now_utc())
    if view is None:
        # Not (yet) in the status view: answer from the event store, which is authoritative.
        current = snapshot(services.app.get_case(case_id))
    else:
        current = {**view, "source": "view"}
    scope.require_town(case_id, current["town"], current.get("destination_park"))
    return scope.minimal_for_utility(current) if scope.utility else current


@router.get(
    "/enterprises/{case_id}/timeline",
    response_model=list[TimelineEntry],
    summary="Every event of a case, in order",
)
def timeline(case_id: UUID, scope: ScopeDep, services: ServicesDep) -> list[TimelineEntry]:
    scope.require_full_reader(case_id)
    require_visible(scope, services.app.get_case(case_id))
    history = services.app.history(case_id)
    return [
        TimelineEntry(
            version=e.originator_version,
            event=type(e).__name__,
            at=e.timestamp,
            unit=e.actor.unit,
            person=e.actor.person,
            action=e.action.value if e.action else None,
            note=e.note,
            legal_basis=e.legal_basis,
            document_number=e.document_number,
            evidence=[x.sha256 for x in e.evidence],
        )
        for e in history
    ]


@router.get(
    "/approval-lock",
    response_model=ApprovalLock,
    summary="May I approve, permit or file for this enterprise?",
)
def approval_lock(
    scope: ScopeDep,
    services: ServicesDep,
    uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    case_id: UUID | None = None,
    town: Annotated[
        str | None, Query(max_length=64, description="a new applicant's town (with address)")
    ] = None,
    address: Annotated[
        str | None, Query(min_length=1, max_length=300, description="a new applicant's address")
    ] = None,
) -> ApprovalLock:
    """Answers for an enterprise on the ledger (by USCC or case), and for a new applicant
    not on it: inside a 四山 control area the district office keeps, it is not approved."""
    if case_id is None and uscc is None and (town is None or address is None):
        raise ApiError(
            422,
            "invalid_input",
            "give uscc or case_id, or a new applicant's town and address",
            "请提供 uscc 或 case_id，或新申请人的镇街和地址",
            field="uscc",
            rule="one of uscc, case_id, town and address",
        )
    scope.require_not_utility()  # approvals are the departments' and towns' business
    if case_id is None and uscc is None:
        return applicant_lock(services, town or "", address or "")
    if case_id is None:
        assert uscc is not None
        problem = uscc_problem(uscc)
        if problem and not problem.startswith("check character"):
            raise ApiError(
                422,
                "invalid_input",
                f"uscc: {problem}",
                f"统一社会信用代码：{problem}",
                field="uscc",
                rule="rule 2: GB 32100-2015",
            )
        case_id = services.app.case_for_uscc(uscc)
        if case_id is None:
            if town is not None and address is not None:
                return applicant_lock(services, town, address)
            return ApprovalLock(
                case_id=None, locked=False, may_approve=True, reason="not on the 散乱污 ledger"
            )
    case = services.app.get_case(case_id)
    if not services.app.may_see(scope.unit, case):
        if uscc is None:
            raise no_such_case(case_id)
        # Listed in another territory: to this town it is not on its ledger.
        return ApprovalLock(
            case_id=None, locked=False, may_approve=True, reason="not on the 散乱污 ledger"
        )
    reason = (
        f"listed on the ledger ({case.state.value}"
        + (f", {case.disposition.value}" if case.disposition else "")
        + ")"
    )
    return ApprovalLock(
        case_id=case.id,
        locked=case.approval_lock,
        may_approve=not case.approval_lock,
        reason=reason if case.approval_lock else "acceptance passed: lock lifted",
    )


def require_visible(scope: ReadScope, case: Case) -> None:
    park = case.destination.park if case.destination else None
    scope.require_town(case.id, case.town, park)


def applicant_lock(services: Any, town: str, address: str) -> ApprovalLock:
    """七: a new applicant inside a 四山 control area is not approved or registered."""
    areas = services.app.control_areas()
    area = areas.area_for(town, address) if areas else None
    if area is None:
        return ApprovalLock(
            case_id=None,
            locked=False,
            may_approve=True,
            reason="not on the 散乱污 ledger, and in no 四山 control area",
        )
    return ApprovalLock(
        case_id=None,
        locked=True,
        may_approve=False,
        reason=f"inside the 四山 control area {area.area_id} ({area.name}): new production "
        "enterprises are not approved or registered",
    )


def snapshot(case: Case) -> dict[str, Any]:
    """A case's full state from the event store (time travel and fresh reads): the status
    view's fields, and more."""
    assert case.enterprise is not None
    e = case.enterprise
    return {
        "source": "event_store",
        "case_id": str(case.id),
        "version": case.version,
        "as_of": case.modified_on,
        "name": e.name,
        "uscc": e.uscc,
        "address": e.address,
        "town": e.town,
        "industry": e.industry,
        "licensed": e.licensed,
        "enterprise": e.model_dump(mode="json"),
        "disposition": case.disposition,
        "state": case.state,
        "deadline": case.deadline,
        "classified_by": case.classified_by,
        "concurred_by": case.concurred_by,
        "approval_lock": case.approval_lock,
        "licence_revoked": case.licence_revoked,
        "revocation_requested": case.revocation_requested,
        "suspension_ordered": case.suspension_ordered,
        "refused_to_stop": case.refused_to_stop,
        "unauthorized_resumption": case.unauthorized_resumption,
        "acceptance_failed": case.acceptance_failed,
        "destination_park": case.destination.park if case.destination else None,
        "destination": case.destination.model_dump(mode="json") if case.destination else None,
        "park_entry_confirmed": case.park_entry_confirmed,
        "found_by_patrol": str(case.found_by_patrol) if case.found_by_patrol else None,
        "relapses": case.relapses,
        "listed_at": case.created_on,
        "struck_off_at": case.struck_off_at,
        **{f"supply_{u.value}": s.state.value for u, s in case.supplies.items()},
        "supplies": {u.value: s.model_dump(mode="json") for u, s in case.supplies.items()},
        "open_tasks": [t.model_dump(mode="json") for t in case.open_tasks()],
        "problems": [p.model_dump(mode="json") for p in case.problems.values()],
        "tasks": [t.model_dump(mode="json") for t in case.tasks.values()],
        "orders": [o.model_dump(mode="json") for o in case.orders.values()],
        "incidents": [i.model_dump(mode="json") for i in case.incidents.values()],
        "served_notices": [n.model_dump(mode="json") for n in case.served.values()],
        "acceptance": case.acceptance.model_dump(mode="json") if case.acceptance else None,
        "strike_off_blockers": case.strike_off_blockers(),
    }
