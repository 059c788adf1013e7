"""Every (unit, action) pair over HTTP: the permitted ones succeed; every other gets 403
and records nothing (DOMAIN.md section 3, rule 1).

For each action a preparer puts a fresh case into the state that action needs, in the
acting unit's own territory when the unit is a town, and returns the request.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain import commands as c
from domain.actions import Action
from domain.application import CommandResult, Liandong
from domain.consumption import Reading
from domain.linkage import PROBLEM_LEAD
from domain.units import default_registry
from domain.values import Actor, Evidence, IncidentKind, ProblemKind, Utility
from tests.api.conftest import Api

REGISTRY = default_registry()
UNITS = [u.id for u in REGISTRY.all()]
HOME = "town:degan"
PROOF = [{"sha256": hashlib.sha256(b"proof").hexdigest(), "locator": "s3://e/proof.jpg"}]
Request = tuple[str, dict[str, Any]]
_serial = itertools.count(1)


class Prep:
    """Builds the state an action needs, through the domain (fast), for one acting unit."""

    def __init__(self, app: Liandong, unit: str) -> None:
        self.app, self.unit = app, unit
        self.town = unit if REGISTRY.get(unit).is_territorial else HOME

    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def later(self, days: float = 20) -> str:
        return (self.now() + timedelta(days=days)).isoformat()

    def do(self, unit: str, command: c.Command) -> CommandResult:
        return self.app.handle(Actor(unit=unit), command)

    def case(
        self,
        connections: tuple[Utility, ...] = (),
        problems: tuple[ProblemKind, ...] = (),
        licensed: bool = False,
    ) -> UUID:
        return self.do(
            self.town,
            c.ListEnterprise(
                name=f"企业{next(_serial)}",
                address="a",
                town=self.town,
                licensed=licensed,
                connections=tuple(c.Connection(utility=u) for u in connections),
                problems=tuple(c.ProblemInput(kind=k, description="p") for k in problems),
            ),
        ).aggregate_id

    def classified(self, disposition: str, **kwargs: Any) -> UUID:
        case_id = self.case(**kwargs)
        self.do(
            "economy",
            c.Classify(
                case_id=case_id,
                disposition=disposition,
                reason="r",
                deadline=self.now() + timedelta(days=30),
            ),
        )
        return case_id

    def suspended(self, disposition: str = "rectify", **kwargs: Any) -> UUID:
        case_id = self.classified(disposition, **kwargs)
        self.do(self.town, c.OrderSuspension(case_id=case_id, document_number="d"))
        return case_id

    def lead_kind(self) -> ProblemKind:
        """A problem the acting unit leads (the town may record any)."""
        led = [k for k, lead in PROBLEM_LEAD.items() if lead == self.unit]
        return led[0] if led else ProblemKind.FIRE_HAZARD

    def acceptance_requested(self) -> UUID:
        case_id = self.suspended(problems=(self.lead_kind(),))
        self.do(self.town, c.RequestAcceptance(case_id=case_id, evidence=c_evidence()))
        return case_id

    def resumed(self) -> UUID:
        case_id = self.suspended()
        self.do(self.town, c.ReportUnauthorizedResumption(case_id=case_id, evidence=c_evidence()))
        return case_id

    def order(self, utility: Utility, requester: str | None = None) -> tuple[UUID, str]:
        case_id = self.classified("close", connections=(utility,))
        requester = (
            requester or {"power": "economy", "water": "housing", "gas": self.town}[utility.value]
        )
        result = self.do(
            requester,
            c.RequestUtilityOrder(
                case_id=case_id,
                utility=utility,
                kind="cut",
                grounds="close_classification",
                document_number="o",
                deadline=self.now() + timedelta(days=3),
            ),
        )
        return case_id, str(result.created["id"])

    def struck_off(self) -> UUID:
        case_id = self.suspended(problems=(ProblemKind.FIRE_HAZARD,))
        self.do(self.town, c.RequestAcceptance(case_id=case_id, evidence=c_evidence()))
        for signer in ("fire", self.town):
            self.do(signer, c.SignAcceptance(case_id=case_id, passed=True))
        self.do(self.town, c.StrikeOff(case_id=case_id))
        return case_id

    def struck_off_ready(self) -> UUID:
        case_id = self.suspended(problems=(ProblemKind.FIRE_HAZARD,))
        self.do(self.town, c.RequestAcceptance(case_id=case_id, evidence=c_evidence()))
        for signer in ("fire", self.town):
            self.do(signer, c.SignAcceptance(case_id=case_id, passed=True))
        return case_id

    def task_for(self, unit: str) -> tuple[UUID, str]:
        """A case with an open task of `unit` (reassigned to it by arbitration if needed)."""
        case_id = self.classified("close", connections=(Utility.POWER,))
        case = self.app.get_case(case_id)
        task = next(t for t in case.open_tasks() if t.unit == "economy")
        if unit != "economy":
            dispute = self.do(
                "economy", c.RaiseDispute(case_id=case_id, task_id=task.task_id, reason="not ours")
            )
            self.do(
                "district-office",
                c.ArbitrateDispute(
                    case_id=case_id,
                    dispute_id=dispute.created["id"],
                    responsible_unit=unit,
                    reason="ruled",
                ),
            )
        return case_id, task.task_id


def c_evidence() -> tuple[Evidence, ...]:
    return (Evidence(sha256=PROOF[0]["sha256"], locator=PROOF[0]["locator"]),)


def incident(kind: IncidentKind) -> Callable[[Prep], Request]:
    def prepare(p: Prep) -> Request:
        return (f"/cases/{p.case()}/record-incident", {"kind": kind.value, "summary": "s"})

    return prepare


def close_incident(kind: IncidentKind, opener: str) -> Callable[[Prep], Request]:
    def prepare(p: Prep) -> Request:
        case_id = p.case()
        opened = p.do(opener, c.RecordIncident(case_id=case_id, kind=kind, summary="s"))
        return (
            f"/cases/{case_id}/close-incident",
            {"kind": kind.value, "incident_id": opened.created["id"], "resolution": "r"},
        )

    return prepare


def order_request(utility: Utility) -> Callable[[Prep], Request]:
    def prepare(p: Prep) -> Request:
        case_id = p.classified("close", connections=(utility,))
        return (
            f"/cases/{case_id}/request-utility-order",
            {
                "utility": utility.value,
                "kind": "cut",
                "grounds": "close_classification",
                "document_number": "o",
                "deadline": p.later(3),
            },
        )

    return prepare


def order_receipt(verb: str, body: dict[str, Any]) -> Callable[[Prep], Request]:
    def prepare(p: Prep) -> Request:
        utility = Utility(p.unit) if p.unit in ("power", "water", "gas") else Utility.POWER
        case_id, order_id = p.order(utility)
        return f"/orders/{case_id}/{order_id.split('/')[1]}/{verb}", body

    return prepare


def cancel_order(p: Prep) -> Request:
    requester = p.unit if p.unit in ("economy", "housing") or p.unit == p.town else "economy"
    utility = {"economy": Utility.POWER, "housing": Utility.WATER}.get(requester, Utility.GAS)
    case_id, order_id = p.order(utility, requester)
    return f"/orders/{case_id}/{order_id.split('/')[1]}/cancel", {"reason": "r"}


def consumption_flag(p: Prep) -> Request:
    case_id = p.suspended(connections=(Utility.POWER,))
    flagged = p.do(
        "power",
        c.ReportConsumption(
            case_id=case_id, readings=(Reading(day=date(2021, 1, 1), day_kwh=1, night_kwh=50),)
        ),
    )
    return (
        f"/cases/{case_id}/verify-consumption-flag",
        {"flag_id": flagged.created["ids"][0], "resumed": False, "evidence": PROOF},
    )


def support(p: Prep) -> Request:
    case_id = p.resumed()
    named = p.unit if not REGISTRY.get(p.unit).is_territorial else "police"
    op = p.do(
        p.town,
        c.LaunchJointEnforcement(
            case_id=case_id,
            units=(named,),
            planned_for=p.now() + timedelta(days=1),
            document_number="j",
        ),
    )
    return f"/cases/{case_id}/support-joint-enforcement", {"operation_id": op.created["id"]}


def answer_notice(p: Prep) -> Request:
    case_id, task_id = p.task_for(p.unit)
    notice = p.do(
        "district-office",
        c.IssueSupervisionNotice(
            case_id=case_id, task_id=task_id, respond_by=p.now() + timedelta(days=2), note="n"
        ),
    )
    return (
        f"/cases/{case_id}/answer-supervision-notice",
        {"notice_id": notice.created["id"], "answer": "done"},
    )


def raise_dispute(p: Prep) -> Request:
    case_id, task_id = p.task_for(p.unit)
    return f"/cases/{case_id}/raise-dispute", {"task_id": task_id, "reason": "not ours"}


def correct(p: Prep) -> Request:
    if REGISTRY.get(p.unit).is_territorial or p.unit == "district-office":
        case_id, version = p.case(), 1
    else:
        case_id, task_id = p.task_for(p.unit)
        p.do(p.unit, c.RaiseDispute(case_id=case_id, task_id=task_id, reason="x"))
        version = p.app.get_case(case_id).version
    return (
        f"/cases/{case_id}/correct-record",
        {"corrects_version": version, "reason": "typo", "changes": {"contact": "李"}},
    )


def sign(p: Prep) -> Request:
    return f"/cases/{p.acceptance_requested()}/sign-acceptance", {"passed": True}


def dispute_to_arbitrate(p: Prep) -> Request:
    case_id, task_id = p.task_for("economy")
    dispute = p.do("economy", c.RaiseDispute(case_id=case_id, task_id=task_id, reason="x"))
    return (
        f"/cases/{case_id}/arbitrate-dispute",
        {"dispute_id": dispute.created["id"], "responsible_unit": "housing", "reason": "r"},
    )


PREPARE: dict[Action, Callable[[Prep], Request]] = {
    Action.LIST_ENTERPRISE: lambda p: ("/cases", {"name": "n", "address": "a", "town": p.town}),
    Action.RECORD_PATROL: lambda p: (
        "/patrols",
        {"town": p.town, "patrol_date": "2021-11-01", "area": "a", "findings": "f"},
    ),
    Action.CLASSIFY: lambda p: (
        f"/cases/{p.case()}/classify",
        {"disposition": "rectify", "reason": "r", "deadline": p.later()},
    ),
    Action.RECORD_PROBLEM: lambda p: (
        f"/cases/{p.case()}/record-problem",
        {"kind": p.lead_kind().value, "description": "d"},
    ),
    Action.DENY_APPROVAL: lambda p: (
        f"/cases/{p.case()}/deny-approval",
        {"approval_kind": "filing", "application_ref": "a", "reason": "r"},
    ),
    Action.GRANT_PERMIT: lambda p: (
        f"/cases/{p.suspended()}/grant-permit",
        {"permit": "eia", "document_number": "e"},
    ),
    Action.REVOKE_LICENCE: lambda p: (
        f"/cases/{p.classified('close', licensed=True)}/revoke-licence",
        {"document_number": "d", "legal_basis": "l"},
    ),
    Action.ORDER_SUSPENSION: lambda p: (
        f"/cases/{p.classified('rectify')}/order-suspension",
        {"document_number": "d"},
    ),
    Action.VERIFY_OLD_SITE: lambda p: (
        f"/cases/{p.suspended('relocate')}/verify-old-site",
        {"evidence": PROOF},
    ),
    Action.REQUEST_ACCEPTANCE: lambda p: (
        f"/cases/{p.suspended()}/request-acceptance",
        {"evidence": PROOF},
    ),
    Action.SIGN_ACCEPTANCE: sign,
    Action.VERIFY_CLOSURE: lambda p: (
        f"/cases/{p.classified('close')}/verify-closure",
        {
            "water_and_power_cut": True,
            "raw_materials_cleared": True,
            "products_cleared": True,
            "equipment_cleared": True,
            "evidence": PROOF,
        },
    ),
    Action.REPORT_UNAUTHORIZED_RESUMPTION: lambda p: (
        f"/cases/{p.suspended()}/report-unauthorized-resumption",
        {"evidence": PROOF},
    ),
    Action.LAUNCH_JOINT_ENFORCEMENT: lambda p: (
        f"/cases/{p.resumed()}/launch-joint-enforcement",
        {"units": ["police"], "planned_for": p.later(1), "document_number": "j"},
    ),
    Action.SUPPORT_JOINT_ENFORCEMENT: support,
    Action.VERIFY_CONSUMPTION_FLAG: consumption_flag,
    Action.REQUEST_POWER_ORDER: order_request(Utility.POWER),
    Action.REQUEST_WATER_ORDER: order_request(Utility.WATER),
    Action.REQUEST_GAS_ORDER: order_request(Utility.GAS),
    Action.CANCEL_UTILITY_ORDER: cancel_order,
    Action.ACKNOWLEDGE_ORDER: order_receipt("acknowledge", {}),
    Action.EXECUTE_ORDER: lambda p: order_receipt(
        "execute", {"meter": "m", "reading": 1.0, "executed_at": p.now().isoformat()}
    )(p),
    Action.REFUSE_ORDER: order_receipt("refuse", {"reason": "r"}),
    Action.REPORT_CONSUMPTION: lambda p: (
        f"/cases/{p.case(connections=(Utility.POWER,))}/report-consumption",
        {"readings": [{"day": "2021-01-01", "day_kwh": 1, "night_kwh": 1}]},
    ),
    Action.RECORD_PUBLIC_OPINION: incident(IncidentKind.PUBLIC_OPINION),
    Action.CLOSE_PUBLIC_OPINION: close_incident(IncidentKind.PUBLIC_OPINION, "cyberspace"),
    Action.RECORD_PETITION: incident(IncidentKind.PETITION),
    Action.CLOSE_PETITION: close_incident(IncidentKind.PETITION, "petitions"),
    Action.RECORD_OBSTRUCTION: incident(IncidentKind.OBSTRUCTION),
    Action.OPEN_CRIMINAL_INVESTIGATION: incident(IncidentKind.CRIMINAL_INVESTIGATION),
    Action.IMPOSE_VEHICLE_RESTRICTION: incident(IncidentKind.VEHICLE_RESTRICTION),
    Action.ORDER_HAZARD_REMOVAL: incident(IncidentKind.HAZARD_REMOVAL_ORDER),
    Action.STRIKE_OFF: lambda p: (f"/cases/{p.struck_off_ready()}/strike-off", {}),
    Action.RECORD_FOLLOW_UP: lambda p: (
        f"/cases/{p.struck_off()}/record-follow-up",
        {"relapse": False, "findings": "f", "evidence": PROOF},
    ),
    Action.REOPEN_CASE: lambda p: (f"/cases/{p.struck_off()}/reopen-case", {"reason": "r"}),
    Action.ISSUE_SUPERVISION_NOTICE: lambda p: (
        lambda case_task: (
            f"/cases/{case_task[0]}/issue-supervision-notice",
            {"task_id": case_task[1], "respond_by": p.later(2), "note": "n"},
        )
    )(p.task_for("economy")),
    Action.EXTEND_DEADLINE: lambda p: (
        lambda case_task: (
            f"/cases/{case_task[0]}/extend-deadline",
            {"task_id": case_task[1], "new_deadline": p.later(60), "reason": "r"},
        )
    )(p.task_for("economy")),
    Action.ARBITRATE_DISPUTE: dispute_to_arbitrate,
    Action.ANSWER_SUPERVISION_NOTICE: answer_notice,
    Action.RAISE_DISPUTE: raise_dispute,
    Action.CORRECT_RECORD: correct,
}


INCIDENT_ACTIONS = {
    Action.RECORD_PUBLIC_OPINION,
    Action.RECORD_PETITION,
    Action.RECORD_OBSTRUCTION,
    Action.OPEN_CRIMINAL_INVESTIGATION,
    Action.IMPOSE_VEHICLE_RESTRICTION,
    Action.ORDER_HAZARD_REMOVAL,
}


def test_every_action_has_a_preparer() -> None:
    assert set(PREPARE) == set(Action)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("unit", UNITS)
def test_permitted_units_succeed_and_all_others_get_403(
    api: Api, unit: str, action: Action
) -> None:
    permitted = REGISTRY.permits(unit, action)
    # Prepare as the unit itself when it may act; otherwise as a unit that may, so the
    # request is valid in every respect but who sends it.
    preparer = unit if permitted else next(u for u in UNITS if REGISTRY.permits(u, action))
    path, body = PREPARE[action](Prep(api.services.app, preparer))
    before = api.events
    response = api.post(unit, path, body)
    if permitted:
        assert response.status_code in (200, 201), f"{unit} {action}: {response.text}"
        assert api.events > before
    else:
        assert response.status_code == 403, f"{unit} {action}: {response.text}"
        assert response.json()["code"] == "permission_denied"
        assert api.events == before
