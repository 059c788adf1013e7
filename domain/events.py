"""The events of a case. Pydantic models (the shape of eventsourcing's "aggregate7"
example), stored through an orjson transcoder. Each records who (unit and person),
when, and where relevant why: legal basis, document number (文号), evidence hashes.

An event's `apply` only changes state; every check happens before an event exists,
in the aggregate's command methods, so a refused command records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict

from domain.actions import Action
from domain.consumption import Reading
from domain.records import (
    AcceptanceRound,
    ConsumptionFlag,
    Destination,
    Dispute,
    EnterpriseDetails,
    Incident,
    JointOperation,
    Notice,
    OrderRecord,
    ProblemRecord,
    ServedNotice,
    Supply,
    TaskRecord,
)
from domain.values import (
    Actor,
    ApprovalKind,
    CaseState,
    Disposition,
    Evidence,
    OrderKind,
    OrderStatus,
    PermitKind,
    SupplyState,
    Utility,
)

if TYPE_CHECKING:
    from domain.case import Case


class DomainEvent(BaseModel):
    # No event holds a non-finite number: JSON cannot store one, so it could not load.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    originator_id: UUID
    originator_version: int
    timestamp: datetime


class CaseEvent(DomainEvent, CanMutateAggregate[UUID]):
    """Common to every event of a case: the audit trail's who, why and proof."""

    actor: Actor
    note: str = ""
    legal_basis: str = ""
    document_number: str = ""
    evidence: tuple[Evidence, ...] = ()

    # The action that recorded this event, for the audit trail and the catalogue;
    # None for events that linkage records as a consequence.
    action: Action | None = None

    def apply(self, aggregate: Any) -> None:
        self.apply_to(aggregate)

    def apply_to(self, case: Case) -> None:
        """Change the case's state; overridden by events that change state."""


# ---------------------------------------------------------------- listing


class EnterpriseListed(CaseEvent, CanInitAggregate[UUID]):
    originator_topic: str
    enterprise: EnterpriseDetails
    supplies: tuple[Supply, ...]
    problems: tuple[ProblemRecord, ...]
    found_by_patrol: UUID | None = None

    def apply_to(self, case: Case) -> None:
        case.enterprise = self.enterprise
        case.found_by_patrol = self.found_by_patrol
        case.supplies = {s.utility: s for s in self.supplies}
        case.problems = {p.problem_id: p for p in self.problems}
        case.seq = len(self.problems)


class ApprovalLockApplied(CaseEvent):
    def apply_to(self, case: Case) -> None:
        case.approval_lock = True


class ApprovalLockLifted(CaseEvent):
    def apply_to(self, case: Case) -> None:
        case.approval_lock = False


class RecordCorrected(CaseEvent):
    """Rule 9: a mistake is corrected by a new event that says what it corrects."""

    corrects_version: int
    corrects_event: str
    reason: str
    changes: dict[str, str | bool | None]

    def apply_to(self, case: Case) -> None:
        assert case.enterprise is not None
        enterprise = {k: v for k, v in self.changes.items() if k in EnterpriseDetails.model_fields}
        case.enterprise = case.enterprise.model_copy(update=enterprise)
        for utility, supply in case.supplies.items():
            key = f"{utility.value}_account"
            if key in self.changes:
                case.supplies[utility] = supply.model_copy(update={"account": self.changes[key]})


# ---------------------------------------------------------------- classification


class Classified(CaseEvent):
    disposition: Disposition
    reason: str
    deadline: datetime

    def apply_to(self, case: Case) -> None:
        case.disposition = self.disposition
        case.deadline = self.deadline
        case.classified_by = self.actor.unit
        case.concurred_by = None
        case.state = CaseState.CLASSIFIED
        case.acceptance = None
        case.old_site_verified = False
        case.closure_verified = False


class Reclassified(Classified):
    """Rule 3: a re-classification names what it replaces and why."""

    previous_disposition: Disposition | None


class ClassificationConcurred(CaseEvent):
    """会同: the town concurs with economy's classification, or economy with the town's."""

    unit: str

    def apply_to(self, case: Case) -> None:
        case.concurred_by = self.unit


class ClassificationObjected(CaseEvent):
    """The other unit does not concur; the classifier must reconsider."""

    unit: str
    reason: str


# ---------------------------------------------------------------- tasks


class TaskAssigned(CaseEvent):
    task: TaskRecord

    def apply_to(self, case: Case) -> None:
        case.tasks[self.task.task_id] = self.task
        case.seq += 1


class TaskCompleted(CaseEvent):
    task_id: str
    unit: str

    def apply_to(self, case: Case) -> None:
        case.tasks[self.task_id] = case.tasks[self.task_id].model_copy(
            update={"done_at": self.timestamp}
        )


