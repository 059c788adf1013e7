"""What a unit is told (DOMAIN.md 12: every unit has an inbox, and learns at once what
another unit's decision asks of it).

An inbox item is an open task of the unit; what changes in an inbox is read off the
case's tasks before and after an event, as the domain left them. The status view's
live stream and the notify gateway's webhooks both tell these changes, so both say
the same thing, and neither re-codes the lifecycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain import commands as c
from domain.actions import Action
from domain.records import TaskRecord


class ItemKind(StrEnum):
    TASK = "task"  # any other duty of the plan
    ORDER = "order"  # a utility order to carry out
    ACCEPTANCE = "acceptance"  # an acceptance round awaiting the unit's signature
    SUPERVISION_NOTICE = "supervision_notice"  # a 督办 to answer
    DISPUTE = "dispute"  # a dispute to arbitrate


KIND_OF_ACTION: dict[Action, ItemKind] = {
    Action.EXECUTE_ORDER: ItemKind.ORDER,
    Action.SIGN_ACCEPTANCE: ItemKind.ACCEPTANCE,
    Action.ANSWER_SUPERVISION_NOTICE: ItemKind.SUPERVISION_NOTICE,
    Action.ARBITRATE_DISPUTE: ItemKind.DISPUTE,
}


def item_kind(completes_on: Action | str) -> ItemKind:
    return KIND_OF_ACTION.get(Action(completes_on), ItemKind.TASK)


def _completing_paths() -> dict[Action, str]:
    """The request that completes a task, per action (from the commands' written slugs)."""
    paths = {k.action: f"/cases/{{case_id}}/{k.slug}" for k in c.CASE_COMMANDS}
    for action in (Action.REQUEST_WATER_ORDER, Action.REQUEST_GAS_ORDER):
        paths[action] = paths[Action.REQUEST_POWER_ORDER]
    for action in (
        Action.CLOSE_PETITION,
        Action.CLOSE_CRIMINAL_INVESTIGATION,
        Action.CLOSE_REFERRAL,
        Action.LIFT_VEHICLE_RESTRICTION,
        Action.CLOSE_HAZARD_REMOVAL,
    ):
        paths[action] = paths[Action.CLOSE_PUBLIC_OPINION]
    paths[Action.ORDER_HAZARD_REMOVAL] = paths[Action.RECORD_PUBLIC_OPINION]
    paths[Action.EXECUTE_ORDER] = "/orders/{order_id}/" + c.ExecuteOrder.slug
    return paths


COMPLETED_BY = _completing_paths()


def completing_path(completes_on: Action | str, case_id: str, ref: str | None) -> str:
    """`POST` here completes the task (an order's task names the order in `ref`)."""
    return COMPLETED_BY[Action(completes_on)].format(case_id=case_id, order_id=ref or "")


class Change(StrEnum):
    OPENED = "opened"  # a new item waits on the unit
    CHANGED = "changed"  # its deadline or what it concerns changed
    REMINDED = "reminded"  # a reminder was sent (deadline near, today, or passed)
    DONE = "done"  # the unit did what was asked
    CANCELLED = "cancelled"  # the district office cancelled it, with a reason
    REASSIGNED = "reassigned"  # arbitration moved it to another unit


@dataclass(frozen=True)
class ItemChange:
    unit: str  # the unit whose inbox changed
    change: Change
    task: TaskRecord

    @property
    def kind(self) -> ItemKind:
        return item_kind(self.task.completes_on)


def item_changes(
    before: Mapping[str, TaskRecord], after: Mapping[str, TaskRecord]
) -> list[ItemChange]:
    """The inbox changes between a case's tasks before and after some events, in task
    order. A task closed in the same breath as it opened is told as closed only."""
    changes: list[ItemChange] = []
    for task_id, now in after.items():
        was = before.get(task_id)
        if was is now or was == now:
            continue
        if was is not None and was.unit != now.unit:
            changes.append(ItemChange(was.unit, Change.REASSIGNED, now))
            was = None
        if now.done_at is not None:
            changes.append(ItemChange(now.unit, Change.DONE, now))
        elif now.cancelled_at is not None:
            changes.append(ItemChange(now.unit, Change.CANCELLED, now))
        elif was is None:
            changes.append(ItemChange(now.unit, Change.OPENED, now))
        elif was.reminded != now.reminded:
            changes.append(ItemChange(now.unit, Change.REMINDED, now))
        else:
            changes.append(ItemChange(now.unit, Change.CHANGED, now))
    return changes
