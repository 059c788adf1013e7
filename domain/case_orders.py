"""Utility orders (停、限电 / 停、限水 / 停气) and power readings (DOMAIN.md section 8)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import Action
from domain.case_base import DISTRICT_OFFICE, CaseBase
from domain.consumption import Reading, anomalies
from domain.errors import InvalidInput, RuleViolation
from domain.events import (
    ConsumptionFlagged,
    ConsumptionFlagVerified,
    ConsumptionReported,
    UnauthorizedResumptionReported,
    UtilityOrderAcknowledged,
    UtilityOrderCancelled,
    UtilityOrderExecuted,
    UtilityOrderIssued,
    UtilityOrderRefused,
)
from domain.linkage import PlannedTask, follow_up_deadline
from domain.records import ConsumptionFlag, OrderRecord
from domain.values import (
    Actor,
    CaseState,
    Disposition,
    Evidence,
    LegalBasis,
    OrderKind,
    OrderStatus,
    SupplyState,
    Utility,
)

# A utility's clock may run a little ahead of ours; more than this is a wrong time.
CLOCK_SKEW = timedelta(minutes=5)
RULE_4 = "rule 4: a cut or limit order needs a legal basis and names its document (文号)"
RULE_5 = "rule 5: an order is executed, refused or cancelled exactly once, by its utility"

# The plan's grounds per utility: water is cut for closed enterprises (五); power
# and gas also for failed acceptance and unauthorized resumption (三, 十四).
GROUNDS_FOR: dict[Utility, frozenset[LegalBasis]] = {
    Utility.POWER: frozenset(
        {
            LegalBasis.CLOSE_CLASSIFICATION,
            LegalBasis.FAILED_ACCEPTANCE,
            LegalBasis.UNAUTHORIZED_RESUMPTION,
        }
    ),
    Utility.GAS: frozenset(
        {
            LegalBasis.CLOSE_CLASSIFICATION,
            LegalBasis.FAILED_ACCEPTANCE,
            LegalBasis.UNAUTHORIZED_RESUMPTION,
        }
    ),
    Utility.WATER: frozenset({LegalBasis.CLOSE_CLASSIFICATION}),
}
# A restoration is requested only on passed acceptance (a refused one is re-issued so);
# after a withdrawn listing, linkage issues it.
RESTORE_GROUNDS = frozenset({LegalBasis.ACCEPTANCE_PASSED})
ORDER_ACTION = {
    Utility.POWER: Action.REQUEST_POWER_ORDER,
    Utility.WATER: Action.REQUEST_WATER_ORDER,
    Utility.GAS: Action.REQUEST_GAS_ORDER,
}
# Production must be stopped in these states, so a jump in power use means something.
PRODUCTION_STOPPED = (
    CaseState.SUSPENDED,
    CaseState.ACCEPTANCE_REQUESTED,
    CaseState.CLOSURE_VERIFIED,
)


class OrdersMixin(CaseBase):
    def grounds_hold(self, grounds: LegalBasis) -> bool:
        return {
            LegalBasis.CLOSE_CLASSIFICATION: self.disposition is Disposition.CLOSE,
            LegalBasis.FAILED_ACCEPTANCE: self.acceptance_failed,
            LegalBasis.UNAUTHORIZED_RESUMPTION: self.unauthorized_resumption,
            LegalBasis.ACCEPTANCE_PASSED: self.state is CaseState.ACCEPTED,
            LegalBasis.LISTING_WITHDRAWN: False,  # restoration after withdrawal: linkage only
        }[grounds]

    def request_utility_order(
        self,
        actor: Actor,
        now: datetime,
        *,
        utility: Utility,
        kind: OrderKind,
        grounds: LegalBasis,
        document_number: str,
        deadline: datetime,
        legal_basis: str = "",
    ) -> str:
        restoring = kind is OrderKind.RESTORE
        if restoring and grounds not in RESTORE_GROUNDS:
            raise InvalidInput(
                "a restoration is requested on passed acceptance (acceptance_passed) only",
                rule=RULE_4,
                field="grounds",
                message_zh="恢复供应只能以验收通过为依据",
            )
        if utility is Utility.GAS and kind is OrderKind.LIMIT:
            raise InvalidInput(
                "gas is cut, never limited (停气)",
                rule=RULE_4,
                field="kind",
                message_zh="燃气只能停气，不能限气",
            )
        if not restoring and grounds not in GROUNDS_FOR[utility]:
            raise InvalidInput(
                f"{grounds.value} is no ground for a {utility.value} order; the plan allows "
                + ", ".join(sorted(g.value for g in GROUNDS_FOR[utility])),
                rule=RULE_4,
                field="grounds",
                message_zh="该法律依据不适用于此类供应指令",
            )
        if not self.grounds_hold(grounds):
            raise RuleViolation(
                f"{grounds.value} does not hold for this case: no blanket orders (一刀切)",
                rule=RULE_4,
                field="grounds",
                message_zh="案件不具备该法律依据，禁止一刀切",
            )
        self._require_text("document_number", document_number, RULE_4, "the decision's 文号")
        self._require_future("deadline", deadline, now)
        supply = self.supplies.get(utility)
        if supply is None or supply.state is SupplyState.NOT_CONNECTED:
            raise RuleViolation(
                f"the enterprise has no {utility.value} connection",
                rule=RULE_4,
                field="utility",
                message_zh="该企业未接入此供应",
            )
        if any(o.utility is utility and not o.status.is_final for o in self.orders.values()):
            raise RuleViolation(
                f"a {utility.value} order is already pending",
                rule=RULE_4,
                field="utility",
                message_zh="已有未完成的同类指令",
            )
        if restoring and supply.state is SupplyState.ON:
            raise RuleViolation(
                f"{utility.value} is on: nothing to restore",
                rule=RULE_4,
                field="kind",
                message_zh="供应正常，无需恢复",
            )
        if not restoring and (
            supply.state is SupplyState.CUT
            or (supply.state is SupplyState.LIMITED and kind is OrderKind.LIMIT)
        ):
            raise RuleViolation(
                f"{utility.value} is already {supply.state.value}",
                rule=RULE_4,
                field="kind",
                message_zh="供应已处于该状态",
            )
        order_id = self._issue(
            actor,
            now,
            utility,
            kind,
            grounds,
            document_number,
            deadline,
            requested_by=actor.unit,
            legal_basis=legal_basis,
            action=ORDER_ACTION[utility],
        )
        self._complete(actor, now, ORDER_ACTION[utility])
        return order_id

    def _issue(
        self,
        actor: Actor,
        now: datetime,
        utility: Utility,
        kind: OrderKind,
        grounds: LegalBasis,
        document_number: str,
        deadline: datetime,
        *,
        requested_by: str,
        legal_basis: str = "",
        action: Action | None = None,
    ) -> str:
        assert self.enterprise is not None
        order_id = f"{self.id}/O{self.seq + 1}"
        order = OrderRecord(
            order_id=order_id,
            utility=utility,
            kind=kind,
            grounds=grounds,
            document_number=document_number,
            requested_by=requested_by,
            deadline=deadline,
            enterprise_name=self.enterprise.name,
            uscc=self.enterprise.uscc,
            address=self.enterprise.address,
            town=self.enterprise.town,
            account=self.supplies[utility].account,
            issued_at=now,
        )
        self._record(
            UtilityOrderIssued,
            actor,
            now,
            action=action,
            order=order,
            document_number=document_number,
            legal_basis=legal_basis,
        )
        self._assign(
            actor,
            now,
            PlannedTask(utility.value, f"execute {kind.value} order", Action.EXECUTE_ORDER),
            deadline,
            ref=order_id,
        )
        return order_id

    def _order(self, order_id: str) -> OrderRecord:
        try:
            return self.orders[order_id]
        except KeyError:
            raise self._not_found("order_id", "utility order", order_id) from None

    def _order_for_utility(self, actor: Actor, order_id: str) -> OrderRecord:
        order = self._order(order_id)
        if order.utility.value != actor.unit:
            raise self._denied(
                f"order {order_id} is addressed to {order.utility.value!r}, not {actor.unit!r}",
                RULE_5,
                field="order_id",
            )
        return order

    def _open_order_for_utility(
        self, actor: Actor, order_id: str, receipt_id: str | None
    ) -> OrderRecord | None:
        """The order to act on, or None when this very receipt was applied already
        (a redelivered receipt records nothing and is not an error)."""
        order = self._order_for_utility(actor, order_id)
        if receipt_id is not None and receipt_id in order.receipts:
            return None
        if order.status.is_final:
            raise RuleViolation(
                f"order {order_id} is already {order.status.value}",
                rule=RULE_5,
                field="order_id",
                message_zh=f"该指令已{order.status.value}",
                details={"status": order.status.value},
            )
        return order

    def acknowledge_order(
        self, actor: Actor, now: datetime, *, order_id: str, receipt_id: str | None = None
    ) -> None:
        order = self._open_order_for_utility(actor, order_id, receipt_id)
        if order is None:
            return
        if order.status is OrderStatus.ACKNOWLEDGED:
            raise RuleViolation(
                f"order {order_id} is already acknowledged",
                rule=RULE_5,
                field="order_id",
                message_zh="该指令已签收",
            )
        self._record(
            UtilityOrderAcknowledged,
            actor,
            now,
            action=Action.ACKNOWLEDGE_ORDER,
            order_id=order_id,
            receipt_id=receipt_id,
        )

    def execute_order(
        self,
        actor: Actor,
        now: datetime,
        *,
        order_id: str,
        meter: str,
        reading: float,
        executed_at: datetime,
        evidence: tuple[Evidence, ...] = (),
        receipt_id: str | None = None,
    ) -> None:
        if self._open_order_for_utility(actor, order_id, receipt_id) is None:
            return
        self._require_text("meter", meter, RULE_5, "the meter or account number acted on")
        if executed_at > now + CLOCK_SKEW:
            raise InvalidInput(
                "executed_at lies in the future",
                rule=RULE_5,
                field="executed_at",
                message_zh="执行时间不能晚于当前时间",
            )
        self._record(
            UtilityOrderExecuted,
            actor,
            now,
            action=Action.EXECUTE_ORDER,
            order_id=order_id,
            meter=meter,
            reading=reading,
            executed_at=executed_at,
            evidence=evidence,
            receipt_id=receipt_id,
        )
        self._complete(actor, now, Action.EXECUTE_ORDER, ref=order_id)

    def refuse_order(
        self,
        actor: Actor,
        now: datetime,
        *,
        order_id: str,
        reason: str,
        receipt_id: str | None = None,
    ) -> None:
        if self._open_order_for_utility(actor, order_id, receipt_id) is None:
            return
        self._require_text("reason", reason, RULE_5, "why the utility refuses")
        self._record(
            UtilityOrderRefused,
            actor,
            now,
            action=Action.REFUSE_ORDER,
            order_id=order_id,
            reason=reason,
            receipt_id=receipt_id,
        )
        self._complete(actor, now, Action.EXECUTE_ORDER, ref=order_id)
        self._follow_up_order(actor, now, self.orders[order_id], "refused")

    def cancel_order(self, actor: Actor, now: datetime, *, order_id: str, reason: str) -> None:
        order = self._order(order_id)
        if actor.unit not in (order.requested_by, DISTRICT_OFFICE):
            raise self._denied(
                f"only {order.requested_by!r}, who requested order {order_id}, or "
                "the district office may cancel it",
                RULE_5,
                field="order_id",
            )
        if order.status.is_final:
            raise RuleViolation(
                f"order {order_id} is already {order.status.value}",
                rule=RULE_5,
                field="order_id",
                message_zh=f"该指令已{order.status.value}",
            )
        self._require_text("reason", reason, RULE_5, "why the order is cancelled")
        self._cancel_order(actor, now, order_id, reason, action=Action.CANCEL_UTILITY_ORDER)
        self._follow_up_order(actor, now, order, "cancelled")

    def _follow_up_order(self, actor: Actor, now: datetime, order: OrderRecord, how: str) -> None:
        """An order that ends unexecuted leaves its purpose undone: the unit that requested
        it must re-issue it or have the district office close the task with a reason."""
        self._assign(
            actor,
            now,
            PlannedTask(
                order.requested_by,
                f"re-issue or resolve the {how} {order.utility.value} {order.kind.value} order",
                ORDER_ACTION[order.utility],
            ),
            follow_up_deadline("reissue_order", now),
            ref=order.order_id,
        )

    def _cancel_order(
        self, actor: Actor, now: datetime, order_id: str, reason: str, action: Action | None = None
    ) -> None:
        self._record(
            UtilityOrderCancelled, actor, now, action=action, order_id=order_id, reason=reason
        )
        self._cancel_tasks(actor, now, f"order cancelled: {reason}", ref=order_id)

    # ------------------------------------------------------------ readings

    def report_consumption(
        self, actor: Actor, now: datetime, *, readings: tuple[Reading, ...]
    ) -> list[str]:
        if not readings:
            raise InvalidInput(
                "readings is empty",
                rule="a report carries readings",
                field="readings",
                message_zh="读数不能为空",
            )
        supply = self.supplies.get(Utility.POWER)
        if supply is None or supply.state is SupplyState.NOT_CONNECTED:
            raise RuleViolation(
                "the enterprise has no power connection",
                rule="readings of a connected enterprise",
                field="readings",
                message_zh="该企业未接入电力",
            )
        days = [r.day for r in readings]
        last = self.consumption.last_day
        if len(set(days)) != len(days) or (last is not None and min(days) <= last):
            raise InvalidInput(
                "each day is reported once, in order: "
                + (
                    f"days up to {last.isoformat()} are reported already"
                    if last
                    else "a day repeats"
                ),
                rule="one reading per day, reported in day order",
                field="readings",
                message_zh="每天只能报告一次读数，且须按日期顺序报告",
            )
        history = self.consumption
        self._record(
            ConsumptionReported, actor, now, action=Action.REPORT_CONSUMPTION, readings=readings
        )
        flags: list[str] = []
        if self.state in PRODUCTION_STOPPED or (
            self.state is CaseState.STRUCK_OFF and self.disposition is Disposition.CLOSE
        ):
            for anomaly in anomalies(history, list(readings)):  # judged on the past only
                flag_id = self._next_id("F")
                self._record(
                    ConsumptionFlagged,
                    actor,
                    now,
                    flag=ConsumptionFlag(
                        flag_id=flag_id,
                        day=anomaly.day.isoformat(),
                        rule=anomaly.rule,
                        detail=anomaly.detail,
                    ),
                )
                # A flag is a reason to look, never a penalty: the town verifies on site.
                self._assign(
                    actor,
                    now,
                    PlannedTask(
                        self.town, "verify consumption flag on site", Action.VERIFY_CONSUMPTION_FLAG
                    ),
                    follow_up_deadline("verify_consumption_flag", now),
                    ref=flag_id,
                )
                flags.append(flag_id)
        return flags

    def verify_consumption_flag(
        self,
        actor: Actor,
        now: datetime,
        *,
        flag_id: str,
        resumed: bool,
        evidence: tuple[Evidence, ...],
    ) -> None:
        flag = self.flags.get(flag_id)
        if flag is None:
            raise self._not_found("flag_id", "consumption flag", flag_id)
        if flag.verified:
            raise self._done_already(
                "flag_id", f"flag {flag_id} is already verified", "该异常已核查"
            )
        self._require_evidence(evidence, "a site check carries evidence", "site photos")
        self._record(
            ConsumptionFlagVerified,
            actor,
            now,
            action=Action.VERIFY_CONSUMPTION_FLAG,
            flag_id=flag_id,
            resumed=resumed,
            evidence=evidence,
        )
        self._complete(actor, now, Action.VERIFY_CONSUMPTION_FLAG, ref=flag_id)
        if resumed:
            self._record_resumption(
                actor, now, source=f"consumption flag {flag_id}", evidence=evidence
            )

    def _record_resumption(
        self,
        actor: Actor,
        now: datetime,
        *,
        source: str,
        evidence: tuple[Evidence, ...],
        action: Action | None = None,
        note: str = "",
    ) -> None:
        self._record(
            UnauthorizedResumptionReported,
            actor,
            now,
            action=action,
            source=source,
            evidence=evidence,
            note=note,
        )
        self._assign(
            actor,
            now,
            PlannedTask(
                self.town, "launch joint enforcement (联合执法)", Action.LAUNCH_JOINT_ENFORCEMENT
            ),
            follow_up_deadline("joint_enforcement", now),
            ref="resumption",
        )
