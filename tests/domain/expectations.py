"""What the plan expects of a case, worked out from its history alone: a model of its own,
written from DOMAIN.md sections 4, 6 and 7, not from the aggregate's code. The random
campaigns hold every recorded event to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain import events as ev
from domain.uscc import uscc_problem

CUT, LIMITED, ON = "cut", "limited", "on"


@dataclass
class Expected:
    """A case as the plan describes it, folded event by event."""

    disposition: str | None = None
    licensed: bool = False
    revoked: bool = False
    closure_verified: bool = False  # since the last classification
    accepted: bool = False  # since the last classification
    failed: bool = False  # a failed acceptance, not yet passed
    resumed: bool = False  # unauthorized resumption recorded, not yet accepted
    refused_to_stop: bool = False
    struck_off: bool = False
    withdrawn: bool = False
    supplies: dict[str, str] = field(default_factory=dict)  # connected utilities
    orders: dict[str, tuple[str, str]] = field(default_factory=dict)  # pending: utility, kind
    order_kinds: dict[str, tuple[str, str]] = field(default_factory=dict)
    open_tasks: dict[str, str] = field(default_factory=dict)  # task id -> action it needs

    def grounds_hold(self, grounds: str) -> bool:
        return {
            "close_classification": self.disposition == "close",
            "failed_acceptance": self.failed,
            "unauthorized_resumption": self.resumed,
            "acceptance_passed": self.accepted and not self.struck_off,
            "listing_withdrawn": self.withdrawn,
        }[grounds]

    def may_strike_off(self) -> bool:
        """Rule 7, and section 1: nothing another unit must still do is dropped."""
        if self.struck_off or self.withdrawn or self.disposition is None:
            return False
        if any(action != "strike_off" for action in self.open_tasks.values()):
            return False
        if self.disposition == "close":
            return self.closure_verified and (not self.licensed or self.revoked)
        return (
            self.accepted
            and not self.orders
            and all(state not in (CUT, LIMITED) for state in self.supplies.values())
        )

    def all_cut(self) -> bool:
        """两断三清: every connected supply cut (a limited one is not cut)."""
        return all(state == CUT for state in self.supplies.values())


def check(event: Any, before: Expected) -> list[str]:
    """What is wrong with recording `event` on a case in state `before` (empty: nothing)."""
    wrong: list[str] = []
    if isinstance(event, ev.EnterpriseListed):
        e = event.enterprise
        reason = (e.uscc_override_reason or "").strip()
        problem = (uscc_problem(e.uscc) if e.uscc else "no uscc") or ""
        if reason and not problem.startswith("check character"):
            wrong.append("an override reason without a USCC failing only its check digit")
        if e.uscc and problem and not reason:
            wrong.append("a USCC failing its check accepted without a reason")
    if isinstance(event, ev.UtilityOrderIssued) and not before.grounds_hold(
        event.order.grounds.value
    ):
        wrong.append(f"order on {event.order.grounds.value}, which does not hold (一刀切)")
    if isinstance(event, ev.CaseStruckOff) and not before.may_strike_off():
        wrong.append("struck off before its end conditions held")
    if isinstance(event, ev.ClosureVerified):
        if not all(
            (
                event.water_and_power_cut,
                event.raw_materials_cleared,
                event.products_cleared,
                event.equipment_cleared,
            )
        ):
            wrong.append("两断三清 verified with an item unchecked")
        if not before.all_cut():
            wrong.append("两断三清 verified with a supply not cut")
        if not event.evidence:
            wrong.append("两断三清 verified without evidence")
    violation = before.resumed or before.failed or before.refused_to_stop
    if isinstance(event, ev.JointEnforcementLaunched) and not violation:
        wrong.append("joint enforcement with no violation recorded")
    if isinstance(event, ev.UnauthorizedResumptionReported) and not event.evidence:
        wrong.append("resumption recorded without evidence")
    return wrong


def fold(event: Any, x: Expected) -> None:
    """The plan's account of what `event` changes."""
    if isinstance(event, ev.EnterpriseListed):
        x.licensed = event.enterprise.licensed
        x.supplies = {
            s.utility.value: ON for s in event.supplies if s.state.value != "not_connected"
        }
    elif isinstance(event, ev.Classified):  # and Reclassified
        x.disposition = event.disposition.value
        x.closure_verified = x.accepted = False
    elif isinstance(event, ev.UsccAdded):
        x.licensed = True
    elif isinstance(event, ev.RecordCorrected) and "licensed" in event.changes:
        x.licensed = bool(event.changes["licensed"])
    elif isinstance(event, ev.LicenceRevoked):
        x.revoked = True
    elif isinstance(event, ev.ClosureVerified):
        x.closure_verified = True
    elif isinstance(event, ev.AcceptanceFailed):
        x.failed = True
    elif isinstance(event, ev.AcceptancePassed):
        x.accepted, x.failed, x.resumed = True, False, False
    elif isinstance(event, ev.UnauthorizedResumptionReported):
        x.resumed = True
    elif isinstance(event, ev.RefusalToStopReported):
        x.refused_to_stop = True
    elif isinstance(event, ev.CaseStruckOff):
        x.struck_off = True
    elif isinstance(event, ev.CaseReopened):
        x.struck_off = False
        x.closure_verified = x.accepted = False
    elif isinstance(event, ev.ListingWithdrawn):
        x.withdrawn = True
    elif isinstance(event, ev.UtilityOrderIssued):
        o = event.order
        x.orders[o.order_id] = x.order_kinds[o.order_id] = (o.utility.value, o.kind.value)
    elif isinstance(event, ev.UtilityOrderExecuted):
        utility, kind = x.order_kinds[event.order_id]
        x.supplies[utility] = {"cut": CUT, "limit": LIMITED, "restore": ON}[kind]
        x.orders.pop(event.order_id, None)
    elif isinstance(event, (ev.UtilityOrderRefused, ev.UtilityOrderCancelled)):
        x.orders.pop(event.order_id, None)
    elif isinstance(event, ev.SupplyReconnected):
        x.supplies[event.utility.value] = ON
    elif isinstance(event, ev.TaskAssigned):
        x.open_tasks[event.task.task_id] = event.task.completes_on.value
    elif isinstance(event, (ev.TaskCompleted, ev.TaskCancelled)):
        x.open_tasks.pop(event.task_id, None)
