"""Commands: small explicit types, one per action a unit posts (DOMAIN.md section 3).

They validate shape (a field and its rule); the aggregate checks the case's rules.
The API takes these very models as request bodies, so both speak one language.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, cast
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError, field_validator

from domain.actions import Action
from domain.consumption import Reading
from domain.deadlines import Threshold
from domain.values import (
    ApprovalKind,
    Disposition,
    EdgeChecked,
    Evidence,
    Frozen,
    IncidentKind,
    LegalBasis,
    OrderKind,
    PermitKind,
    ProblemKind,
    Utility,
)

Text = Field(min_length=1, max_length=2000)
DocNo = Field(min_length=1, max_length=100, description="the decision document number (文号)")
EvidenceList = Field(default=(), max_length=50)


class Command(EdgeChecked):
    """What a unit asks for. Every value in it obeys the edge rules (values.edge_problem):
    no control characters, no blank required text, finite numbers, moments in range."""

    action: ClassVar[Action]

    def action_for(self) -> Action:
        return self.action


class CaseCommand(Command):
    """A command on one case. `slug` is its URL (`POST /cases/{id}/<slug>`), written out
    so that renaming a class cannot move a route; its handler is named in
    domain/handlers.py."""

    case_id: UUID
    slug: ClassVar[str]

    def arguments(self) -> dict[str, object]:
        """The keyword arguments of the aggregate method that handles this command."""
        return {k: getattr(self, k) for k in type(self).model_fields if k != "case_id"}


# The enterprise's descriptive facts, one rule each, shared by the listing and its corrections.
EnterpriseName = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=300)]
Industry = Annotated[str, Field(max_length=100)]
Contact = Annotated[str, Field(max_length=100)]
Account = Annotated[str, Field(max_length=64, description="account or meter no.")]


class Connection(Frozen):
    utility: Utility
    account: Account | None = None


class ProblemInput(Frozen):
    kind: ProblemKind
    description: str = Field(default="", max_length=2000)
    major: bool = False


class ListEnterprise(Command):
    """A town lists an enterprise on the ledger (台账)."""

    action = Action.LIST_ENTERPRISE

    name: EnterpriseName
    uscc: str | None = Field(default=None, max_length=18)
    uscc_override_reason: str | None = Field(default=None, max_length=500)
    address: Address
    town: str = Field(min_length=1, max_length=64)
    industry: Industry = ""
    licensed: bool = False
    in_four_mountains: bool = False
    contact: Contact | None = None
    connections: tuple[Connection, ...] = ()
    problems: tuple[ProblemInput, ...] = Field(default=(), max_length=50)
    found_by_patrol: UUID | None = None


class RecordPatrol(Command):
    """A town records a patrol (巡查), so no new enterprise appears unnoticed."""

    action = Action.RECORD_PATROL

    town: str = Field(min_length=1, max_length=64)
    patrol_date: date
    area: str = Field(min_length=1, max_length=300)
    findings: str = Text
    evidence: tuple[Evidence, ...] = EvidenceList


class DefineControlArea(Command):
    """The district office records a 四山 control area: its town and the places inside."""

    action = Action.MAINTAIN_CONTROL_AREAS
    name: str = Field(min_length=1, max_length=200)
    town: str = Field(min_length=1, max_length=64)
    places: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        min_length=1, max_length=200
    )


class RemoveControlArea(Command):
    action = Action.MAINTAIN_CONTROL_AREAS
    area_id: str = Field(min_length=1, max_length=20)
    reason: str = Text


class RefuseRegistration(Command):
    """Market refuses to register a new applicant inside a 四山 control area (七)."""

    action = Action.REFUSE_REGISTRATION
    applicant: EnterpriseName
    address: Address
    town: str = Field(min_length=1, max_length=64)
    document_number: str = DocNo
    reason: str = Text


class Classify(CaseCommand):
    action, slug = Action.CLASSIFY, "classify"
    disposition: Disposition
    reason: str = Text
    deadline: AwareDatetime
    document_number: str = Field(default="", max_length=100)


class RecordProblem(CaseCommand):
    action, slug = Action.RECORD_PROBLEM, "record-problem"
    kind: ProblemKind
    description: str = Text
    major: bool = False
    evidence: tuple[Evidence, ...] = EvidenceList


class DenyApproval(CaseCommand):
    action, slug = Action.DENY_APPROVAL, "deny-approval"
    approval_kind: ApprovalKind
    application_ref: str = Field(min_length=1, max_length=100)
    reason: str = Text


class GrantPermit(CaseCommand):
    action, slug = Action.GRANT_PERMIT, "grant-permit"
    permit: PermitKind
    document_number: str = DocNo


class RevokeLicence(CaseCommand):
    action, slug = Action.REVOKE_LICENCE, "revoke-licence"
    document_number: str = DocNo
    legal_basis: str = Text


class OrderSuspension(CaseCommand):
    action, slug = Action.ORDER_SUSPENSION, "order-suspension"
    document_number: str = DocNo
    legal_basis: str = Field(
        default="",
        max_length=500,
        description="the law or rule the order rests on (printed on the 停产整治通知书)",
    )


class VerifyOldSite(CaseCommand):
    action, slug = Action.VERIFY_OLD_SITE, "verify-old-site"
    evidence: tuple[Evidence, ...] = EvidenceList


class RequestAcceptance(CaseCommand):
    action, slug = Action.REQUEST_ACCEPTANCE, "request-acceptance"
    evidence: tuple[Evidence, ...] = EvidenceList


class SignAcceptance(CaseCommand):
    action, slug = Action.SIGN_ACCEPTANCE, "sign-acceptance"
    passed: bool
    reasons: tuple[str, ...] = Field(default=(), max_length=50)
    evidence: tuple[Evidence, ...] = EvidenceList
    document_number: str = Field(default="", max_length=100)


class VerifyClosure(CaseCommand):
    action, slug = Action.VERIFY_CLOSURE, "verify-closure"
    water_and_power_cut: bool
    raw_materials_cleared: bool
    products_cleared: bool
    equipment_cleared: bool
    evidence: tuple[Evidence, ...] = EvidenceList


class ReportUnauthorizedResumption(CaseCommand):
    """未经验收擅自恢复生产 (after 销号 too: then the case reopens)."""

    action, slug = Action.REPORT_UNAUTHORIZED_RESUMPTION, "report-unauthorized-resumption"
    evidence: tuple[Evidence, ...] = EvidenceList
    note: str = Field(default="", max_length=2000)
    reconnected: tuple[Utility, ...] = Field(
        default=(), max_length=3, description="supplies found reconnected without an order"
    )


class ReportRefusalToStop(CaseCommand):
    """拒不执行停产整治: the enterprise ignores the order to stop (十五)."""

    action, slug = Action.REPORT_REFUSAL_TO_STOP, "report-refusal-to-stop"
    evidence: tuple[Evidence, ...] = EvidenceList
    note: str = Field(default="", max_length=2000)


class ReportReconnection(CaseCommand):
    """A utility finds its cut supply reconnected without an order."""

    action, slug = Action.REPORT_RECONNECTION, "report-reconnection"
    evidence: tuple[Evidence, ...] = EvidenceList
    note: str = Field(default="", max_length=2000)


class ConcurClassification(CaseCommand):
    """会同: the town concurs with economy's classification (or economy with the town's),
    or objects with a reason."""

    action, slug = Action.CONCUR_CLASSIFICATION, "concur-classification"
    agree: bool
    reason: str = Field(default="", max_length=2000)


class SetRelocationDestination(CaseCommand):
    """The park platform and address a relocating enterprise moves to."""

    action, slug = Action.SET_RELOCATION_DESTINATION, "set-relocation-destination"
    park: str = Field(min_length=1, max_length=64)
    address: Address


class ConfirmParkEntry(CaseCommand):
    """The destination park platform admits the enterprise (入园)."""

    action, slug = Action.CONFIRM_PARK_ENTRY, "confirm-park-entry"
    evidence: tuple[Evidence, ...] = EvidenceList


class RequestLicenceRevocation(CaseCommand):
    """The district office asks market to revoke an unlawful enterprise's licence (七)."""

    action, slug = Action.REQUEST_LICENCE_REVOCATION, "request-licence-revocation"
    reason: str = Text
    document_number: str = DocNo