class TaskCancelled(CaseEvent):
    task_id: str
    unit: str
    reason: str

    def apply_to(self, case: Case) -> None:
        case.tasks[self.task_id] = case.tasks[self.task_id].model_copy(
            update={"cancelled_at": self.timestamp}
        )


class DeadlineExtended(CaseEvent):
    task_id: str
    unit: str
    previous_deadline: datetime
    new_deadline: datetime
    reason: str

    def apply_to(self, case: Case) -> None:
        case.tasks[self.task_id] = case.tasks[self.task_id].model_copy(
            update={"deadline": self.new_deadline}
        )


class TaskReminded(CaseEvent):
    """A reminder of a task's deadline reached its unit (before it, on its day, or, once
    overdue, with an automatic supervision notice)."""

    task_id: str
    unit: str
    threshold: str

    def apply_to(self, case: Case) -> None:
        task = case.tasks[self.task_id]
        case.tasks[self.task_id] = task.model_copy(
            update={"reminded": (*task.reminded, self.threshold)}
        )


class TaskReassigned(CaseEvent):
    task_id: str
    from_unit: str
    to_unit: str

    def apply_to(self, case: Case) -> None:
        task = case.tasks[self.task_id]
        case.tasks[self.task_id] = task.model_copy(update={"unit": self.to_unit})
        if task.completes_on is Action.SIGN_ACCEPTANCE:
            # The arbitrated unit signs acceptance in the old one's place, now and later.
            case.signers_reassigned = {**case.signers_reassigned, self.from_unit: self.to_unit}
            round_ = case.acceptance
            if round_ is not None and round_.outcome is None and self.from_unit in round_.required:
                required = tuple(
                    self.to_unit if u == self.from_unit else u for u in round_.required
                )
                case.acceptance = round_.model_copy(
                    update={"required": tuple(dict.fromkeys(required))}
                )


class SupervisionNoticeIssued(CaseEvent):
    notice: Notice

    def apply_to(self, case: Case) -> None:
        case.notices[self.notice.notice_id] = self.notice
        case.seq += 1


class SupervisionNoticeAnswered(CaseEvent):
    notice_id: str
    unit: str
    answer: str

    def apply_to(self, case: Case) -> None:
        case.notices[self.notice_id] = case.notices[self.notice_id].model_copy(
            update={"answered_at": self.timestamp}
        )


class DisputeRaised(CaseEvent):
    dispute: Dispute
    reason: str

    def apply_to(self, case: Case) -> None:
        case.disputes[self.dispute.dispute_id] = self.dispute
        case.seq += 1


class DisputeArbitrated(CaseEvent):
    dispute_id: str
    responsible_unit: str
    reason: str

    def apply_to(self, case: Case) -> None:
        case.disputes[self.dispute_id] = case.disputes[self.dispute_id].model_copy(
            update={"resolved_to": self.responsible_unit}
        )


# ---------------------------------------------------------------- departments' records


class ProblemRecorded(CaseEvent):
    problem: ProblemRecord

    def apply_to(self, case: Case) -> None:
        case.problems[self.problem.problem_id] = self.problem
        case.seq += 1


class ApprovalDenied(CaseEvent):
    approval_kind: ApprovalKind
    application_ref: str
    reason: str


class PermitGranted(CaseEvent):
    permit: PermitKind

    def apply_to(self, case: Case) -> None:
        case.permits = case.permits | {self.permit}


class LicenceRevoked(CaseEvent):
    def apply_to(self, case: Case) -> None:
        case.licence_revoked = True


class LicenceRevocationRequested(CaseEvent):
    """按区政府要求: the district office asks market to revoke an unlawful enterprise's licence."""

    reason: str

    def apply_to(self, case: Case) -> None:
        case.revocation_requested = True


class AssistanceRecorded(CaseEvent):
    """配合: housing's part in a problem another unit leads (illegal structures)."""

    problem_id: str
    description: str


class SewerWorkRecorded(CaseEvent):
    """污水管网建设 for the enterprise: what housing built or connected."""

    description: str
    completed: bool


class HazardRemovalReported(CaseEvent):
    """A unit named in a hazard-removal order reports its part done."""

    incident_id: str
    unit: str

    def apply_to(self, case: Case) -> None:
        incident = case.incidents[self.incident_id]
        case.incidents[self.incident_id] = incident.model_copy(
            update={"reported_by": (*incident.reported_by, self.unit)}
        )


class IncidentOpened(CaseEvent):
    incident: Incident

    def apply_to(self, case: Case) -> None:
        case.incidents[self.incident.incident_id] = self.incident
        case.seq += 1


class IncidentClosed(CaseEvent):
    incident_id: str
    resolution: str

    def apply_to(self, case: Case) -> None:
        case.incidents[self.incident_id] = case.incidents[self.incident_id].model_copy(
            update={"closed": True, "outcome": self.resolution}
        )


