"""The enterprise case: one listed enterprise's whole life, as one event-sourced aggregate.

Keeping orders, tasks and acceptance inside the case keeps one case's events in
one stream, so they are ordered (and keyed on Kafka) per enterprise, and every
rule that spans them is checked against one consistent state.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import BaseAggregate

from domain.actions import Action
from domain.case_base import CaseBase, check_uscc_value
from domain.case_duties import DutiesMixin
from domain.case_supervision import SupervisionMixin
from domain.events import ApprovalLockApplied, EnterpriseListed
from domain.linkage import PROBLEM_LEAD
from domain.records import EnterpriseDetails, ProblemRecord, Supply
from domain.values import Actor, ProblemKind, SupplyState, Utility


class Case(DutiesMixin, SupervisionMixin, BaseAggregate[UUID]):
    def __init__(self) -> None:
        CaseBase.__init__(self)

    def __deepcopy__(self, memo: dict[int, object]) -> Case:
        """The repository's cache hands out copies, so a refused or conflicting command
        never touches the cached case. Every record in the state is frozen and replaced,
        never changed, so copying the containers is a complete copy, at a fraction of
        the cost of a recursive deepcopy."""
        copy = object.__new__(type(self))
        copy.__dict__.update(
            {k: v.copy() if isinstance(v, (dict, list)) else v for k, v in self.__dict__.items()}
        )
        return copy

    @classmethod
    def list_enterprise(
        cls,
        actor: Actor,
        now: datetime,
        *,
        case_id: UUID,
        enterprise: EnterpriseDetails,
        supplies: dict[Utility, str | None],
        problems: list[tuple[ProblemKind, str, bool]],
        found_by_patrol: UUID | None = None,
    ) -> Case:
        """A town lists an enterprise on the ledger (台账). `supplies` maps each connected
        utility to its account or meter number, where known."""
        check_uscc(enterprise)
        records = tuple(
            ProblemRecord(
                problem_id=f"P{i}",
                kind=kind,
                description=description,
                lead=PROBLEM_LEAD[kind],
                major=major,
            )
            for i, (kind, description, major) in enumerate(problems, start=1)
        )
        supply_records = tuple(
            Supply(
                utility=u,
                account=supplies.get(u),
                state=SupplyState.ON if u in supplies else SupplyState.NOT_CONNECTED,
            )
            for u in Utility
        )
        case = cls._create(
            EnterpriseListed,
            id=case_id,
            actor=actor,
            timestamp=now,
            action=Action.LIST_ENTERPRISE,
            enterprise=enterprise,
            supplies=supply_records,
            problems=records,
            found_by_patrol=found_by_patrol,
        )
        # Every listed enterprise is under the approval lock (不予核准、审批和备案).
        case._record(ApprovalLockApplied, actor, now, note="listed on the ledger")
        if any(p.major for p in records):
            case._major_hazard_found(actor, now)
        return case


def check_uscc(enterprise: EnterpriseDetails) -> None:
    check_uscc_value(enterprise.uscc, enterprise.uscc_override_reason)
