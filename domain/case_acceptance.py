"""Acceptance (验收), unauthorized resumption and joint enforcement (联合执法)."""

from __future__ import annotations

from datetime import datetime

from domain.actions import Action
from domain.case_orders import OrdersMixin
from domain.errors import InvalidInput, RuleViolation
from domain.events import (
    AcceptanceFailed,
    AcceptancePassed,
    AcceptanceRequested,
    AcceptanceSigned,
    ApprovalLockLifted,
    JointEnforcementLaunched,
    JointEnforcementSupported,
)
from domain.linkage import (
    ORDER_REQUESTER,
    RELOCATION_PERMITS,
    PlannedTask,
    follow_up_deadline,
    required_signers,
)
from domain.records import AcceptanceRound, JointOperation
from domain.values import (
    Actor,
    CaseState,
    Disposition,
    Evidence,
    LegalBasis,
    OrderKind,
    SupplyState,
)

RULE_6 = "rule 6: acceptance passes only when every required unit has signed"


class AcceptanceMixin(OrdersMixin):
    def request_acceptance(
        self, actor: Actor, now: datetime, *, evidence: tuple[Evidence, ...]
    ) -> int:
        disposition = self._require_disposition(
            "disposition", Disposition.RECTIFY, Disposition.RELOCATE
        )
        self._require_state("state", CaseState.SUSPENDED)
        if disposition is Disposition.RELOCATE:
            missing = []
            if not self.old_site_verified:
                missing.append("old site not verified")
            missing += [
                f"new site {p.value} not granted"
                for p in RELOCATION_PERMITS
                if p not in self.permits
            ]
            if self.destination is None:
                missing.append("destination park not named")
            elif not self.park_entry_confirmed:
                missing.append(f"entry into {self.destination.park} not confirmed")
            if missing:
                raise RuleViolation(
                    "relocation not ready for acceptance: " + "; ".join(missing),
                    rule="relocate: old site verified, new site permitted",
                    field="state",
                    message_zh="搬迁尚不具备验收条件",
                    details={"missing": missing},
                )
        self._require_evidence(
            evidence, "acceptance is requested with evidence", "rectification photos and documents"
        )
        number = (self.acceptance.round + 1) if self.acceptance else 1
        required = required_signers(
            disposition,
            town=self.town,
            problems=[p.kind for p in self.problems.values()],
            reassigned=self.signers_reassigned,
        )
        self._record(
            AcceptanceRequested,
            actor,
            now,
            action=Action.REQUEST_ACCEPTANCE,
            evidence=evidence,
            acceptance=AcceptanceRound(round=number, required=tuple(required), requested_at=now),
        )
        self._complete(actor, now, Action.REQUEST_ACCEPTANCE)
        deadline = (
            self.deadline
            if self.deadline and self.deadline > now
            else follow_up_deadline("problem_found_later", now)
        )
        waiting = {t.unit for t in self.open_tasks() if t.completes_on is Action.SIGN_ACCEPTANCE}
        for unit in required:
            if unit not in waiting:
                self._assign(
                    actor,
                    now,
                    PlannedTask(
                        unit, f"sign off acceptance round {number}", Action.SIGN_ACCEPTANCE
                    ),
                    deadline,
                    ref="classification",
                )
        return number

    def sign_acceptance(
        self,
        actor: Actor,
        now: datetime,
        *,
        passed: bool,
        reasons: tuple[str, ...] = (),
        evidence: tuple[Evidence, ...] = (),
        document_number: str = "",
    ) -> None:
        self._require_state("state", CaseState.ACCEPTANCE_REQUESTED)
        acceptance = self.acceptance
        assert acceptance is not None
        if actor.unit not in acceptance.required:
            raise self._denied(
                f"{actor.unit!r} is not a required signer of this acceptance "
                f"({', '.join(acceptance.required)})",
                RULE_6,
            )
        if actor.unit in acceptance.signed:
            raise RuleViolation(
                f"{actor.unit!r} already signed round {acceptance.round}",
                rule=RULE_6,
                field="unit",
                message_zh="本轮验收已签署",
            )
        if not passed:
            if not [r for r in reasons if r.strip()]:
                raise InvalidInput(
                    "a failed acceptance gives its reasons",
                    rule=RULE_6,
                    field="reasons",
                    message_zh="验收不通过须说明理由",
                )
            self._record(
                AcceptanceFailed,
                actor,
                now,
                action=Action.SIGN_ACCEPTANCE,
                round=acceptance.round,
                unit=actor.unit,
                reasons=reasons,
                evidence=evidence,
                document_number=document_number,
            )
            self._complete(actor, now, Action.SIGN_ACCEPTANCE)
            self._cancel_tasks(
                actor,
                now,
                f"acceptance round {acceptance.round} failed",
                action=Action.SIGN_ACCEPTANCE,
            )
            self._assign(
                actor,
                now,
                PlannedTask(
                    self.town, "rectify and request acceptance again", Action.REQUEST_ACCEPTANCE
                ),
                follow_up_deadline("problem_found_later", now),
                ref="classification",
            )
            return
        self._record(
            AcceptanceSigned,
            actor,
            now,
            action=Action.SIGN_ACCEPTANCE,
            round=acceptance.round,
            unit=actor.unit,
            evidence=evidence,
            document_number=document_number,
        )
        self._complete(actor, now, Action.SIGN_ACCEPTANCE)
        assert self.acceptance is not None
        if set(self.acceptance.required) <= set(self.acceptance.signed):
            self._pass_acceptance(actor, now, self.acceptance.round)

    def _pass_acceptance(self, actor: Actor, now: datetime, number: int) -> None:
        """Section 6, accepted: the lock lifts; restoration goes to every utility that cut."""
        self._record(AcceptancePassed, actor, now, round=number)
        self._record(ApprovalLockLifted, actor, now, note=f"acceptance round {number} passed")
        for order in list(self.orders.values()):
            if not order.status.is_final and order.kind is not OrderKind.RESTORE:
                self._cancel_order(actor, now, order.order_id, "acceptance passed")
        for utility, supply in list(self.supplies.items()):
            if supply.state in (SupplyState.CUT, SupplyState.LIMITED):
                self._issue(
                    actor,
                    now,
                    utility,
                    OrderKind.RESTORE,
                    LegalBasis.ACCEPTANCE_PASSED,
                    f"验收通过 {self.id} R{number}",
                    follow_up_deadline("restoration", now),
                    requested_by=ORDER_REQUESTER[utility] or self.town,
                )

    # ------------------------------------------------------------ resumption and enforcement

    def launch_joint_enforcement(
        self,
        actor: Actor,
        now: datetime,
        *,
        units: tuple[str, ...],
        planned_for: datetime,
        document_number: str,
    ) -> str:
        if not (self.unauthorized_resumption or self.acceptance_failed or self.refused_to_stop):
            raise RuleViolation(
                "joint enforcement needs a recorded refusal to stop production, unauthorized "
                "resumption or a failed acceptance",
                rule="section 6: enforcement follows a recorded violation",
                field="state",
                message_zh="联合执法须以擅自恢复生产或验收不通过为前提",
            )
        if not units:
            raise InvalidInput(
                "units is empty: name the units that join",
                rule="the town names the units it enforces with",
                field="units",
                message_zh="须指定参与联合执法的单位",
            )
        self._require_text("document_number", document_number, "enforcement has a 文号", "文号")
        operation_id = self._next_id("J")
        self._record(
            JointEnforcementLaunched,
            actor,
            now,
            action=Action.LAUNCH_JOINT_ENFORCEMENT,
            document_number=document_number,
            operation=JointOperation(
                operation_id=operation_id, units=units, planned_for=planned_for
            ),
        )
        self._complete(actor, now, Action.LAUNCH_JOINT_ENFORCEMENT)
        deadline = max(planned_for, follow_up_deadline("support_enforcement", now))
        for unit in units:
            self._assign(
                actor,
                now,
                PlannedTask(unit, "support joint enforcement", Action.SUPPORT_JOINT_ENFORCEMENT),
                deadline,
                ref=operation_id,
            )
        return operation_id

    def support_joint_enforcement(self, actor: Actor, now: datetime, *, operation_id: str) -> None:
        operation = self.operations.get(operation_id)
        if operation is None:
            raise self._not_found("operation_id", "joint enforcement", operation_id)
        if actor.unit not in operation.units:
            raise self._denied(
                f"{actor.unit!r} is not named in operation {operation_id}",
                "rule 1: units join the enforcement the town names them in",
            )
        if actor.unit in operation.supported_by:
            raise self._done_already("operation_id", "already recorded", "已登记")
        self._record(
            JointEnforcementSupported,
            actor,
            now,
            action=Action.SUPPORT_JOINT_ENFORCEMENT,
            operation_id=operation_id,
            unit=actor.unit,
        )
        self._complete(actor, now, Action.SUPPORT_JOINT_ENFORCEMENT, ref=operation_id)
