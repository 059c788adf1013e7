"""Duties of the plan beyond the main lifecycle: the town's concurrence in classification
(会同), revocation at the district government's request, housing's assistance, refusal to
stop production, the relocation's destination park, the enterprise's own side (原则三),
resumption found after 销号, withdrawal of a mistaken listing, and cancelling a task."""

from __future__ import annotations

from datetime import datetime

from domain.actions import Action
from domain.case_acceptance import AcceptanceMixin
from domain.case_base import check_uscc_value
from domain.case_lifecycle import LifecycleMixin
from domain.case_orders import PRODUCTION_STOPPED
from domain.errors import InvalidInput, RuleViolation
from domain.events import (
    ApprovalLockLifted,
    AssistanceRecorded,
    ClassificationConcurred,
    ClassificationObjected,
    DestinationSet,
    EnterpriseNoticeServed,
    LicenceRevocationRequested,
    ListingWithdrawn,
    ObjectionDecided,
    ObjectionRecorded,
    ParkEntryConfirmed,
    RefusalToStopReported,
    SewerWorkRecorded,
    SupplyReconnected,
    UsccAdded,
)
from domain.linkage import (
    ORDER_REQUESTER,
    PROBLEM_ASSISTS,
    PlannedTask,
    follow_up_deadline,
)
from domain.records import Destination, ServedNotice
from domain.values import (
    Actor,
    CaseState,
    Disposition,
    Evidence,
    LegalBasis,
    OrderKind,
    SupplyState,
    Utility,
)

ENDED = (CaseState.STRUCK_OFF, CaseState.WITHDRAWN)