class RecordAssistance(CaseCommand):
    """配合: housing records its part on a problem another unit leads."""

    action, slug = Action.RECORD_ASSISTANCE, "record-assistance"
    problem_id: str = Field(min_length=1, max_length=20)
    description: str = Text
    evidence: tuple[Evidence, ...] = EvidenceList


class RecordSewerWork(CaseCommand):
    """污水管网建设 for the enterprise."""

    action, slug = Action.RECORD_SEWER_WORK, "record-sewer-work"
    description: str = Text
    completed: bool
    evidence: tuple[Evidence, ...] = EvidenceList


class ServeEnterpriseNotice(CaseCommand):
    """A notice served on the enterprise (告知), with the date it may answer by."""

    action, slug = Action.SERVE_ENTERPRISE_NOTICE, "serve-enterprise-notice"
    kind: str = Field(min_length=1, max_length=100, description="e.g. 停产整治告知书")
    document_number: str = DocNo
    respond_by: AwareDatetime
    evidence: tuple[Evidence, ...] = EvidenceList


class RecordObjection(CaseCommand):
    """The enterprise's objection to a served notice, or its request for a hearing."""

    action, slug = Action.RECORD_OBJECTION, "record-objection"
    served_id: str = Field(min_length=1, max_length=20)
    statement: str = Text
    hearing_requested: bool = False
    evidence: tuple[Evidence, ...] = EvidenceList


