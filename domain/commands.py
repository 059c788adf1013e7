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
    case_id: UUID
    method: ClassVar[str]

    def arguments(self) -> dict[str, object]:
        """The keyword arguments of the aggregate method this command calls."""
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


class Classify(CaseCommand):
    action, method = Action.CLASSIFY, "classify"
    disposition: Disposition
    reason: str = Text
    deadline: AwareDatetime
    document_number: str = Field(default="", max_length=100)


class RecordProblem(CaseCommand):
    action, method = Action.RECORD_PROBLEM, "record_problem"
    kind: ProblemKind
    description: str = Text
    major: bool = False
    evidence: tuple[Evidence, ...] = EvidenceList


class DenyApproval(CaseCommand):
    action, method = Action.DENY_APPROVAL, "deny_approval"
    approval_kind: ApprovalKind
    application_ref: str = Field(min_length=1, max_length=100)
    reason: str = Text


class GrantPermit(CaseCommand):
    action, method = Action.GRANT_PERMIT, "grant_permit"
    permit: PermitKind
    document_number: str = DocNo


class RevokeLicence(CaseCommand):
    action, method = Action.REVOKE_LICENCE, "revoke_licence"
    document_number: str = DocNo
    legal_basis: str = Text


class OrderSuspension(CaseCommand):
    action, method = Action.ORDER_SUSPENSION, "order_suspension"
    document_number: str = DocNo


class VerifyOldSite(CaseCommand):
    action, method = Action.VERIFY_OLD_SITE, "verify_old_site"
    evidence: tuple[Evidence, ...] = EvidenceList


class RequestAcceptance(CaseCommand):
    action, method = Action.REQUEST_ACCEPTANCE, "request_acceptance"
    evidence: tuple[Evidence, ...] = EvidenceList


class SignAcceptance(CaseCommand):
    action, method = Action.SIGN_ACCEPTANCE, "sign_acceptance"
    passed: bool
    reasons: tuple[str, ...] = Field(default=(), max_length=50)
    evidence: tuple[Evidence, ...] = EvidenceList
    document_number: str = Field(default="", max_length=100)


class VerifyClosure(CaseCommand):
    action, method = Action.VERIFY_CLOSURE, "verify_closure"
    water_and_power_cut: bool
    raw_materials_cleared: bool
    products_cleared: bool
    equipment_cleared: bool
    evidence: tuple[Evidence, ...] = EvidenceList


class ReportUnauthorizedResumption(CaseCommand):
    action, method = Action.REPORT_UNAUTHORIZED_RESUMPTION, "report_unauthorized_resumption"
    evidence: tuple[Evidence, ...] = EvidenceList
    note: str = Field(default="", max_length=2000)


class LaunchJointEnforcement(CaseCommand):
    action, method = Action.LAUNCH_JOINT_ENFORCEMENT, "launch_joint_enforcement"
    units: tuple[str, ...] = Field(min_length=1, max_length=20)
    planned_for: AwareDatetime
    document_number: str = DocNo


class SupportJointEnforcement(CaseCommand):
    action, method = Action.SUPPORT_JOINT_ENFORCEMENT, "support_joint_enforcement"
    operation_id: str = Field(min_length=1, max_length=20)


class RequestUtilityOrder(CaseCommand):
    action, method = Action.REQUEST_POWER_ORDER, "request_utility_order"
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
    action, method = Action.REPORT_CONSUMPTION, "report_consumption"
    readings: tuple[Reading, ...] = Field(min_length=1, max_length=366)


class VerifyConsumptionFlag(CaseCommand):
    action, method = Action.VERIFY_CONSUMPTION_FLAG, "verify_consumption_flag"
    flag_id: str = Field(min_length=1, max_length=20)
    resumed: bool
    evidence: tuple[Evidence, ...] = EvidenceList


class OrderCommand(Command):
    """Commands on a utility order; the order id names its case (`<case id>/O<n>`)."""

    order_id: str = Field(pattern=r"^[0-9a-f-]{36}/O[0-9]+$", max_length=60)
    method: ClassVar[str]

    @property
    def case_id(self) -> UUID:
        return UUID(self.order_id.split("/")[0])

    def arguments(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in type(self).model_fields}


class CancelUtilityOrder(OrderCommand):
    action, method = Action.CANCEL_UTILITY_ORDER, "cancel_order"
    reason: str = Text


