"""The event catalogue (docs/domain.md), generated from the code so it cannot drift.

`python -m domain.catalogue > docs/domain.md` rewrites it; a test fails when the
file and the code differ, and the random-campaign test checks that each event is
recorded only by the actions listed here.
"""

from __future__ import annotations

from domain import events as ev
from domain.actions import Action
from domain.patrol import PatrolRecorded
from domain.units import default_registry

A = Action
# Which actions record each event; () means linkage records it as a consequence.
RECORDED_BY: dict[type[ev.CaseEvent], tuple[Action, ...]] = {
    ev.EnterpriseListed: (A.LIST_ENTERPRISE,),
    ev.ApprovalLockApplied: (),
    ev.ApprovalLockLifted: (),
    ev.RecordCorrected: (A.CORRECT_RECORD,),
    ev.Classified: (A.CLASSIFY,),
    ev.Reclassified: (A.CLASSIFY,),
    ev.ClassificationConcurred: (A.CONCUR_CLASSIFICATION,),
    ev.ClassificationObjected: (A.CONCUR_CLASSIFICATION,),
    ev.TaskAssigned: (),
    ev.TaskCompleted: (),
    ev.TaskCancelled: (A.CANCEL_TASK,),
    ev.DeadlineExtended: (A.EXTEND_DEADLINE,),
    ev.TaskReassigned: (),
    ev.TaskReminded: (A.SEND_REMINDER,),
    ev.SupervisionNoticeIssued: (A.ISSUE_SUPERVISION_NOTICE,),
    ev.SupervisionNoticeAnswered: (A.ANSWER_SUPERVISION_NOTICE,),
    ev.DisputeRaised: (A.RAISE_DISPUTE,),
    ev.DisputeArbitrated: (A.ARBITRATE_DISPUTE,),
    ev.ProblemRecorded: (A.RECORD_PROBLEM,),
    ev.ApprovalDenied: (A.DENY_APPROVAL,),
    ev.PermitGranted: (A.GRANT_PERMIT,),
    ev.LicenceRevoked: (A.REVOKE_LICENCE,),
    ev.LicenceRevocationRequested: (A.REQUEST_LICENCE_REVOCATION,),
    ev.AssistanceRecorded: (A.RECORD_ASSISTANCE,),
    ev.SewerWorkRecorded: (A.RECORD_SEWER_WORK,),
    ev.IncidentOpened: (
        A.RECORD_PUBLIC_OPINION,
        A.RECORD_PETITION,
        A.RECORD_OBSTRUCTION,
        A.OPEN_CRIMINAL_INVESTIGATION,
        A.IMPOSE_VEHICLE_RESTRICTION,
        A.ORDER_HAZARD_REMOVAL,
        A.REFER_TO_POLICE,
    ),
    ev.HazardRemovalReported: (A.REPORT_HAZARD_REMOVED,),
    ev.IncidentClosed: (
        A.CLOSE_PUBLIC_OPINION,
        A.CLOSE_PETITION,
        A.CLOSE_CRIMINAL_INVESTIGATION,
        A.LIFT_VEHICLE_RESTRICTION,
        A.CLOSE_HAZARD_REMOVAL,
        A.CLOSE_REFERRAL,
    ),
    ev.RefusalToStopReported: (A.REPORT_REFUSAL_TO_STOP,),
    ev.DestinationSet: (A.SET_RELOCATION_DESTINATION,),
    ev.ParkEntryConfirmed: (A.CONFIRM_PARK_ENTRY,),
    ev.EnterpriseNoticeServed: (A.SERVE_ENTERPRISE_NOTICE,),
    ev.ObjectionRecorded: (A.RECORD_OBJECTION,),
    ev.ObjectionDecided: (A.DECIDE_OBJECTION,),
    ev.ListingWithdrawn: (A.WITHDRAW_LISTING,),
    ev.UsccAdded: (A.ADD_USCC,),
    ev.SupplyReconnected: (A.REPORT_UNAUTHORIZED_RESUMPTION, A.REPORT_RECONNECTION),
    ev.SuspensionOrdered: (A.ORDER_SUSPENSION,),
    ev.OldSiteVerified: (A.VERIFY_OLD_SITE,),
    ev.AcceptanceRequested: (A.REQUEST_ACCEPTANCE,),
    ev.AcceptanceSigned: (A.SIGN_ACCEPTANCE,),
    ev.AcceptanceFailed: (A.SIGN_ACCEPTANCE,),
    ev.AcceptancePassed: (),
    ev.ClosureVerified: (A.VERIFY_CLOSURE,),
    ev.UnauthorizedResumptionReported: (A.REPORT_UNAUTHORIZED_RESUMPTION,),
    ev.JointEnforcementLaunched: (A.LAUNCH_JOINT_ENFORCEMENT,),
    ev.JointEnforcementSupported: (A.SUPPORT_JOINT_ENFORCEMENT,),
    ev.CaseStruckOff: (A.STRIKE_OFF,),
    ev.FollowUpRecorded: (A.RECORD_FOLLOW_UP,),
    ev.CaseReopened: (A.REOPEN_CASE,),
    ev.UtilityOrderIssued: (A.REQUEST_POWER_ORDER, A.REQUEST_WATER_ORDER, A.REQUEST_GAS_ORDER),
    ev.UtilityOrderAcknowledged: (A.ACKNOWLEDGE_ORDER,),
    ev.UtilityOrderExecuted: (A.EXECUTE_ORDER,),
    ev.UtilityOrderRefused: (A.REFUSE_ORDER,),
    ev.UtilityOrderCancelled: (A.CANCEL_UTILITY_ORDER,),
    ev.ConsumptionReported: (A.REPORT_CONSUMPTION,),
    ev.ConsumptionFlagged: (),
    ev.ConsumptionFlagVerified: (A.VERIFY_CONSUMPTION_FLAG,),
}