class DecideObjection(CaseCommand):
    """The objection heard and decided: the decision stands (upheld) or is revised."""

    action, slug = Action.DECIDE_OBJECTION, "decide-objection"
    served_id: str = Field(min_length=1, max_length=20)
    upheld: bool
    outcome: str = Text


class WithdrawListing(CaseCommand):
    """A listing made by mistake is withdrawn with a reason (never deleted)."""

    action, slug = Action.WITHDRAW_LISTING, "withdraw-listing"
    reason: str = Text


class AddUscc(CaseCommand):
    """A workshop listed without a licence has registered: its USCC joins the case."""

    action, slug = Action.ADD_USCC, "add-uscc"
    uscc: str = Field(min_length=18, max_length=18)
    uscc_override_reason: str | None = Field(default=None, max_length=500)


class RemindTask(CaseCommand):
    """A reminder of a task's deadline (the reminders process sends these; overdue, it
    brings an automatic supervision notice)."""

    action, slug = Action.SEND_REMINDER, "remind-task"
    task_id: str = Field(min_length=1, max_length=20)
    threshold: Threshold


class CancelTask(CaseCommand):
    """The district office closes a task that is no longer needed, with a reason."""

    action, slug = Action.CANCEL_TASK, "cancel-task"
    task_id: str = Field(min_length=1, max_length=20)
    reason: str = Text


class LaunchJointEnforcement(CaseCommand):
    action, slug = Action.LAUNCH_JOINT_ENFORCEMENT, "launch-joint-enforcement"
    units: tuple[str, ...] = Field(min_length=1, max_length=20)
    planned_for: AwareDatetime
    document_number: str = DocNo


class SupportJointEnforcement(CaseCommand):
    action, slug = Action.SUPPORT_JOINT_ENFORCEMENT, "support-joint-enforcement"
    operation_id: str = Field(min_length=1, max_length=20)


