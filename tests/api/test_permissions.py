"""Every (unit, action) pair over HTTP: the permitted ones succeed; every other gets 403
and records nothing (DOMAIN.md section 3, rule 1).

The expected answer is the table below, written out by hand from DOMAIN.md section 3
and the plan's section 四, not read from `units.json` (which the application enforces):
a change to that file that gives a unit an action the plan does not give it fails here.

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
from domain.linkage import PERMIT_ISSUER, PROBLEM_LEAD
from domain.units import default_registry
from domain.uscc import with_check_character
from domain.values import Actor, Evidence, IncidentKind, ProblemKind, Utility
from tests.api.conftest import Api

A = Action
# Posted by every unit that can be given a task (section 3's last rows, and rule 9).
ANY_TASKED = {A.ANSWER_SUPERVISION_NOTICE, A.RAISE_DISPUTE, A.CORRECT_RECORD}
TOWN_ACTIONS = {  # 十五, and classification 会同 with economy (三)
    A.LIST_ENTERPRISE, A.RECORD_PATROL, A.CLASSIFY, A.CONCUR_CLASSIFICATION,
    A.RECORD_PROBLEM, A.ORDER_SUSPENSION, A.REPORT_REFUSAL_TO_STOP, A.VERIFY_OLD_SITE,
    A.SET_RELOCATION_DESTINATION, A.REQUEST_ACCEPTANCE, A.SIGN_ACCEPTANCE, A.VERIFY_CLOSURE,
    A.REPORT_UNAUTHORIZED_RESUMPTION, A.LAUNCH_JOINT_ENFORCEMENT, A.VERIFY_CONSUMPTION_FLAG,
    A.REQUEST_GAS_ORDER, A.CANCEL_UTILITY_ORDER, A.STRIKE_OFF, A.RECORD_FOLLOW_UP,
    A.SERVE_ENTERPRISE_NOTICE, A.RECORD_OBJECTION, A.DECIDE_OBJECTION, A.WITHDRAW_LISTING,
    A.ADD_USCC, A.REFER_TO_POLICE, A.REPORT_HAZARD_REMOVED, *ANY_TASKED,
}  # fmt: skip
EXPECTED: dict[str, set[Action]] = {
    # 一: coordinate and supervise
    "district-office": {
        A.ISSUE_SUPERVISION_NOTICE, A.EXTEND_DEADLINE, A.ARBITRATE_DISPUTE, A.REOPEN_CASE,
        A.RECORD_FOLLOW_UP, A.CANCEL_UTILITY_ORDER, A.CANCEL_TASK, A.CORRECT_RECORD,
        A.REQUEST_LICENCE_REVOCATION, A.MAINTAIN_CONTROL_AREAS, A.WITHDRAW_LISTING,
        A.SEND_REMINDER,
    },
    # 二
    "cyberspace": {A.RECORD_PUBLIC_OPINION, A.CLOSE_PUBLIC_OPINION, *ANY_TASKED},
    # 三
    "economy": {
        A.CLASSIFY, A.CONCUR_CLASSIFICATION, A.DENY_APPROVAL, A.REQUEST_POWER_ORDER,
        A.RECORD_PROBLEM, A.SIGN_ACCEPTANCE, A.CANCEL_UTILITY_ORDER, A.GRANT_PERMIT,
        A.SET_RELOCATION_DESTINATION, A.DECIDE_OBJECTION, A.SUPPORT_JOINT_ENFORCEMENT,
        *ANY_TASKED,
    },
    # 四, and 十二: ecology refers environmental crime to the police
    "ecology": {
        A.RECORD_PROBLEM, A.DENY_APPROVAL, A.GRANT_PERMIT, A.SIGN_ACCEPTANCE,
        A.SUPPORT_JOINT_ENFORCEMENT, A.REFER_TO_POLICE, *ANY_TASKED,
    },
    # 五
    "housing": {
        A.RECORD_PROBLEM, A.DENY_APPROVAL, A.REQUEST_WATER_ORDER, A.SIGN_ACCEPTANCE,
        A.CANCEL_UTILITY_ORDER, A.RECORD_ASSISTANCE, A.RECORD_SEWER_WORK, A.GRANT_PERMIT,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 六
    "forestry": {
        A.RECORD_PROBLEM, A.DENY_APPROVAL, A.SIGN_ACCEPTANCE, A.GRANT_PERMIT,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 七
    "market": {
        A.RECORD_PROBLEM, A.DENY_APPROVAL, A.REVOKE_LICENCE, A.SIGN_ACCEPTANCE,
        A.GRANT_PERMIT, A.REFUSE_REGISTRATION, A.ADD_USCC, A.SUPPORT_JOINT_ENFORCEMENT,
        *ANY_TASKED,
    },
    # 八
    "planning": {
        A.RECORD_PROBLEM, A.DENY_APPROVAL, A.SIGN_ACCEPTANCE, A.GRANT_PERMIT,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 九
    "emergency": {
        A.RECORD_PROBLEM, A.ORDER_HAZARD_REMOVAL, A.CLOSE_HAZARD_REMOVAL,
        A.REPORT_HAZARD_REMOVED, A.SIGN_ACCEPTANCE, A.GRANT_PERMIT,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 十
    "transport": {
        A.RECORD_PROBLEM, A.IMPOSE_VEHICLE_RESTRICTION, A.LIFT_VEHICLE_RESTRICTION,
        A.SIGN_ACCEPTANCE, A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 十一
    "petitions": {A.RECORD_PETITION, A.CLOSE_PETITION, *ANY_TASKED},
    # 十二
    "police": {
        A.RECORD_OBSTRUCTION, A.OPEN_CRIMINAL_INVESTIGATION, A.CLOSE_CRIMINAL_INVESTIGATION,
        A.CLOSE_REFERRAL, A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 十三
    "fire": {
        A.RECORD_PROBLEM, A.SIGN_ACCEPTANCE, A.GRANT_PERMIT, A.REPORT_HAZARD_REMOVED,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 十四: power and gas also 积极配合属地镇街依法采取相关强制措施
    "power": {
        A.ACKNOWLEDGE_ORDER, A.EXECUTE_ORDER, A.REFUSE_ORDER, A.REPORT_CONSUMPTION,
        A.REPORT_RECONNECTION, A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    "gas": {
        A.ACKNOWLEDGE_ORDER, A.EXECUTE_ORDER, A.REFUSE_ORDER, A.REPORT_RECONNECTION,
        A.SUPPORT_JOINT_ENFORCEMENT, *ANY_TASKED,
    },
    # 五: the water supplier carries out water orders
    "water": {
        A.ACKNOWLEDGE_ORDER, A.EXECUTE_ORDER, A.REFUSE_ORDER, A.REPORT_RECONNECTION,
        *ANY_TASKED,
    },
    # 十五: towns and subdistricts; park platforms also admit relocating enterprises
    "town:degan": TOWN_ACTIONS,
    "town:jijiang": TOWN_ACTIONS,
    "platform:degan-park": {*TOWN_ACTIONS, A.CONFIRM_PARK_ENTRY},
}  # fmt: skip
REGISTRY = default_registry()
UNITS = list(EXPECTED)  # one unit per role, and towns of both kinds
HOME = "town:degan"
PARK = "platform:baisha-park"
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

    def classified(
        self, disposition: str, *, by: str = "economy", concur: bool = True, **kwargs: Any
    ) -> UUID:
        case_id = self.case(**kwargs)
        self.do(
            by,
            c.Classify(
                case_id=case_id,
                disposition=disposition,
                reason="r",
                deadline=self.now() + timedelta(days=30),
            ),
        )
        if concur:
            other = self.town if by == "economy" else "economy"
            self.do(other, c.ConcurClassification(case_id=case_id, agree=True))
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
        """A case with an open task of `unit`, the way the unit would get one."""
        if unit in ("power", "water", "gas"):
            case_id, _ = self.order(Utility(unit))
        elif unit in ("cyberspace", "petitions", "police"):
            kind = {
                "cyberspace": IncidentKind.PUBLIC_OPINION,
                "petitions": IncidentKind.PETITION,
                "police": IncidentKind.CRIMINAL_INVESTIGATION,
            }[unit]
            case_id = self.case()
            self.do(unit, c.RecordIncident(case_id=case_id, kind=kind, summary="s"))
        elif REGISTRY.get(unit).is_territorial:
            case_id = self.classified("rectify")
        else:
            led = [k for k, lead in PROBLEM_LEAD.items() if lead == unit]
            case_id = self.classified("rectify", problems=(led[0],))
        case = self.app.get_case(case_id)
        task = next(t for t in case.open_tasks() if t.unit == unit)
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
    case_id, task_id = p.task_for("economy")  # a sign-off, which planning may also give
    dispute = p.do("economy", c.RaiseDispute(case_id=case_id, task_id=task_id, reason="x"))
    return (
        f"/cases/{case_id}/arbitrate-dispute",
        {"dispute_id": dispute.created["id"], "responsible_unit": "planning", "reason": "r"},
    )


def concur(p: Prep) -> Request:
    classifier = p.town if p.unit == "economy" else "economy"
    case_id = p.classified("rectify", by=classifier, concur=False)
    return f"/cases/{case_id}/concur-classification", {"agree": True}


def grant_permit(p: Prep) -> Request:
    permit = next((k for k, unit in PERMIT_ISSUER.items() if unit == p.unit), None)
    return (
        f"/cases/{p.suspended()}/grant-permit",
        {"permit": (permit.value if permit else "eia"), "document_number": "e"},
    )


def park_entry(p: Prep) -> Request:
    """The destination park confirms; the enterprise comes from another town."""
    home = Prep(p.app, HOME)
    case_id = home.suspended("relocate")
    park = p.unit if REGISTRY.get(p.unit).kind == "platform" else PARK
    home.do("economy", c.SetRelocationDestination(case_id=case_id, park=park, address="a"))
    return f"/cases/{case_id}/confirm-park-entry", {"evidence": PROOF}


def served(p: Prep, classified_by: str | None = None) -> tuple[UUID, str]:
    case_id = p.classified("rectify", by=classified_by) if classified_by else p.case()
    notice = p.do(
        p.town,
        c.ServeEnterpriseNotice(
            case_id=case_id,
            kind="停产整治告知书",
            document_number="d",
            respond_by=p.now() + timedelta(days=5),
        ),
    )
    return case_id, notice.created["id"]


def objection(p: Prep) -> Request:
    case_id, served_id = served(p)
    return f"/cases/{case_id}/record-objection", {"served_id": served_id, "statement": "s"}


def decide_objection(p: Prep) -> Request:
    decider = "economy" if p.unit == "economy" else None
    case_id, served_id = served(p, decider)
    p.do(p.town, c.RecordObjection(case_id=case_id, served_id=served_id, statement="s"))
    return (
        f"/cases/{case_id}/decide-objection",
        {"served_id": served_id, "upheld": True, "outcome": "维持"},
    )


def hazard_order(p: Prep, units: tuple[str, ...]) -> tuple[UUID, str]:
    case_id = p.case()
    opened = p.do(
        "emergency",
        c.RecordIncident(
            case_id=case_id, kind=IncidentKind.HAZARD_REMOVAL_ORDER, summary="s", units=units
        ),
    )
    return case_id, opened.created["id"]


def report_hazard_removed(p: Prep) -> Request:
    named = p.town if REGISTRY.get(p.unit).is_territorial else p.unit
    case_id, incident_id = hazard_order(p, (named,))
    return (
        f"/cases/{case_id}/report-hazard-removed",
        {"incident_id": incident_id, "evidence": PROOF},
    )


def close_hazard(p: Prep) -> Request:
    case_id, incident_id = hazard_order(p, ("fire",))
    p.do(
        "fire",
        c.ReportHazardRemoved(case_id=case_id, incident_id=incident_id, evidence=c_evidence()),
    )
    return (
        f"/cases/{case_id}/close-incident",
        {"kind": "hazard_removal_order", "incident_id": incident_id, "resolution": "r"},
    )


def reconnection(p: Prep) -> Request:
    utility = Utility(p.unit) if p.unit in ("power", "water", "gas") else Utility.POWER
    case_id, order_id = p.order(utility)
    p.do(
        utility.value,
        c.ExecuteOrder(order_id=order_id, meter="m", reading=1.0, executed_at=p.now()),
    )
    return f"/cases/{case_id}/report-reconnection", {"evidence": PROOF}


def assistance(p: Prep) -> Request:
    case_id = p.classified("rectify", problems=(ProblemKind.ILLEGAL_STRUCTURE,))
    return f"/cases/{case_id}/record-assistance", {"problem_id": "P1", "description": "d"}


def cancel_task(p: Prep) -> Request:
    case_id, task_id = p.task_for("economy")
    return f"/cases/{case_id}/cancel-task", {"task_id": task_id, "reason": "no longer needed"}


def remind(p: Prep) -> Request:
    """A task due in two days calls for its first reminder."""
    case_id = p.case()
    p.do(
        "economy",
        c.Classify(
            case_id=case_id, disposition="rectify", reason="r", deadline=p.now() + timedelta(days=2)
        ),
    )
    task = next(t for t in p.app.get_case(case_id).open_tasks())
    return f"/cases/{case_id}/remind-task", {"task_id": task.task_id, "threshold": "due_soon"}


def add_uscc(p: Prep) -> Request:
    code = with_check_character(f"91500116MB{next(_serial):07d}")
    return f"/cases/{p.case()}/add-uscc", {"uscc": code}


def refuse_registration(p: Prep) -> Request:
    place = f"四面山{next(_serial)}村"
    p.do("district-office", c.DefineControlArea(name="四面山", town=HOME, places=(place,)))
    return (
        "/registration-refusals",
        {
            "applicant": "某新办企业",
            "address": f"{place}2组",
            "town": HOME,
            "document_number": "d",
            "reason": "四山管制区",
        },
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
    Action.GRANT_PERMIT: grant_permit,
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
    Action.ORDER_HAZARD_REMOVAL: lambda p: (
        f"/cases/{p.case()}/record-incident",
        {"kind": "hazard_removal_order", "summary": "s", "units": ["fire"]},
    ),
    Action.REFER_TO_POLICE: incident(IncidentKind.REFERRAL),
    Action.CLOSE_CRIMINAL_INVESTIGATION: close_incident(
        IncidentKind.CRIMINAL_INVESTIGATION, "police"
    ),
    Action.CLOSE_REFERRAL: close_incident(IncidentKind.REFERRAL, "ecology"),
    Action.LIFT_VEHICLE_RESTRICTION: close_incident(IncidentKind.VEHICLE_RESTRICTION, "transport"),
    Action.REPORT_HAZARD_REMOVED: report_hazard_removed,
    Action.CLOSE_HAZARD_REMOVAL: close_hazard,
    Action.CONCUR_CLASSIFICATION: concur,
    Action.SET_RELOCATION_DESTINATION: lambda p: (
        f"/cases/{p.suspended('relocate')}/set-relocation-destination",
        {"park": PARK, "address": "园区7号"},
    ),
    Action.CONFIRM_PARK_ENTRY: park_entry,
    Action.SERVE_ENTERPRISE_NOTICE: lambda p: (
        f"/cases/{p.case()}/serve-enterprise-notice",
        {"kind": "告知书", "document_number": "d", "respond_by": p.later(5)},
    ),
    Action.RECORD_OBJECTION: objection,
    Action.DECIDE_OBJECTION: decide_objection,
    Action.WITHDRAW_LISTING: lambda p: (
        f"/cases/{p.case()}/withdraw-listing",
        {"reason": "误列：该厂已于2020年关闭"},
    ),
    Action.ADD_USCC: add_uscc,
    Action.REPORT_REFUSAL_TO_STOP: lambda p: (
        f"/cases/{p.suspended()}/report-refusal-to-stop",
        {"evidence": PROOF},
    ),
    Action.REPORT_RECONNECTION: reconnection,
    Action.RECORD_ASSISTANCE: assistance,
    Action.RECORD_SEWER_WORK: lambda p: (
        f"/cases/{p.case()}/record-sewer-work",
        {"description": "接入市政污水管网", "completed": True},
    ),
    Action.CANCEL_TASK: cancel_task,
    Action.SEND_REMINDER: remind,
    Action.REQUEST_LICENCE_REVOCATION: lambda p: (
        f"/cases/{p.case(licensed=True)}/request-licence-revocation",
        {"reason": "无证排污", "document_number": "江津府〔2021〕1号"},
    ),
    Action.MAINTAIN_CONTROL_AREAS: lambda p: (
        "/control-areas",
        {"name": "四面山", "town": HOME, "places": ["飞龙村"]},
    ),
    Action.REFUSE_REGISTRATION: refuse_registration,
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


def test_every_action_has_a_preparer() -> None:
    assert set(PREPARE) == set(Action)


def test_the_registry_gives_each_role_exactly_what_the_plan_gives_it() -> None:
    """units.json (data the district office edits) against the plan, role by role."""
    for unit, actions in EXPECTED.items():
        granted = {a for a in Action if REGISTRY.permits(unit, a)}
        assert granted == actions, (
            f"{unit}: granted beyond the plan {sorted(granted - actions)}, "
            f"missing {sorted(actions - granted)}"
        )
    roles = {REGISTRY.get(u).role for u in EXPECTED}
    assert roles == set(REGISTRY.roles()), "every role is in the table"


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("unit", UNITS)
def test_permitted_units_succeed_and_all_others_get_403(
    api: Api, unit: str, action: Action
) -> None:
    permitted = action in EXPECTED[unit]
    # Prepare as the unit itself when it may act; otherwise as a unit that may, so the
    # request is valid in every respect but who sends it.
    preparer = unit if permitted else next(u for u in UNITS if action in EXPECTED[u])
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
