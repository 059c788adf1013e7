"""Listing, classification and the end of a case (DOMAIN.md section 4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import Action
from domain.case_base import DISTRICT_OFFICE, CaseBase
from domain.errors import InvalidInput, RuleViolation
from domain.events import (
    ApprovalDenied,
    ApprovalLockApplied,
    CaseEvent,
    CaseReopened,
    CaseStruckOff,
    Classified,
    ClosureVerified,
    FollowUpRecorded,
    LicenceRevoked,
    OldSiteVerified,
    PermitGranted,
    ProblemRecorded,
    Reclassified,
    RecordCorrected,
    SuspensionOrdered,
    TaskCompleted,
)
from domain.linkage import (
    PERMIT_ISSUER,
    PROBLEM_ASSISTS,
    PROBLEM_LEAD,
    RELOCATION_PERMITS,
    PlannedTask,
    fan_out,
    follow_up_deadline,
)
from domain.records import ProblemRecord
from domain.values import (
    Actor,
    ApprovalKind,
    CaseState,
    Disposition,
    Evidence,
    PermitKind,
    ProblemKind,
    SupplyState,
)

CLASSIFIABLE = (
    CaseState.LISTED,
    CaseState.REOPENED,
    CaseState.CLASSIFIED,
    CaseState.SUSPENDED,
    CaseState.ACCEPTANCE_REQUESTED,
)
# What a correction may change: descriptive facts, never identity or territory.
CORRECTABLE = frozenset(
    {
        "name",
        "address",
        "industry",
        "contact",
        "licensed",
        "in_four_mountains",
        "power_account",
        "water_account",
        "gas_account",
    }
)


class LifecycleMixin(CaseBase):
    # ------------------------------------------------------------ classification (rule 3)

    def classify(
        self,
        actor: Actor,
        now: datetime,
        *,
        disposition: Disposition,
        reason: str,
        deadline: datetime,
        document_number: str = "",
    ) -> None:
        self._require_text("reason", reason, "rule 3: classification needs a reason", "why")
        self._require_future("deadline", deadline, now)
        self._require_state("state", *CLASSIFIABLE)
        previous = self.disposition
        if previous is not None:
            self._cancel_tasks(actor, now, f"reclassified: {reason}", ref="classification")
            self._record(
                Reclassified,
                actor,
                now,
                action=Action.CLASSIFY,
                disposition=disposition,
                reason=reason,
                deadline=deadline,
                document_number=document_number,
                previous_disposition=previous,
            )
        else:
            self._record(
                Classified,
                actor,
                now,
                action=Action.CLASSIFY,
                disposition=disposition,
                reason=reason,
                deadline=deadline,
                document_number=document_number,
            )
        self._complete(actor, now, Action.CLASSIFY)
        planned = fan_out(
            disposition,
            town=self.town,
            problems=[p.kind for p in self.problems.values()],
            licensed=bool(self.enterprise and self.enterprise.licensed)
            and not self.licence_revoked,
            connected=self.connected(),
        )
        for task in planned:
            self._assign(actor, now, task, deadline, ref="classification")
        # 会同属地镇街: a classification by economy needs the town's concurrence, and one by
        # the town needs economy's.
        self._assign(
            actor,
            now,
            PlannedTask(
                self._co_classifier(actor.unit),
                "concur with the classification (会同)",
                Action.CONCUR_CLASSIFICATION,
            ),
            follow_up_deadline("concur_classification", now),
            ref="classification",
        )
        if not self.approval_lock:
            self._record(ApprovalLockApplied, actor, now, note="classified while unlocked")

    # ------------------------------------------------------------ departments' findings

    def record_problem(
        self,
        actor: Actor,
        now: datetime,
        *,
        kind: ProblemKind,
        description: str,
        major: bool = False,
        evidence: tuple[Evidence, ...] = (),
    ) -> str:
        lead = PROBLEM_LEAD[kind]
        if actor.unit not in (lead, self.town, PROBLEM_ASSISTS.get(kind)):
            raise self._denied(
                f"{kind.value} problems are recorded by their lead unit {lead!r}, a unit "
                "that assists on them, or the town",
                "rule 1: only the unit named for an action may post it",
            )
        self._require_text("description", description, "a problem says what is wrong", "what")
        problem_id = self._next_id("P")
        self._record(
            ProblemRecorded,
            actor,
            now,
            action=Action.RECORD_PROBLEM,
            evidence=evidence,
            problem=ProblemRecord(
                problem_id=problem_id, kind=kind, description=description, lead=lead, major=major
            ),
        )
        active = (CaseState.CLASSIFIED, CaseState.SUSPENDED, CaseState.ACCEPTANCE_REQUESTED)
        if self.disposition in (Disposition.RECTIFY, Disposition.RELOCATE) and self.state in active:
            later = follow_up_deadline("problem_found_later", now)
            if not self._has_open(lead, Action.SIGN_ACCEPTANCE):
                self._assign(
                    actor,
                    now,
                    PlannedTask(lead, "rectify problems and sign off", Action.SIGN_ACCEPTANCE),
                    later,
                    ref="classification",
                )
            assisting = PROBLEM_ASSISTS.get(kind)
            if assisting and not self._has_open(assisting, Action.RECORD_ASSISTANCE):
                self._assign(
                    actor,
                    now,
                    PlannedTask(assisting, "assist rectification (配合)", Action.RECORD_ASSISTANCE),
                    follow_up_deadline("assist", now),
                    ref="classification",
                )
        if major:
            self._major_hazard_found(actor, now)
        return problem_id

    def _major_hazard_found(self, actor: Actor, now: datetime) -> None:
        """九: a major hazard is not only recorded: emergency must order its removal."""
        if not self._has_open("emergency", Action.ORDER_HAZARD_REMOVAL):
            self._assign(
                actor,
                now,
                PlannedTask(
                    "emergency", "order the major hazard removed", Action.ORDER_HAZARD_REMOVAL
                ),
                follow_up_deadline("order_hazard_removal", now),
                ref="hazard",
            )

    def _has_open(self, unit: str, action: Action) -> bool:
        return any(t.unit == unit and t.completes_on is action for t in self.open_tasks())

    def _co_classifier(self, classifier: str) -> str:
        return "economy" if classifier == self.town else self.town

    def deny_approval(
        self,
        actor: Actor,
        now: datetime,
        *,
        approval_kind: ApprovalKind,
        application_ref: str,
        reason: str,
    ) -> None:
        self._require_text(
            "application_ref",
            application_ref,
            "a denial names the application",
            "the application's reference",
        )
        self._require_text("reason", reason, "a denial says why", "why")
        self._record(
            ApprovalDenied,
            actor,
            now,
            action=Action.DENY_APPROVAL,
            approval_kind=approval_kind,
            application_ref=application_ref,
            reason=reason,
        )

    def grant_permit(
        self, actor: Actor, now: datetime, *, permit: PermitKind, document_number: str
    ) -> None:
        self._require_disposition("permit", Disposition.RECTIFY, Disposition.RELOCATE)
        self._require_state(
            "state", CaseState.CLASSIFIED, CaseState.SUSPENDED, CaseState.ACCEPTANCE_REQUESTED
        )
        self._require_text(
            "document_number", document_number, "a permit has a document number", "文号"
        )
        issuer = PERMIT_ISSUER[permit]
        if actor.unit != issuer:
            raise self._denied(
                f"{permit.value} is granted by {issuer!r}, not {actor.unit!r}",
                "依法依规办理相关手续: each department grants its own permits",
                field="permit",
            )
        if permit in self.permits:
            raise self._done_already("permit", f"{permit.value} already granted", "该许可已核发")
        self._record(
            PermitGranted,
            actor,
            now,
            action=Action.GRANT_PERMIT,
            permit=permit,
            document_number=document_number,
        )
        if self.permits >= set(RELOCATION_PERMITS):
            self._complete(actor, now, Action.GRANT_PERMIT)

    def revoke_licence(
        self, actor: Actor, now: datetime, *, document_number: str, legal_basis: str
    ) -> None:
        if not self.revocation_requested:
            self._require_disposition("disposition", Disposition.CLOSE)
        assert self.enterprise is not None
        if self.licence_revoked:
            raise RuleViolation(
                "the business licence is already revoked",
                rule="revoke only a licence that exists",
                field="licensed",
                message_zh="营业执照已吊销",
            )
        if not self.enterprise.licensed:
            raise RuleViolation(
                "the enterprise holds no business licence to revoke",
                rule="revoke only a licence that exists",
                field="licensed",
                message_zh="该企业无可吊销的营业执照",
            )
        self._require_text(
            "document_number",
            document_number,
            "a revocation is made at the district government's request",
            "文号",
        )
        self._require_text(
            "legal_basis", legal_basis, "a revocation names its legal basis", "法律依据"
        )
        self._record(
            LicenceRevoked,
            actor,
            now,
            action=Action.REVOKE_LICENCE,
            document_number=document_number,
            legal_basis=legal_basis,
        )
        self._complete(actor, now, Action.REVOKE_LICENCE)

    # ------------------------------------------------------------ the town's orders

    def order_suspension(
        self, actor: Actor, now: datetime, *, document_number: str, legal_basis: str = ""
    ) -> None:
        self._require_state("state", CaseState.CLASSIFIED)
        self._require_text(
            "document_number", document_number, "an order has a document number", "文号"
        )
        self._record(
            SuspensionOrdered,
            actor,
            now,
            action=Action.ORDER_SUSPENSION,
            document_number=document_number,
            legal_basis=legal_basis.strip(),
        )
        self._complete(actor, now, Action.ORDER_SUSPENSION)

    def verify_old_site(
        self, actor: Actor, now: datetime, *, evidence: tuple[Evidence, ...]
    ) -> None:
        self._require_disposition("disposition", Disposition.RELOCATE)
        self._require_state("state", CaseState.SUSPENDED)
        self._require_evidence(
            evidence, "relocation: the old site is verified with evidence", "photos of the old site"
        )
        self._record(OldSiteVerified, actor, now, action=Action.VERIFY_OLD_SITE, evidence=evidence)
        self._complete(actor, now, Action.VERIFY_OLD_SITE)

    def verify_closure(
        self,
        actor: Actor,
        now: datetime,
        *,
        water_and_power_cut: bool,
        raw_materials_cleared: bool,
        products_cleared: bool,
        equipment_cleared: bool,
        evidence: tuple[Evidence, ...],
    ) -> None:
        rule = "rule 7: closure needs 两断三清 verified with evidence"
        self._require_disposition("disposition", Disposition.CLOSE)
        self._require_state("state", CaseState.CLASSIFIED, CaseState.SUSPENDED)
        checklist = {
            "water_and_power_cut": water_and_power_cut,
            "raw_materials_cleared": raw_materials_cleared,
            "products_cleared": products_cleared,
            "equipment_cleared": equipment_cleared,
        }
        for field, done in checklist.items():
            if not done:
                raise InvalidInput(
                    f"{field} is not confirmed",
                    rule=rule,
                    field=field,
                    message_zh=f"两断三清未完成：{field}",
                )
        still_on = sorted(
            u.value
            for u, s in self.supplies.items()
            if s.state not in (SupplyState.CUT, SupplyState.NOT_CONNECTED)
        )
        if still_on:
            raise RuleViolation(
                f"supply not yet cut by its utility: {', '.join(still_on)}",
                rule=rule,
                field="water_and_power_cut",
                message_zh=f"供应尚未切断：{', '.join(still_on)}",
            )
        self._require_evidence(evidence, rule, "photos or documents of the cleared site")
        self._record(
            ClosureVerified,
            actor,
            now,
            action=Action.VERIFY_CLOSURE,
            evidence=evidence,
            **checklist,
        )
        self._complete(actor, now, Action.VERIFY_CLOSURE)
        # Production is stopped for good: an order to stop it has nothing left to do.
        self._cancel_tasks(actor, now, "moot: 两断三清 verified", action=Action.ORDER_SUSPENSION)

    # ------------------------------------------------------------ 销号 and after

    def strike_off_blockers(self) -> list[str]:
        """Rule 7: what still stands between the case and 销号 (empty when it may be struck off)."""
        if self.state is CaseState.STRUCK_OFF:
            return ["already struck off"]
        if self.state is CaseState.WITHDRAWN:
            return ["the listing was withdrawn"]
        if self.disposition is None:
            return ["not classified"]
        # Nothing is dropped silently: every task still open must be done or cancelled,
        # with a reason, by the district office. (Named once the disposition's own end
        # conditions hold, which already name the work most open tasks are about.)
        open_work = [
            f"task {t.task_id} of {t.unit} still open: {t.duty}"
            for t in self.open_tasks()
            if t.completes_on is not Action.STRIKE_OFF
        ]
        if self.disposition is Disposition.CLOSE:
            blockers = (
                []
                if self.closure_verified and self.state is CaseState.CLOSURE_VERIFIED
                else ["两断三清 not verified"]
            )
            assert self.enterprise is not None
            if self.enterprise.licensed and not self.licence_revoked:
                blockers.append("business licence not revoked")
            return blockers or open_work
        blockers = [] if self.state is CaseState.ACCEPTED else ["acceptance not passed"]
        blockers += [
            f"{u.value} supply not restored"
            for u, s in self.supplies.items()
            if s.state in (SupplyState.CUT, SupplyState.LIMITED)
        ]
        blockers += [
            f"utility order {o.order_id} still pending"
            for o in self.orders.values()
            if not o.status.is_final
        ]
        return blockers or open_work

    def strike_off(self, actor: Actor, now: datetime, *, follow_up_in: timedelta) -> None:
        blockers = self.strike_off_blockers()
        if blockers:
            raise RuleViolation(
                "the case cannot be struck off: " + "; ".join(blockers),
                rule="rule 7: 销号 only when the disposition's end conditions hold",
                field="state",
                message_zh="不满足销号条件：" + "；".join(blockers),
                details={"blockers": blockers},
            )
        self._record(CaseStruckOff, actor, now, action=Action.STRIKE_OFF)
        self._complete(actor, now, Action.STRIKE_OFF)
        # 回头看 is scheduled, not hoped for: the town gets the re-check as a task.
        self._assign(
            actor,
            now,
            PlannedTask(self.town, "follow-up check (回头看)", Action.RECORD_FOLLOW_UP),
            now + follow_up_in,
            ref="follow-up",
        )

    def record_follow_up(
        self,
        actor: Actor,
        now: datetime,
        *,
        relapse: bool,
        findings: str,
        evidence: tuple[Evidence, ...],
    ) -> None:
        self._require_state("state", CaseState.STRUCK_OFF)
        self._require_text("findings", findings, "回头看 records what was found", "findings")
        self._require_evidence(evidence, "a follow-up check carries evidence", "site photos")
        self._record(
            FollowUpRecorded,
            actor,
            now,
            action=Action.RECORD_FOLLOW_UP,
            relapse=relapse,
            findings=findings,
            evidence=evidence,
        )
        for task in self.open_tasks():  # by the town, or the district office in its place
            if task.completes_on is Action.RECORD_FOLLOW_UP:
                self._record(TaskCompleted, actor, now, task_id=task.task_id, unit=task.unit)
        if relapse:
            self._reopen(actor, now, reason=f"relapse found by 回头看: {findings}", relapse=True)

    def reopen(self, actor: Actor, now: datetime, *, reason: str) -> None:
        self._require_state("state", CaseState.STRUCK_OFF)
        self._require_text("reason", reason, "a reopened case says why", "why")
        self._reopen(actor, now, reason=reason, relapse=False, action=Action.REOPEN_CASE)

    def _reopen(
        self,
        actor: Actor,
        now: datetime,
        *,
        reason: str,
        relapse: bool,
        action: Action | None = None,
    ) -> None:
        self._cancel_tasks(actor, now, "case reopened", action=Action.RECORD_FOLLOW_UP)
        self._record(CaseReopened, actor, now, action=action, reason=reason, relapse=relapse)
        self._record(ApprovalLockApplied, actor, now, note="case reopened")
        # The reopened case goes back to the ledger: economy classifies it again.
        self._assign(
            actor,
            now,
            PlannedTask("economy", "reclassify reopened case", Action.CLASSIFY),
            follow_up_deadline("problem_found_later", now),
            ref="reopen",
        )

    # ------------------------------------------------------------ corrections (rule 9)

    def correct_record(
        self,
        actor: Actor,
        now: datetime,
        *,
        corrects_version: int,
        reason: str,
        changes: dict[str, str | bool | None],
        original: CaseEvent,
    ) -> None:
        """`original` is the event at `corrects_version`, which the application reads from
        the store for the aggregate."""
        rule = "rule 9: a mistake is corrected by a new event that says what it corrects"
        if actor.unit not in (original.actor.unit, DISTRICT_OFFICE):
            raise self._denied(
                f"only {original.actor.unit!r}, who recorded version {original.originator_version},"
                " or the district office may correct it",
                rule,
            )
        self._require_text("reason", reason, rule, "why the record was wrong")
        if not changes:
            raise InvalidInput(
                "changes is empty", rule=rule, field="changes", message_zh="未提供更正内容"
            )
        bad = sorted(set(changes) - CORRECTABLE)
        if bad:
            raise InvalidInput(
                f"cannot correct {', '.join(bad)}; correctable: {', '.join(sorted(CORRECTABLE))}",
                rule=rule,
                field="changes",
                message_zh=f"不可更正的字段：{', '.join(bad)}",
            )
        self._record(
            RecordCorrected,
            actor,
            now,
            action=Action.CORRECT_RECORD,
            corrects_version=corrects_version,
            corrects_event=type(original).__name__,
            reason=reason,
            changes=changes,
        )