class RequestUtilityOrder(CaseCommand):
    action, slug = Action.REQUEST_POWER_ORDER, "request-utility-order"
    utility: Utility
    kind: OrderKind
    grounds: LegalBasis
    document_number: str = DocNo
    deadline: AwareDatetime
    legal_basis: str = Field(default="", max_length=2000)

    def action_for(self) -> Action:
        from domain.case_orders import ORDER_ACTION

        return ORDER_ACTION[self.utility]


class ReportConsumption(CaseCommand):
    action, slug = Action.REPORT_CONSUMPTION, "report-consumption"
    readings: tuple[Reading, ...] = Field(min_length=1, max_length=366)


class VerifyConsumptionFlag(CaseCommand):
    action, slug = Action.VERIFY_CONSUMPTION_FLAG, "verify-consumption-flag"
    flag_id: str = Field(min_length=1, max_length=20)
    resumed: bool
    evidence: tuple[Evidence, ...] = EvidenceList


class OrderCommand(Command):
    """Commands on a utility order; the order id names its case (`<case id>/O<n>`)."""

    order_id: str = Field(pattern=r"^[0-9a-f-]{36}/O[0-9]+$", max_length=60)
    slug: ClassVar[str]  # `POST /cases/{id}/orders/{order}/<slug>`

    @property
    def case_id(self) -> UUID:
        return UUID(self.order_id.split("/")[0])

    def arguments(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in type(self).model_fields}


class CancelUtilityOrder(OrderCommand):
    action, slug = Action.CANCEL_UTILITY_ORDER, "cancel"
    reason: str = Text


RECEIPT_ID = Field(
    default=None,
    min_length=1,
    max_length=64,
    description="the utility's receipt id; a receipt applied twice is a no-op",
)


class AcknowledgeOrder(OrderCommand):
    action, slug = Action.ACKNOWLEDGE_ORDER, "acknowledge"
    receipt_id: str | None = RECEIPT_ID


class ExecuteOrder(OrderCommand):
    action, slug = Action.EXECUTE_ORDER, "execute"
    meter: str = Field(min_length=1, max_length=64)
    reading: float = Field(ge=0)
    executed_at: AwareDatetime
    evidence: tuple[Evidence, ...] = EvidenceList
    receipt_id: str | None = RECEIPT_ID


class RefuseOrder(OrderCommand):
    action, slug = Action.REFUSE_ORDER, "refuse"
    reason: str = Text
    receipt_id: str | None = RECEIPT_ID


class RecordIncident(CaseCommand):
    """舆情, 信访, obstruction, referral to police (移送), criminal investigation, vehicle
    restriction, hazard-removal order. Each has an owner who must close it by its deadline."""

    action, slug = Action.RECORD_PUBLIC_OPINION, "record-incident"
    kind: IncidentKind
    summary: str = Text
    document_number: str = Field(default="", max_length=100)
    evidence: tuple[Evidence, ...] = EvidenceList
    deadline: AwareDatetime | None = Field(
        default=None, description="when it must be closed (default: its kind's rule)"
    )
    units: tuple[str, ...] = Field(
        default=(), max_length=20, description="hazard removal: the units that remove it"
    )

    def action_for(self) -> Action:
        from domain.linkage import INCIDENT_OPENED_BY

        return INCIDENT_OPENED_BY[self.kind]


class CloseIncident(CaseCommand):
    """Closes an incident with its outcome (the investigation's result, the petition's
    answer, the hazard removed, the restriction lifted, the referral decided)."""

    action, slug = Action.CLOSE_PUBLIC_OPINION, "close-incident"
    kind: IncidentKind
    incident_id: str = Field(min_length=1, max_length=20)
    resolution: str = Text

    def action_for(self) -> Action:
        from domain.linkage import INCIDENT_RULES

        return INCIDENT_RULES[self.kind].closed_by or Action.CLOSE_PUBLIC_OPINION