class DutiesMixin(LifecycleMixin, AcceptanceMixin):
    # ------------------------------------------------------------ 会同 (三)

    def concur_classification(
        self, actor: Actor, now: datetime, *, agree: bool, reason: str = ""
    ) -> None:
        if self.disposition is None or self.classified_by is None:
            raise RuleViolation(
                "the case is not classified: nothing to concur with",
                rule="三: classification 会同属地镇街",
                field="state",
                message_zh="案件尚未分类",
            )
        self._require_live("state")
        other = self._co_classifier(self.classified_by)
        if actor.unit != other:
            raise self._denied(
                f"the classification by {self.classified_by!r} is concurred by {other!r}",
                "三: classification 会同属地镇街",
            )
        if self.concurred_by is not None:
            raise self._done_already(
                "agree", f"{self.concurred_by!r} already concurred", "已会同确认"
            )
        if agree:
            self._record(
                ClassificationConcurred,
                actor,
                now,
                action=Action.CONCUR_CLASSIFICATION,
                unit=actor.unit,
                note=reason,
            )
            self._complete(actor, now, Action.CONCUR_CLASSIFICATION)
            return
        self._require_text("reason", reason, "an objection says why", "不同意的理由")
        self._record(
            ClassificationObjected,
            actor,
            now,
            action=Action.CONCUR_CLASSIFICATION,
            unit=actor.unit,
            reason=reason,
        )
        self._complete(actor, now, Action.CONCUR_CLASSIFICATION)
        self._assign(
            actor,
            now,
            PlannedTask(
                self.classified_by,
                f"reconsider the classification: {actor.unit} objects",
                Action.CLASSIFY,
            ),
            follow_up_deadline("concur_classification", now),
            ref="classification",
        )

    # ------------------------------------------------------------ 七: revocation on request

    def request_licence_revocation(
        self, actor: Actor, now: datetime, *, reason: str, document_number: str
    ) -> None:
        self._require_live("state")
        assert self.enterprise is not None
        if not self.enterprise.licensed or self.licence_revoked:
            raise RuleViolation(
                "the enterprise holds no business licence to revoke",
                rule="revoke only a licence that exists",
                field="licensed",
                message_zh="该企业无可吊销的营业执照",
            )
        if self.revocation_requested:
            raise self._done_already("state", "revocation is already requested", "已提请吊销")
        self._require_text("reason", reason, "a request names the unlawful conduct", "违法事实")
        self._require_text("document_number", document_number, "a request has a 文号", "文号")
        self._record(
            LicenceRevocationRequested,
            actor,
            now,
            action=Action.REQUEST_LICENCE_REVOCATION,
            reason=reason,
            document_number=document_number,
        )
        if not self._has_open("market", Action.REVOKE_LICENCE):
            self._assign(
                actor,
                now,
                PlannedTask("market", "revoke business licence on request", Action.REVOKE_LICENCE),
                follow_up_deadline("revoke_on_request", now),
                ref="revocation",
            )

    # ------------------------------------------------------------ 五: housing

    def record_assistance(
        self,
        actor: Actor,
        now: datetime,
        *,
        problem_id: str,
        description: str,
        evidence: tuple[Evidence, ...] = (),
    ) -> None:
        problem = self.problems.get(problem_id)
        if problem is None:
            raise self._not_found("problem_id", "problem", problem_id)
        if PROBLEM_ASSISTS.get(problem.kind) != actor.unit:
            raise self._denied(
                f"{actor.unit!r} does not assist on {problem.kind.value} problems",
                "五: housing assists the competent authority on illegal structures",
                field="problem_id",
            )
        self._require_text("description", description, "assistance says what was done", "内容")
        self._record(
            AssistanceRecorded,
            actor,
            now,
            action=Action.RECORD_ASSISTANCE,
            problem_id=problem_id,
            description=description,
            evidence=evidence,
        )
        self._complete(actor, now, Action.RECORD_ASSISTANCE)

    def record_sewer_work(
        self,
        actor: Actor,
        now: datetime,
        *,
        description: str,
        completed: bool,
        evidence: tuple[Evidence, ...] = (),
    ) -> None:
        self._require_text("description", description, "sewer work says what was built", "内容")
        self._record(
            SewerWorkRecorded,
            actor,
            now,
            action=Action.RECORD_SEWER_WORK,
            description=description,
            completed=completed,
            evidence=evidence,
        )

    # ------------------------------------------------------------ 十五: the town's findings

    def report_refusal_to_stop(
        self, actor: Actor, now: datetime, *, evidence: tuple[Evidence, ...], note: str = ""
    ) -> None:
        self._require_state("state", CaseState.SUSPENDED)
        if self.refused_to_stop:
            raise self._done_already(
                "state", "refusal to stop is already recorded", "拒不停产已登记"
            )
        self._require_evidence(
            evidence, "拒不执行停产整治 is recorded with evidence", "photos of production"
        )
        self._record(
            RefusalToStopReported,
            actor,
            now,
            action=Action.REPORT_REFUSAL_TO_STOP,
            evidence=evidence,
            note=note,
        )
        if not self._has_open(self.town, Action.LAUNCH_JOINT_ENFORCEMENT):
            self._assign(
                actor,
                now,
                PlannedTask(
                    self.town,
                    "launch joint enforcement (联合执法)",
                    Action.LAUNCH_JOINT_ENFORCEMENT,
                ),
                follow_up_deadline("joint_enforcement", now),
                ref="refusal",
            )

    def report_unauthorized_resumption(
        self,
        actor: Actor,
        now: datetime,
        *,
        evidence: tuple[Evidence, ...],
        note: str = "",
        reconnected: tuple[Utility, ...] = (),
    ) -> None:
        """未经验收擅自恢复生产. Found after 销号 it is a relapse: the case reopens. Supplies
        the town found reconnected are on again, so that they can be cut again."""
        allowed = (*PRODUCTION_STOPPED, CaseState.STRUCK_OFF) + (
            (CaseState.CLASSIFIED,) if self.disposition is Disposition.CLOSE else ()
        )
        self._require_state("state", *allowed)
        self._require_evidence(
            evidence, "未经验收擅自恢复生产 is recorded with evidence", "photos of production"
        )
        for utility in reconnected:
            supply = self.supplies.get(utility)
            if supply is None or supply.state not in (SupplyState.CUT, SupplyState.LIMITED):
                raise RuleViolation(
                    f"{utility.value} supply was not cut or limited",
                    rule="a reconnection is reported on a supply that was cut",
                    field="reconnected",
                    message_zh="该供应未被切断或限制",
                )
        self._resumed(
            actor, now, tuple(dict.fromkeys(reconnected)), evidence, note, source="town_report"
        )

    def report_reconnection(
        self, actor: Actor, now: datetime, *, evidence: tuple[Evidence, ...], note: str = ""
    ) -> None:
        """A utility finds its cut supply reconnected without an order."""
        utility = next((u for u in Utility if u.value == actor.unit), None)
        supply = self.supplies.get(utility) if utility else None
        if (
            utility is None
            or supply is None
            or supply.state not in (SupplyState.CUT, SupplyState.LIMITED)
        ):
            raise RuleViolation(
                f"the {actor.unit} supply of this enterprise is not cut or limited",
                rule="a reconnection is reported on a supply that was cut",
                field="unit",
                message_zh="该企业本单位供应未被切断或限制",
            )
        self._require_evidence(evidence, "a reconnection is reported with evidence", "photos")
        self._resumed(actor, now, (utility,), evidence, note, source=f"reconnected ({actor.unit})")

    def _resumed(
        self,
        actor: Actor,
        now: datetime,
        reconnected: tuple[Utility, ...],
        evidence: tuple[Evidence, ...],
        note: str,
        source: str,
    ) -> None:
        action = (
            Action.REPORT_UNAUTHORIZED_RESUMPTION
            if source == "town_report"
            else Action.REPORT_RECONNECTION
        )
        for utility in reconnected:
            self._record(
                SupplyReconnected, actor, now, action=action, utility=utility, evidence=evidence
            )
        if self.state is CaseState.STRUCK_OFF:
            self._reopen(
                actor, now, reason=f"production resumed after 销号 ({source})", relapse=True
            )
        self._record_resumption(
            actor,
            now,
            source=source,
            evidence=evidence,
            action=Action.REPORT_UNAUTHORIZED_RESUMPTION if source == "town_report" else None,
            note=note,
        )

    # ------------------------------------------------------------ relocation's destination

    def set_relocation_destination(
        self, actor: Actor, now: datetime, *, park: str, address: str
    ) -> None:
        self._require_disposition("park", Disposition.RELOCATE)
        self._require_state("state", CaseState.CLASSIFIED, CaseState.SUSPENDED)
        self._require_text("address", address, "the destination has an address", "地址")
        if park == self.town:
            raise InvalidInput(
                "the destination park is the enterprise's own town",
                rule="入园: relocation moves the enterprise into a park platform",
                field="park",
                message_zh="搬迁目的地不能是原镇街",
            )
        self._cancel_tasks(actor, now, "destination changed", action=Action.CONFIRM_PARK_ENTRY)
        self._record(
            DestinationSet,
            actor,
            now,
            action=Action.SET_RELOCATION_DESTINATION,
            destination=Destination(park=park, address=address),
        )
        self._complete(actor, now, Action.SET_RELOCATION_DESTINATION)
        self._assign(
            actor,
            now,
            PlannedTask(
                park, "admit the enterprise into the park (入园)", Action.CONFIRM_PARK_ENTRY
            ),
            follow_up_deadline("park_entry", now),
            ref="classification",
        )

    def confirm_park_entry(
        self, actor: Actor, now: datetime, *, evidence: tuple[Evidence, ...] = ()
    ) -> None:
        if self.destination is None or self.destination.park != actor.unit:
            raise self._denied(
                "only the destination park confirms the entry",
                "入园: the park platform admits the enterprise",
            )
        if self.park_entry_confirmed:
            raise self._done_already("state", "entry already confirmed", "已确认入园")
        self._require_state("state", CaseState.CLASSIFIED, CaseState.SUSPENDED)
        self._record(
            ParkEntryConfirmed,
            actor,
            now,
            action=Action.CONFIRM_PARK_ENTRY,
            park=actor.unit,
            evidence=evidence,
        )
        self._complete(actor, now, Action.CONFIRM_PARK_ENTRY)

    # ------------------------------------------------------------ the enterprise's side

    def serve_enterprise_notice(
        self,
        actor: Actor,
        now: datetime,
        *,
        kind: str,
        document_number: str,
        respond_by: datetime,
        evidence: tuple[Evidence, ...] = (),
    ) -> str:
        self._require_live("state")
        self._require_text("kind", kind, "a notice says what it is", "文书名称")
        self._require_text("document_number", document_number, "a notice has a 文号", "文号")
        self._require_future("respond_by", respond_by, now)
        served_id = self._next_id("S")
        self._record(
            EnterpriseNoticeServed,
            actor,
            now,
            action=Action.SERVE_ENTERPRISE_NOTICE,
            document_number=document_number,
            evidence=evidence,
            served=ServedNotice(
                served_id=served_id,
                kind=kind,
                document_number=document_number,
                served_on=now,
                respond_by=respond_by,
            ),
        )
        return served_id

    def record_objection(
        self,
        actor: Actor,
        now: datetime,
        *,
        served_id: str,
        statement: str,
        hearing_requested: bool = False,
        evidence: tuple[Evidence, ...] = (),
    ) -> None:
        served = self.served.get(served_id)
        if served is None:
            raise self._not_found("served_id", "served notice", served_id)
        if served.objection is not None:
            raise self._done_already(
                "served_id", "an objection to this notice is already recorded", "已登记异议"
            )
        self._require_text("statement", statement, "an objection says why", "陈述申辩内容")
        self._record(
            ObjectionRecorded,
            actor,
            now,
            action=Action.RECORD_OBJECTION,
            served_id=served_id,
            statement=statement,
            hearing_requested=hearing_requested,
            evidence=evidence,
        )
        decider = self.classified_by or self.town
        self._assign(
            actor,
            now,
            PlannedTask(
                decider,
                "hear the enterprise (听证)" if hearing_requested else "decide the objection",
                Action.DECIDE_OBJECTION,
            ),
            follow_up_deadline("decide_objection", now),
            ref=served_id,
        )

    def decide_objection(
        self, actor: Actor, now: datetime, *, served_id: str, upheld: bool, outcome: str
    ) -> None:
        served = self.served.get(served_id)
        if served is None or served.objection is None:
            raise self._not_found("served_id", "objection", served_id)
        if served.outcome is not None:
            raise self._done_already("served_id", "already decided", "已作出决定")
        holder = next(
            (
                t.unit
                for t in self.open_tasks()
                if t.ref == served_id and t.completes_on is Action.DECIDE_OBJECTION
            ),
            None,
        )
        if holder != actor.unit:
            raise self._denied(
                f"the objection is decided by {holder!r}", "the unit that decided hears it"
            )
        self._require_text("outcome", outcome, "a decision says what was decided", "决定内容")
        self._record(
            ObjectionDecided,
            actor,
            now,
            action=Action.DECIDE_OBJECTION,
            served_id=served_id,
            upheld=upheld,
            outcome=outcome,
        )
        self._complete(actor, now, Action.DECIDE_OBJECTION, ref=served_id)

    # ------------------------------------------------------------ mistakes and registrations

    def withdraw_listing(self, actor: Actor, now: datetime, *, reason: str) -> None:
        """A listing made by mistake is withdrawn, never deleted: its open work is
        cancelled, pending orders are cancelled, cut supplies are restored and the
        approval lock lifts."""
        self._require_live("state")
        self._require_text("reason", reason, "a withdrawal says why the listing was wrong", "理由")
        self._record(ListingWithdrawn, actor, now, action=Action.WITHDRAW_LISTING, reason=reason)
        for order in list(self.orders.values()):
            if not order.status.is_final:
                self._cancel_order(actor, now, order.order_id, "listing withdrawn")
        self._cancel_tasks(actor, now, f"listing withdrawn: {reason}")
        for utility, supply in list(self.supplies.items()):
            if supply.state in (SupplyState.CUT, SupplyState.LIMITED):
                self._issue(
                    actor,
                    now,
                    utility,
                    OrderKind.RESTORE,
                    LegalBasis.LISTING_WITHDRAWN,
                    f"撤销列入 {self.id}",
                    follow_up_deadline("restoration", now),
                    requested_by=ORDER_REQUESTER[utility] or self.town,
                )
        if self.approval_lock:
            self._record(ApprovalLockLifted, actor, now, note="listing withdrawn")

    def add_uscc(
        self, actor: Actor, now: datetime, *, uscc: str, uscc_override_reason: str | None = None
    ) -> None:
        assert self.enterprise is not None
        if self.enterprise.uscc is not None:
            raise RuleViolation(
                f"the case already has USCC {self.enterprise.uscc}",
                rule="rule 9: a wrong USCC is corrected, not added",
                field="uscc",
                message_zh="该案件已有统一社会信用代码",
            )
        self._require_live("state")
        check_uscc_value(uscc, uscc_override_reason)
        self._record(
            UsccAdded,
            actor,
            now,
            action=Action.ADD_USCC,
            uscc=uscc,
            note=uscc_override_reason or "",
        )

    def _require_live(self, field: str) -> None:
        if self.state in ENDED:
            raise RuleViolation(
                f"the case is {self.state.value}",
                rule="case lifecycle (DOMAIN.md section 4)",
                field=field,
                message_zh=f"案件当前状态为 {self.state.value}，不允许此操作",
                details={"state": self.state.value},
            )


__all__ = ["DutiesMixin"]
