"""Frozen records carried by events and kept, updated by copy, in a case's state."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.actions import Action
from domain.consumption import Reading
from domain.deadlines import Deadline
from domain.values import (
    Frozen,
    IncidentKind,
    LegalBasis,
    OrderKind,
    OrderStatus,
    ProblemKind,
    SupplyState,
    Utility,
)


class EnterpriseDetails(Frozen):
    name: str = Field(min_length=1, max_length=200)
    uscc: str | None = None
    uscc_override_reason: str | None = None
    address: str = Field(min_length=1, max_length=300)
    town: str
    industry: str = Field(default="", max_length=100)
    licensed: bool = False
    in_four_mountains: bool = False  # inside a 四山 control zone
    contact: str | None = Field(default=None, max_length=100)


class Supply(Frozen):
    utility: Utility
    state: SupplyState = SupplyState.ON
    account: str | None = Field(default=None, max_length=64)  # account or meter number


class ProblemRecord(Frozen):
    problem_id: str
    kind: ProblemKind
    description: str = ""
    lead: str
    major: bool = False  # a 重大安全隐患, for production-safety hazards


class TaskRecord(Frozen):
    task_id: str
    unit: str
    duty: str
    completes_on: Action
    ref: str | None = None  # the order, notice or operation the task is about
    assigned_by: str | None = None  # the unit whose decision set it in motion
    assigned_at: datetime
    deadline: datetime
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    reminded: tuple[str, ...] = ()  # reminder thresholds already sent (deadlines.Threshold)

    @property
    def is_open(self) -> bool:
        return self.done_at is None and self.cancelled_at is None

    @property
    def clock(self) -> Deadline:
        return Deadline(self.assigned_at, self.deadline, self.done_at)


class OrderRecord(Frozen):
    """A utility order, self-contained so that a utility can act on it alone (section 8)."""

    order_id: str
    utility: Utility
    kind: OrderKind
    grounds: LegalBasis
    document_number: str
    requested_by: str
    deadline: datetime
    enterprise_name: str
    uscc: str | None
    address: str
    town: str
    account: str | None
    status: OrderStatus = OrderStatus.ISSUED
    issued_at: datetime
    meter: str | None = None
    reading: float | None = None
    executed_at: datetime | None = None
    refusal_reason: str | None = None
    receipts: tuple[str, ...] = ()  # receipt ids already applied (redelivery is a no-op)


class AcceptanceRound(Frozen):
    round: int
    required: tuple[str, ...]
    requested_at: datetime
    signed: tuple[str, ...] = ()
    failed_by: tuple[str, ...] = ()
    outcome: str | None = None  # "passed" | "failed"


class Notice(Frozen):
    notice_id: str
    task_id: str
    unit: str
    respond_by: datetime
    issued_at: datetime
    answered_at: datetime | None = None


class Dispute(Frozen):
    dispute_id: str
    task_id: str
    raised_by: str
    suggested_unit: str | None = None
    resolved_to: str | None = None
    raised_at: datetime | None = None


class Incident(Frozen):
    """舆情, 信访, a hazard-removal order, a referral or investigation, a vehicle restriction:
    opened by one unit, with a deadline, closed by the unit that must close it."""

    incident_id: str
    kind: IncidentKind
    summary: str
    opened_by: str
    closed: bool = False
    closes_by: str | None = None  # the unit that must close it (None: its opener)
    deadline: datetime | None = None
    units: tuple[str, ...] = ()  # units coordinated (a hazard removal's units)
    reported_by: tuple[str, ...] = ()  # those of them who reported their part done
    outcome: str | None = None


class Destination(Frozen):
    """Where a relocating enterprise goes: a park platform, and the address there."""

    park: str
    address: str


class ServedNotice(Frozen):
    """A notice served on the enterprise itself (原则三: its rights are respected), and its
    objection, if it objects, and the hearing's outcome."""

    served_id: str
    kind: str
    document_number: str
    served_on: datetime
    respond_by: datetime
    objection: str | None = None
    hearing_requested: bool = False
    outcome: str | None = None


class JointOperation(Frozen):
    operation_id: str
    units: tuple[str, ...]
    planned_for: datetime
    supported_by: tuple[str, ...] = ()


class ConsumptionFlag(Frozen):
    flag_id: str
    day: str
    rule: str
    detail: str
    verified: bool = False
    resumed: bool | None = None


__all__ = [
    "AcceptanceRound",
    "ConsumptionFlag",
    "Destination",
    "Dispute",
    "EnterpriseDetails",
    "Incident",
    "JointOperation",
    "Notice",
    "OrderRecord",
    "ProblemRecord",
    "Reading",
    "ServedNotice",
    "Supply",
    "TaskRecord",
]