RECEIPT_ID = Field(
    default=None,
    min_length=1,
    max_length=64,
    description="the utility's receipt id; a receipt applied twice is a no-op",
)


class AcknowledgeOrder(OrderCommand):
    action, method = Action.ACKNOWLEDGE_ORDER, "acknowledge_order"
    receipt_id: str | None = RECEIPT_ID


class ExecuteOrder(OrderCommand):
    action, method = Action.EXECUTE_ORDER, "execute_order"
    meter: str = Field(min_length=1, max_length=64)
    reading: float = Field(ge=0)
    executed_at: AwareDatetime
    evidence: tuple[Evidence, ...] = EvidenceList
    receipt_id: str | None = RECEIPT_ID


class RefuseOrder(OrderCommand):
    action, method = Action.REFUSE_ORDER, "refuse_order"
    reason: str = Text
    receipt_id: str | None = RECEIPT_ID


_INCIDENT_ACTION = {
    IncidentKind.PUBLIC_OPINION: Action.RECORD_PUBLIC_OPINION,
    IncidentKind.PETITION: Action.RECORD_PETITION,
    IncidentKind.OBSTRUCTION: Action.RECORD_OBSTRUCTION,
    IncidentKind.CRIMINAL_INVESTIGATION: Action.OPEN_CRIMINAL_INVESTIGATION,
    IncidentKind.VEHICLE_RESTRICTION: Action.IMPOSE_VEHICLE_RESTRICTION,
    IncidentKind.HAZARD_REMOVAL_ORDER: Action.ORDER_HAZARD_REMOVAL,
}


class RecordIncident(CaseCommand):
    """舆情, 信访, obstruction, criminal investigation, vehicle restriction, hazard removal."""

    action, method = Action.RECORD_PUBLIC_OPINION, "open_incident"
    kind: IncidentKind
    summary: str = Text
    document_number: str = Field(default="", max_length=100)
    evidence: tuple[Evidence, ...] = EvidenceList

    def action_for(self) -> Action:
        return _INCIDENT_ACTION[self.kind]

    def arguments(self) -> dict[str, object]:
        args = super().arguments()
        del args["kind"]
        return {**args, "action": self.action_for()}


class CloseIncident(CaseCommand):
    action, method = Action.CLOSE_PUBLIC_OPINION, "close_incident"
    kind: IncidentKind = Field(description="public_opinion or petition")
    incident_id: str = Field(min_length=1, max_length=20)
    resolution: str = Text

    def action_for(self) -> Action:
        return (
            Action.CLOSE_PETITION
            if self.kind is IncidentKind.PETITION
            else Action.CLOSE_PUBLIC_OPINION
        )

    def arguments(self) -> dict[str, object]:
        return {
            "action": self.action_for(),
            "incident_id": self.incident_id,
            "resolution": self.resolution,
        }


class StrikeOff(CaseCommand):
    action, method = Action.STRIKE_OFF, "strike_off"


class RecordFollowUp(CaseCommand):
    action, method = Action.RECORD_FOLLOW_UP, "record_follow_up"
    relapse: bool
    findings: str = Text
    evidence: tuple[Evidence, ...] = EvidenceList


class ReopenCase(CaseCommand):
    action, method = Action.REOPEN_CASE, "reopen"
    reason: str = Text


class IssueSupervisionNotice(CaseCommand):
    action, method = Action.ISSUE_SUPERVISION_NOTICE, "issue_supervision_notice"
    task_id: str = Field(min_length=1, max_length=20)
    respond_by: AwareDatetime
    note: str = Text


class AnswerSupervisionNotice(CaseCommand):
    action, method = Action.ANSWER_SUPERVISION_NOTICE, "answer_supervision_notice"
    notice_id: str = Field(min_length=1, max_length=20)
    answer: str = Text


class ExtendDeadline(CaseCommand):
    action, method = Action.EXTEND_DEADLINE, "extend_deadline"
    task_id: str = Field(min_length=1, max_length=20)
    new_deadline: AwareDatetime
    reason: str = Text


class RaiseDispute(CaseCommand):
    action, method = Action.RAISE_DISPUTE, "raise_dispute"
    task_id: str = Field(min_length=1, max_length=20)
    reason: str = Text
    suggested_unit: str | None = Field(default=None, max_length=64)


class ArbitrateDispute(CaseCommand):
    action, method = Action.ARBITRATE_DISPUTE, "arbitrate_dispute"
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
    action, method = Action.CORRECT_RECORD, "correct_record"
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
