"""Everything a case remembers, as one typed record: what a snapshot stores and what the
status view keeps between events, so that both rebuild the very state the aggregate has.

The status view does not re-code the lifecycle: it restores a case from this record,
applies each event with the event's own `apply_to` (the domain's evolve function), and
writes its rows from the result (projections/status.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel, ConfigDict, field_serializer

from domain.consumption import ConsumptionHistory
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
from domain.values import CaseState, Disposition, PermitKind, Utility

if TYPE_CHECKING:
    from domain.case import Case

# The aggregate's own bookkeeping, kept by eventsourcing rather than by our events.
_BOOKKEEPING = ("_id", "_version", "_created_on", "_modified_on", "_pending_events")


class CaseMemory(BaseModel):
    """The fields of CaseBase.__init__, typed (a test holds the two to the same names)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enterprise: EnterpriseDetails | None
    found_by_patrol: UUID | None
    supplies: dict[Utility, Supply]
    problems: dict[str, ProblemRecord]
    disposition: Disposition | None
    deadline: datetime | None
    classified_by: str | None
    concurred_by: str | None
    state: CaseState
    approval_lock: bool
    licence_revoked: bool
    revocation_requested: bool
    suspension_ordered: bool
    refused_to_stop: bool
    old_site_verified: bool
    closure_verified: bool
    destination: Destination | None
    park_entry_confirmed: bool
    acceptance: AcceptanceRound | None
    acceptance_failed: bool
    unauthorized_resumption: bool
    signers_reassigned: dict[str, str]
    permits: frozenset[PermitKind]
    tasks: dict[str, TaskRecord]
    orders: dict[str, OrderRecord]
    notices: dict[str, Notice]
    disputes: dict[str, Dispute]
    incidents: dict[str, Incident]
    operations: dict[str, JointOperation]
    flags: dict[str, ConsumptionFlag]
    served: dict[str, ServedNotice]
    consumption: ConsumptionHistory
    relapses: int
    struck_off_at: datetime | None
    seq: int

    @field_serializer("permits")
    def _in_order(self, permits: frozenset[PermitKind]) -> list[str]:
        # A set's order varies from process to process; the stored image must not.
        return sorted(p.value for p in permits)


class CaseImage(BaseModel):
    """A case with the aggregate's bookkeeping: what the status view stores per case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    version: int
    created_on: datetime
    modified_on: datetime
    memory: CaseMemory


def remember(case: Case) -> CaseMemory:
    state = {k: v for k, v in vars(case).items() if k not in _BOOKKEEPING}
    return CaseMemory.model_validate(state)


def image_of(case: Case) -> CaseImage:
    return CaseImage(
        id=case.id,
        version=case.version,
        created_on=case.created_on,
        modified_on=case.modified_on,
        memory=remember(case),
    )


def restore(image: CaseImage) -> Case:
    from domain.case import Case

    case = object.__new__(Case)
    _fill(case, image.memory)
    case.__dict__.update(
        _id=image.id,
        _version=image.version,
        _created_on=image.created_on,
        _modified_on=image.modified_on,
        _pending_events=[],
    )
    return case


def _fill(case: Any, memory: CaseMemory) -> None:
    # The containers are the aggregate's own, mutable ones (the records in them are frozen).
    for name in CaseMemory.model_fields:
        value = getattr(memory, name)
        case.__dict__[name] = dict(value) if isinstance(value, dict) else value


class CaseSnapshot(BaseModel, CanSnapshotAggregate[UUID]):
    """A snapshot of a case (eventsourcing's snapshotting, pydantic-typed like the events),
    so that loading a long-lived case replays only the events after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    topic: str
    state: CaseMemory
    created_on: datetime

    @classmethod
    def take(cls, aggregate: Any) -> CaseSnapshot:
        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            topic=get_topic(type(aggregate)),
            state=remember(aggregate),
            created_on=aggregate.created_on,
        )

    def mutate(self, _: Any) -> Any:
        case = object.__new__(resolve_topic(self.topic))
        _fill(case, self.state)
        case.__dict__.update(
            _id=self.originator_id,
            _version=self.originator_version,
            _created_on=self.created_on,
            _modified_on=self.timestamp,
            _pending_events=[],
        )
        return case