# ---------------------------------------------------------------- the town's work


class SuspensionOrdered(CaseEvent):
    def apply_to(self, case: Case) -> None:
        case.suspension_ordered = True
        if case.state is CaseState.CLASSIFIED:
            case.state = CaseState.SUSPENDED


class RefusalToStopReported(CaseEvent):
    """拒不执行停产整治: a ground for joint enforcement of its own (十五)."""

    def apply_to(self, case: Case) -> None:
        case.refused_to_stop = True


class OldSiteVerified(CaseEvent):
    def apply_to(self, case: Case) -> None:
        case.old_site_verified = True


class DestinationSet(CaseEvent):
    """Where a relocating enterprise goes: a park platform and the address there."""

    destination: Destination

    def apply_to(self, case: Case) -> None:
        case.destination = self.destination
        case.park_entry_confirmed = False


class ParkEntryConfirmed(CaseEvent):
    """The park platform admits the enterprise (入园)."""

    park: str

    def apply_to(self, case: Case) -> None:
        case.park_entry_confirmed = True


class EnterpriseNoticeServed(CaseEvent):
    """A notice served on the enterprise, with the date it may answer by."""

    served: ServedNotice

    def apply_to(self, case: Case) -> None:
        case.served[self.served.served_id] = self.served
        case.seq += 1


class ObjectionRecorded(CaseEvent):
    """The enterprise objects to a notice, or asks for a hearing (陈述申辩、听证)."""

    served_id: str
    statement: str
    hearing_requested: bool

    def apply_to(self, case: Case) -> None:
        case.served[self.served_id] = case.served[self.served_id].model_copy(
            update={"objection": self.statement, "hearing_requested": self.hearing_requested}
        )


class ObjectionDecided(CaseEvent):
    served_id: str
    upheld: bool  # whether the decision objected to stands
    outcome: str

    def apply_to(self, case: Case) -> None:
        case.served[self.served_id] = case.served[self.served_id].model_copy(
            update={"outcome": self.outcome}
        )


class ListingWithdrawn(CaseEvent):
    """A mistaken listing, withdrawn with a reason; its open work is cancelled."""

    reason: str

    def apply_to(self, case: Case) -> None:
        case.state = CaseState.WITHDRAWN


class UsccAdded(CaseEvent):
    """A workshop listed without a licence has registered: its USCC joins the case."""

    uscc: str

    def apply_to(self, case: Case) -> None:
        assert case.enterprise is not None
        case.enterprise = case.enterprise.model_copy(update={"uscc": self.uscc, "licensed": True})


class AcceptanceRequested(CaseEvent):
    acceptance: AcceptanceRound

    def apply_to(self, case: Case) -> None:
        case.acceptance = self.acceptance
        case.state = CaseState.ACCEPTANCE_REQUESTED


class AcceptanceSigned(CaseEvent):
    round: int
    unit: str

    def apply_to(self, case: Case) -> None:
        assert case.acceptance is not None
        case.acceptance = case.acceptance.model_copy(
            update={"signed": (*case.acceptance.signed, self.unit)}
        )


class AcceptanceFailed(CaseEvent):
    """Rule 6: any required unit may fail acceptance, with reasons."""

    round: int
    unit: str
    reasons: tuple[str, ...]

    def apply_to(self, case: Case) -> None:
        assert case.acceptance is not None
        case.acceptance = case.acceptance.model_copy(
            update={"failed_by": (*case.acceptance.failed_by, self.unit), "outcome": "failed"}
        )
        case.acceptance_failed = True
        case.state = CaseState.SUSPENDED


class AcceptancePassed(CaseEvent):
    round: int

    def apply_to(self, case: Case) -> None:
        assert case.acceptance is not None
        case.acceptance = case.acceptance.model_copy(update={"outcome": "passed"})
        case.acceptance_failed = False
        case.unauthorized_resumption = False
        case.state = CaseState.ACCEPTED


class ClosureVerified(CaseEvent):
    """两断三清: water and power cut; raw materials, products and equipment cleared."""

    water_and_power_cut: bool
    raw_materials_cleared: bool
    products_cleared: bool
    equipment_cleared: bool

    def apply_to(self, case: Case) -> None:
        case.closure_verified = True
        case.state = CaseState.CLOSURE_VERIFIED


class UnauthorizedResumptionReported(CaseEvent):
    """未经验收擅自恢复生产: a legal basis for utility orders and joint enforcement."""

    source: str  # "town_report" or the consumption flag that was confirmed

    def apply_to(self, case: Case) -> None:
        case.unauthorized_resumption = True


