"""The state of a case and the helpers every part of its behaviour uses.

The `Case` aggregate (case.py) is assembled from small mixins, one per area of
the plan, so each file reads in one sitting. State changes only in the events'
`apply_to`; the methods here check rules and record events.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.actions import Action
from domain.consumption import ConsumptionHistory
from domain.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from domain.events import TaskAssigned, TaskCancelled, TaskCompleted
from domain.linkage import PlannedTask
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
from domain.uscc import uscc_problem
from domain.values import (
    Actor,
    CaseState,
    Disposition,
    Evidence,
    PermitKind,
    SupplyState,
    Utility,
)

DISTRICT_OFFICE = "district-office"
RULE_2 = "rule 2: a USCC passes the GB 32100-2015 check digit"


def check_uscc_value(uscc: str | None, override_reason: str | None) -> None:
    """Rule 2, for a listing and for a USCC added later."""
    if uscc is None:
        if override_reason is not None and override_reason.strip():
            raise InvalidInput(
                "uscc_override_reason given without a uscc",
                rule=RULE_2,
                field="uscc_override_reason",
                message_zh="未提供信用代码却给出了校验豁免理由",
            )
        return  # unlicensed workshops have no USCC, and are listable
    problem = uscc_problem(uscc)
    if problem is None:
        return
    override = (override_reason or "").strip()
    if override and problem.startswith("check character"):
        return  # early pilot codes fail only the checksum: accepted with a recorded override
    raise InvalidInput(
        f"uscc {uscc!r}: {problem}"
        + ("" if override else "; an early pilot code may be listed with uscc_override_reason"),
        rule=RULE_2,
        field="uscc_override_reason" if override_reason is not None and not override else "uscc",
        message_zh=f"统一社会信用代码 {uscc!r} 校验失败：{problem}",
    )


class CaseBase:
    """Declares the case's state; see events.py for how each event changes it."""

    if TYPE_CHECKING:

        @property
        def id(self) -> UUID: ...

        @property
        def version(self) -> int: ...

        @version.setter
        def version(self, version: int) -> None: ...

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def __init__(self) -> None:
        self.enterprise: EnterpriseDetails | None = None
        self.found_by_patrol: UUID | None = None
        self.supplies: dict[Utility, Supply] = {}
        self.problems: dict[str, ProblemRecord] = {}
        self.disposition: Disposition | None = None
        self.deadline: datetime | None = None
        self.classified_by: str | None = None
        self.concurred_by: str | None = None  # 会同: the other unit's concurrence
        self.state: CaseState = CaseState.LISTED
        self.approval_lock = False
        self.licence_revoked = False
        self.revocation_requested = False  # the district government asked market to revoke
        self.suspension_ordered = False
        self.refused_to_stop = False  # 拒不执行停产整治
        self.old_site_verified = False
        self.closure_verified = False
        self.destination: Destination | None = None
        self.park_entry_confirmed = False
        self.acceptance: AcceptanceRound | None = None
        self.acceptance_failed = False
        self.unauthorized_resumption = False
        self.signers_reassigned: dict[str, str] = {}  # arbitration: old signer -> new one
        self.permits: frozenset[PermitKind] = frozenset()
        self.tasks: dict[str, TaskRecord] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.notices: dict[str, Notice] = {}
        self.disputes: dict[str, Dispute] = {}
        self.incidents: dict[str, Incident] = {}
        self.operations: dict[str, JointOperation] = {}
        self.flags: dict[str, ConsumptionFlag] = {}
        self.served: dict[str, ServedNotice] = {}  # notices served on the enterprise
        self.consumption = ConsumptionHistory()
        self.relapses = 0
        self.struck_off_at: datetime | None = None
        self.seq = 0  # numbers the case's tasks, orders, notices... (T3, O7, ...)

    # ------------------------------------------------------------ reading

    @property
    def town(self) -> str:
        assert self.enterprise is not None
        return self.enterprise.town

    @property
    def case_id(self) -> UUID:
        return self.id

    def open_tasks(self) -> list[TaskRecord]:
        return [t for t in self.tasks.values() if t.is_open]

    def connected(self) -> set[Utility]:
        return {u for u, s in self.supplies.items() if s.state is not SupplyState.NOT_CONNECTED}

    # ------------------------------------------------------------ recording

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{self.seq + 1}"

    def _record(self, event_class: type[Any], actor: Actor, now: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, actor=actor, timestamp=now, **fields)

    def _assign(
        self,
        actor: Actor,
        now: datetime,
        planned: PlannedTask,
        deadline: datetime,
        ref: str | None = None,
    ) -> str:
        task_id = self._next_id("T")
        task = TaskRecord(
            task_id=task_id,
            unit=planned.unit,
            duty=planned.duty,
            completes_on=planned.completes_on,
            ref=ref,
            assigned_by=actor.unit,
            assigned_at=now,
            deadline=deadline,
        )
        self._record(TaskAssigned, actor, now, task=task)
        return task_id

    def _complete(
        self, actor: Actor, now: datetime, action: Action, ref: str | None = None
    ) -> None:
        """Linkage: the acting unit's open tasks that this action fulfils are done."""
        for task in self.open_tasks():
            if (
                task.unit == actor.unit
                and task.completes_on is action
                and (ref is None or task.ref == ref)
            ):
                self._record(TaskCompleted, actor, now, task_id=task.task_id, unit=task.unit)

    def _cancel_tasks(
        self,
        actor: Actor,
        now: datetime,
        reason: str,
        *,
        ref: str | None = None,
        action: Action | None = None,
    ) -> None:
        for task in self.open_tasks():
            if (ref is None or task.ref == ref) and (action is None or task.completes_on is action):
                self._record(
                    TaskCancelled, actor, now, task_id=task.task_id, unit=task.unit, reason=reason
                )

    # ------------------------------------------------------------ checks

    def _require_state(self, field: str, *allowed: CaseState) -> None:
        if self.state not in allowed:
            raise RuleViolation(
                f"the case is {self.state.value}; this needs it to be "
                + " or ".join(s.value for s in allowed),
                rule="case lifecycle (DOMAIN.md section 4)",
                field=field,
                message_zh=f"案件当前状态为 {self.state.value}，不允许此操作",
                details={"state": self.state.value},
            )

    def _require_disposition(self, field: str, *allowed: Disposition) -> Disposition:
        if self.disposition not in allowed:
            raise RuleViolation(
                "this needs the case classified as "
                + " or ".join(d.value for d in allowed)
                + f", not {self.disposition.value if self.disposition else 'unclassified'}",
                rule="case lifecycle (DOMAIN.md section 4)",
                field=field,
                message_zh="案件分类不允许此操作",
            )
        assert self.disposition is not None
        return self.disposition

    @staticmethod
    def _require_text(field: str, value: str, rule: str, what: str) -> None:
        if not value or not value.strip():
            raise InvalidInput(
                f"{field} is required: {what}",
                rule=rule,
                field=field,
                message_zh=f"{field} 必填：{what}",
            )

    @staticmethod
    def _require_evidence(evidence: tuple[Evidence, ...], rule: str, what: str) -> None:
        if not evidence:
            raise InvalidInput(
                f"evidence is required: {what}",
                rule=rule,
                field="evidence",
                message_zh=f"必须附证据（内容哈希）：{what}",
            )

    @staticmethod
    def _require_future(field: str, when: datetime, now: datetime) -> None:
        if when.tzinfo is None:
            raise InvalidInput(
                f"{field} must carry a time zone",
                rule="times are unambiguous",
                field=field,
                message_zh=f"{field} 必须带时区",
            )
        if when <= now:
            raise InvalidInput(
                f"{field} {when.isoformat()} is not after now ({now.isoformat()})",
                rule="a deadline lies in the future",
                field=field,
                message_zh=f"{field} 必须晚于当前时间",
            )

    @staticmethod
    def _done_already(field: str, what: str, what_zh: str) -> RuleViolation:
        """The refusal of a thing that is done once (recorded, decided, closed...)."""
        return RuleViolation(what, rule="done once", field=field, message_zh=what_zh)

    @staticmethod
    def _not_found(field: str, what: str, key: str) -> NotFound:
        return NotFound(
            f"no {what} {key!r} on this case",
            rule="reference an existing record",
            field=field,
            message_zh=f"本案件无此{what} {key!r}",
        )

    @staticmethod
    def _denied(message: str, rule: str, field: str = "unit") -> PermissionDenied:
        return PermissionDenied(message, rule=rule, field=field, message_zh=message)

    def _task(self, task_id: str) -> TaskRecord:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise self._not_found("task_id", "task", task_id) from None