SETS_IN_MOTION: dict[type[ev.CaseEvent], str] = {
    ev.EnterpriseListed: "the approval lock goes on (ApprovalLockApplied)",
    ev.Classified: "tasks fan out to the units section 6 names, each with the deadline; the "
    "other classifying unit (the town, or economy) gets a task to concur (会同)",
    ev.Reclassified: "the previous classification's open tasks are cancelled; new ones fan out",
    ev.ClassificationObjected: "the classifying unit gets a task to reconsider (classify again)",
    ev.LicenceRevocationRequested: "market gets a task to revoke the licence",
    ev.RefusalToStopReported: "the town gets a task to launch joint enforcement",
    ev.DestinationSet: "the destination park gets a task to confirm the entry (入园)",
    ev.ObjectionRecorded: "the deciding unit gets a task to hear and decide it",
    ev.ListingWithdrawn: "open tasks and pending orders are cancelled; cut supplies are "
    "restored; the approval lock lifts",
    ev.SupplyReconnected: "resumption is recorded; a struck-off case reopens",
    ev.IncidentOpened: "the unit that must close it gets a task with its deadline; a "
    "hazard-removal order also tasks each unit it names",
    ev.CaseStruckOff: "the town gets a 回头看 follow-up check as a task",
    ev.LicenceRevoked: "market's revocation task is done",
    ev.SuspensionOrdered: "the case is suspended (停产整治); the town's task is done",
    ev.AcceptanceRequested: "every required signer without an open task gets one",
    ev.AcceptanceSigned: "when the last required unit signs: AcceptancePassed",
    ev.AcceptanceFailed: "other sign-offs are cancelled; the town must request again; "
    "power and gas orders become lawful (failed acceptance)",
    ev.AcceptancePassed: "the approval lock lifts; pending cuts are cancelled; a restoration "
    "order goes to every utility whose supply is cut or limited",
    ev.ClosureVerified: "the case may be struck off once its licence is revoked; the town's "
    "order-to-stop task, now moot, is cancelled",
    ev.UnauthorizedResumptionReported: "power and gas orders become lawful; the town gets a "
    "task to launch joint enforcement",
    ev.JointEnforcementLaunched: "each named unit gets a task to support it",
    ev.FollowUpRecorded: "a relapse reopens the case (CaseReopened)",
    ev.CaseReopened: "the approval lock goes on again; economy gets a task to reclassify",
    ev.UtilityOrderIssued: "the utility gets a task to execute the order by its deadline",
    ev.UtilityOrderExecuted: "the supply state changes; the utility's task is done",
    ev.UtilityOrderRefused: "the utility's task is done; the requester gets a task to "
    "re-issue or resolve it",
    ev.UtilityOrderCancelled: "the utility's task is cancelled; unless acceptance passed, the "
    "requester gets a task to re-issue or resolve it",
    ev.ProblemRecorded: "after classification (rectify/relocate): a sign-off task for the lead "
    "and an assisting task for housing on illegal structures; a major hazard: emergency must "
    "order its removal",
    ev.ConsumptionReported: "anomalies while production must be stopped: ConsumptionFlagged",
    ev.ConsumptionFlagged: "the town gets a task to verify on site",
    ev.ConsumptionFlagVerified: "if resumed: UnauthorizedResumptionReported",
    ev.DisputeArbitrated: "the task moves to the responsible unit (TaskReassigned); the "
    "district office's arbitration task is done",
    ev.DisputeRaised: "the district office gets a task to arbitrate it within 5 days",
    ev.SupervisionNoticeIssued: "the unit named gets a task to answer it by its respond_by",
    ev.TaskReminded: "past the deadline: an automatic supervision notice (SupervisionNoticeIssued"
    " with no action), unless the task is itself the answer to a notice",
    ev.SupervisionNoticeAnswered: "the unit's answering task is done",
}