class ReportHazardRemoved(CaseCommand):
    """A unit named in a hazard-removal order reports the hazard removed."""

    action, slug = Action.REPORT_HAZARD_REMOVED, "report-hazard-removed"
    incident_id: str = Field(min_length=1, max_length=20)
    evidence: tuple[Evidence, ...] = EvidenceList


class StrikeOff(CaseCommand):
    action, slug = Action.STRIKE_OFF, "strike-off"


class RecordFollowUp(CaseCommand):
    action, slug = Action.RECORD_FOLLOW_UP, "record-follow-up"
    relapse: bool
    findings: str = Text
    evidence: tuple[Evidence, ...] = EvidenceList


class ReopenCase(CaseCommand):
    action, slug = Action.REOPEN_CASE, "reopen-case"
    reason: str = Text


class IssueSupervisionNotice(CaseCommand):
    action, slug = Action.ISSUE_SUPERVISION_NOTICE, "issue-supervision-notice"
    task_id: str = Field(min_length=1, max_length=20)
    respond_by: AwareDatetime
    note: str = Text
    document_number: str = Field(
        default="",
        max_length=100,
        description="the 督办单's 文号 where the office numbers its own (otherwise the "
        "printed 督办单 is numbered by its audit entry)",
    )


class AnswerSupervisionNotice(CaseCommand):
    action, slug = Action.ANSWER_SUPERVISION_NOTICE, "answer-supervision-notice"
    notice_id: str = Field(min_length=1, max_length=20)
    answer: str = Text


class ExtendDeadline(CaseCommand):
    action, slug = Action.EXTEND_DEADLINE, "extend-deadline"
    task_id: str = Field(min_length=1, max_length=20)
    new_deadline: AwareDatetime
    reason: str = Text


class RaiseDispute(CaseCommand):
    action, slug = Action.RAISE_DISPUTE, "raise-dispute"
    task_id: str = Field(min_length=1, max_length=20)
    reason: str = Text
    suggested_unit: str | None = Field(default=None, max_length=64)


class ArbitrateDispute(CaseCommand):
    action, slug = Action.ARBITRATE_DISPUTE, "arbitrate-dispute"
    dispute_id: str = Field(min_length=1, max_length=20)
    responsible_unit: str = Field(min_length=1, max_length=64)
    reason: str = Text


class EnterpriseChanges(EdgeChecked):
    """What a correction may set, each under the listing's own rule. Strict: "yes" is not a
    boolean, and a number is not a name."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False, strict=True)

    name: EnterpriseName
    address: Address
    industry: Industry
    contact: Contact | None
    licensed: bool
    in_four_mountains: bool
    power_account: Account | None
    water_account: Account | None
    gas_account: Account | None

    @classmethod
    def problem(cls, changes: dict[str, object]) -> str | None:
        """Why these changes break a listing rule (None when they do not). Names outside
        the model are left to the aggregate, which says what may be corrected."""
        for name, value in changes.items():
            if name not in cls.model_fields:
                continue
            try:
                cls.__pydantic_validator__.validate_assignment(
                    cast(Any, cls).model_construct(), name, value, strict=True
                )
            except ValidationError as exc:
                return f"{name}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"
        return None


class CorrectRecord(CaseCommand):
    action, slug = Action.CORRECT_RECORD, "correct-record"
    corrects_version: int = Field(ge=1)
    reason: str = Text
    changes: dict[str, str | bool | None] = Field(min_length=1, max_length=20)

    @field_validator("changes")
    @classmethod
    def _changes_obey_the_listing_rules(
        cls, changes: dict[str, str | bool | None]
    ) -> dict[str, str | bool | None]:
        problem = EnterpriseChanges.problem(dict(changes))
        if problem:
            raise ValueError(problem)
        return changes


CASE_COMMANDS: tuple[type[CaseCommand], ...] = tuple(CaseCommand.__subclasses__())
ORDER_COMMANDS: tuple[type[OrderCommand], ...] = tuple(OrderCommand.__subclasses__())