class JointEnforcementLaunched(CaseEvent):
    operation: JointOperation

    def apply_to(self, case: Case) -> None:
        case.operations[self.operation.operation_id] = self.operation
        case.seq += 1


class JointEnforcementSupported(CaseEvent):
    operation_id: str
    unit: str

    def apply_to(self, case: Case) -> None:
        op = case.operations[self.operation_id]
        case.operations[self.operation_id] = op.model_copy(
            update={"supported_by": (*op.supported_by, self.unit)}
        )


class CaseStruckOff(CaseEvent):
    """销号."""

    def apply_to(self, case: Case) -> None:
        case.state = CaseState.STRUCK_OFF
        case.struck_off_at = self.timestamp


class FollowUpRecorded(CaseEvent):
    """回头看: a follow-up check after 销号."""

    relapse: bool
    findings: str


class CaseReopened(CaseEvent):
    reason: str
    relapse: bool

    def apply_to(self, case: Case) -> None:
        case.state = CaseState.REOPENED
        case.struck_off_at = None
        case.relapses += 1 if self.relapse else 0
        case.acceptance = None
        case.closure_verified = False
        case.suspension_ordered = False


# ---------------------------------------------------------------- utility orders


class UtilityOrderIssued(CaseEvent):
    order: OrderRecord

    def apply_to(self, case: Case) -> None:
        case.orders[self.order.order_id] = self.order
        case.seq += 1


class UtilityOrderAcknowledged(CaseEvent):
    order_id: str
    receipt_id: str | None = None

    def apply_to(self, case: Case) -> None:
        order = case.orders[self.order_id]
        case.orders[self.order_id] = order.model_copy(
            update={"status": OrderStatus.ACKNOWLEDGED, "receipts": _with(order, self.receipt_id)}
        )


class UtilityOrderExecuted(CaseEvent):
    order_id: str
    meter: str
    reading: float
    executed_at: datetime
    receipt_id: str | None = None

    def apply_to(self, case: Case) -> None:
        order = case.orders[self.order_id]
        case.orders[self.order_id] = order.model_copy(
            update={
                "status": OrderStatus.EXECUTED,
                "meter": self.meter,
                "reading": self.reading,
                "executed_at": self.executed_at,
                "receipts": _with(order, self.receipt_id),
            }
        )
        supply = case.supplies[order.utility]
        new_state = {
            OrderKind.CUT: SupplyState.CUT,
            OrderKind.LIMIT: SupplyState.LIMITED,
            OrderKind.RESTORE: SupplyState.ON,
        }[order.kind]
        case.supplies[order.utility] = supply.model_copy(
            update={"state": new_state, "account": supply.account or self.meter}
        )


class UtilityOrderRefused(CaseEvent):
    order_id: str
    reason: str
    receipt_id: str | None = None

    def apply_to(self, case: Case) -> None:
        order = case.orders[self.order_id]
        case.orders[self.order_id] = order.model_copy(
            update={
                "status": OrderStatus.REFUSED,
                "refusal_reason": self.reason,
                "receipts": _with(order, self.receipt_id),
            }
        )


class UtilityOrderCancelled(CaseEvent):
    order_id: str
    reason: str

    def apply_to(self, case: Case) -> None:
        case.orders[self.order_id] = case.orders[self.order_id].model_copy(
            update={"status": OrderStatus.CANCELLED}
        )


class SupplyReconnected(CaseEvent):
    """A utility found a cut supply reconnected without an order (resumption)."""

    utility: Utility

    def apply_to(self, case: Case) -> None:
        supply = case.supplies[self.utility]
        case.supplies[self.utility] = supply.model_copy(update={"state": SupplyState.ON})


class ConsumptionReported(CaseEvent):
    readings: tuple[Reading, ...]

    def apply_to(self, case: Case) -> None:
        case.consumption = case.consumption.including(list(self.readings))


class ConsumptionFlagged(CaseEvent):
    flag: ConsumptionFlag

    def apply_to(self, case: Case) -> None:
        case.flags[self.flag.flag_id] = self.flag
        case.seq += 1


class ConsumptionFlagVerified(CaseEvent):
    flag_id: str
    resumed: bool

    def apply_to(self, case: Case) -> None:
        case.flags[self.flag_id] = case.flags[self.flag_id].model_copy(
            update={"verified": True, "resumed": self.resumed}
        )


def _with(order: OrderRecord, receipt_id: str | None) -> tuple[str, ...]:
    return (*order.receipts, receipt_id) if receipt_id else order.receipts


def all_case_events() -> list[type[CaseEvent]]:
    """Every concrete event class, for the catalogue (docs/domain.md) and its test."""
    found: list[type[CaseEvent]] = []
    stack: list[type[CaseEvent]] = [CaseEvent]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return sorted(found, key=lambda c: c.__name__)