_COMMON = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "note",
    "legal_basis",
    "document_number",
    "evidence",
    "action",
    "originator_topic",
}


def _posted_by(actions: tuple[Action, ...]) -> str:
    if not actions:
        return "linkage (a consequence of another event)"
    registry = default_registry()
    roles = sorted({u.role for u in registry.all() for a in actions if registry.permits(u.id, a)})
    plain = {"town": "towns and subdistricts", "platform": "park platforms"}
    names = ", ".join(plain.get(r, r) for r in roles)
    return f"{names} — via `{'`, `'.join(a.value for a in actions)}`"


def render() -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated by `python -m domain.catalogue > docs/domain.md`; "
        "`tests/domain/test_catalogue.py` fails when this file and the code differ.",
        "",
        "Every case event also carries: `actor` (unit, person), `timestamp`, `note`, "
        "`legal_basis`, `document_number` (文号), `evidence` (SHA-256 and locator) and the "
        "`action` that recorded it. Events are stored as orjson of their pydantic model and "
        "never edited; corrections are `RecordCorrected` events.",
        "",
    ]
    for cls in ev.all_case_events():
        fields = [f"`{name}`" for name in cls.model_fields if name not in _COMMON]
        doc = (cls.__doc__ or "").strip().splitlines()
        lines += [f"## {cls.__name__}", ""]
        if doc and not doc[0].startswith("Common to every"):
            lines += [" ".join(line.strip() for line in doc), ""]
        lines += [
            f"- posted by: {_posted_by(RECORDED_BY[cls])}",
            f"- fields: {', '.join(fields) if fields else '(common fields only)'}",
            f"- sets in motion: {SETS_IN_MOTION.get(cls, 'nothing further')}",
            "",
        ]
    lines += [
        "## ControlAreaDefined, ControlAreaRemoved (四山 control areas aggregate)",
        "",
        f"- posted by: {_posted_by((Action.MAINTAIN_CONTROL_AREAS,))}",
        "- fields: `area` (`area_id`, `name`, `town`, `places`); `area_id`, `reason`",
        "- sets in motion: the approval-lock check answers for new applicants inside them",
        "",
        "## RegistrationRefused (四山 control areas aggregate)",
        "",
        f"- posted by: {_posted_by((Action.REFUSE_REGISTRATION,))}",
        "- fields: `applicant`, `address`, `town`, `area_id`, `document_number`, `reason`",
        "- sets in motion: nothing further (refused only inside a recorded area)",
        "",
        f"## {PatrolRecorded.__name__} (patrol aggregate)",
        "",
        f"- posted by: {_posted_by((Action.RECORD_PATROL,))}",
        "- fields: `town`, `patrol_date`, `area`, `findings`, `evidence`",
        "- sets in motion: listings that name it count as new listings from patrols",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
