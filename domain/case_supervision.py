"""督查督办: the district office's supervision, deadlines, disputes; incidents on a case."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import Action
from domain.case_base import DISTRICT_OFFICE, CaseBase
from domain.deadlines import Threshold, reminder_due
from domain.errors import InvalidInput, RuleViolation
from domain.events import (
    DeadlineExtended,
    DisputeArbitrated,
    DisputeRaised,
    HazardRemovalReported,
    IncidentClosed,
    IncidentOpened,
    SupervisionNoticeAnswered,
    SupervisionNoticeIssued,
    TaskCancelled,
    TaskReassigned,
    TaskReminded,
)
from domain.linkage import INCIDENT_OPENED_BY, INCIDENT_RULES, PlannedTask, follow_up_deadline
from domain.records import Dispute, Incident, Notice
from domain.values import Actor, Evidence, IncidentKind


class SupervisionMixin(CaseBase):
    def _open_task(self, task_id: str) -> None:
        if not self._task(task_id).is_open:
            raise RuleViolation(
                f"task {task_id} is no longer open",
                rule="only open tasks",
                field="task_id",
                message_zh="该任务已办结",
            )

    def issue_supervision_notice(
        self,
        actor: Actor,
        now: datetime,
        *,
        task_id: str,
        respond_by: datetime,
        note: str,
        document_number: str = "",
    ) -> str:
        self._open_task(task_id)
        self._require_future("respond_by", respond_by, now)
        self._require_text("note", note, "a notice says what is expected", "督办内容")
        return self._notice(
            actor,
            now,
            task_id,
            respond_by,
            note,
            Action.ISSUE_SUPERVISION_NOTICE,
            document_number.strip(),
        )

    def remind_task(
        self,
        actor: Actor,
        now: datetime,
        *,
        task_id: str,
        threshold: Threshold,
        remind_before: timedelta,
    ) -> None:
        """A reminder before a deadline or on its day; past it, an automatic supervision
        notice from the district office. Each once per task and threshold: a second
        process, or the same one after a restart, is refused and records nothing."""
        self._open_task(task_id)
        task = self.tasks[task_id]
        due = reminder_due(task.deadline, now, remind_before, task.reminded)
        if due is not threshold:
            raise RuleViolation(
                f"task {task_id} calls for {due.value if due else 'no reminder'} now, "
                f"not {threshold.value}",
                rule="reminders follow the deadline, once per threshold",
                field="threshold",
                message_zh="当前不需要此提醒（未到时间或已发送）",
            )
        self._record(
            TaskReminded,
            actor,
            now,
            action=Action.SEND_REMINDER,
            task_id=task_id,
            unit=task.unit,
            threshold=threshold.value,
        )
        # A notice's own answer, overdue, is not escalated again: the notice was the
        # escalation, and a chain of notices would only bury it.
        if (
            threshold is Threshold.OVERDUE
            and task.completes_on is not Action.ANSWER_SUPERVISION_NOTICE
        ):
            self._notice(
                actor,
                now,
                task_id,
                follow_up_deadline("supervision_answer", now),
                f"自动督办：「{task.duty}」已逾期，请说明原因并尽快办结",
                None,
            )

    def _notice(
        self,
        actor: Actor,
        now: datetime,
        task_id: str,
        respond_by: datetime,
        note: str,
        action: Action | None,
        document_number: str = "",
    ) -> str:
        notice_id = self._next_id("N")
        self._record(
            SupervisionNoticeIssued,
            actor,
            now,
            action=action,
            note=note,
            document_number=document_number,
            notice=Notice(
                notice_id=notice_id,
                task_id=task_id,
                unit=self.tasks[task_id].unit,
                respond_by=respond_by,
                issued_at=now,
            ),
        )
        # The notice is work for the unit it names, due when it must answer.
        self._assign(
            actor,
            now,
            PlannedTask(
                self.tasks[task_id].unit,
                f"answer supervision notice {notice_id}",
                Action.ANSWER_SUPERVISION_NOTICE,
            ),
            respond_by,
            ref=notice_id,
        )
        return notice_id

    def answer_supervision_notice(
        self, actor: Actor, now: datetime, *, notice_id: str, answer: str
    ) -> None:
        notice = self.notices.get(notice_id)
        if notice is None:
            raise self._not_found("notice_id", "supervision notice", notice_id)
        if notice.unit != actor.unit:
            raise self._denied(
                f"notice {notice_id} is addressed to {notice.unit!r}",
                "rule 1: a unit answers its own notices",
            )
        if notice.answered_at is not None:
            raise self._done_already(
                "notice_id", f"notice {notice_id} is already answered", "该督办已回复"
            )
        self._require_text("answer", answer, "an answer says what was done", "回复")
        self._record(
            SupervisionNoticeAnswered,
            actor,
            now,
            action=Action.ANSWER_SUPERVISION_NOTICE,
            notice_id=notice_id,
            unit=actor.unit,
            answer=answer,
        )
        self._complete(actor, now, Action.ANSWER_SUPERVISION_NOTICE, ref=notice_id)

    def extend_deadline(
        self, actor: Actor, now: datetime, *, task_id: str, new_deadline: datetime, reason: str
    ) -> None:
        self._open_task(task_id)
        task = self.tasks[task_id]
        self._require_future("new_deadline", new_deadline, now)
        if new_deadline <= task.deadline:
            raise RuleViolation(
                "an extension moves the deadline later",
                rule="extensions extend",
                field="new_deadline",
                message_zh="新期限须晚于原期限",
            )
        self._require_text("reason", reason, "an extension says why", "why")
        self._record(
            DeadlineExtended,
            actor,
            now,
            action=Action.EXTEND_DEADLINE,
            task_id=task_id,
            unit=task.unit,
            previous_deadline=task.deadline,
            new_deadline=new_deadline,
            reason=reason,
        )

    def cancel_task(self, actor: Actor, now: datetime, *, task_id: str, reason: str) -> None:
        """The district office closes a task nobody needs any more, saying why (a task is
        never dropped silently)."""
        self._open_task(task_id)
        self._require_text("reason", reason, "a cancelled task says why", "理由")
        self._record(
            TaskCancelled,
            actor,
            now,
            action=Action.CANCEL_TASK,
            task_id=task_id,
            unit=self.tasks[task_id].unit,
            reason=reason,
        )

    def raise_dispute(
        self,
        actor: Actor,
        now: datetime,
        *,
        task_id: str,
        reason: str,
        suggested_unit: str | None = None,
    ) -> str:
        self._open_task(task_id)
        if self.tasks[task_id].unit != actor.unit:
            raise self._denied(
                "a unit disputes only its own task",
                "rule 1: a dispute is raised by the tasked unit",
            )
        if any(d.task_id == task_id and d.resolved_to is None for d in self.disputes.values()):
            raise RuleViolation(
                "a dispute on this task is already open",
                rule="one open dispute",
                field="task_id",
                message_zh="该任务已有未裁决的争议",
            )
        self._require_text("reason", reason, "a dispute says why", "why")
        dispute_id = self._next_id("D")
        self._record(
            DisputeRaised,
            actor,
            now,
            action=Action.RAISE_DISPUTE,
            reason=reason,
            dispute=Dispute(
                dispute_id=dispute_id,
                task_id=task_id,
                raised_by=actor.unit,
                suggested_unit=suggested_unit,
                raised_at=now,
            ),
        )
        # The district office owes an arbitration, with a deadline like any other work.
        self._assign(
            actor,
            now,
            PlannedTask(
                DISTRICT_OFFICE, f"arbitrate dispute {dispute_id}", Action.ARBITRATE_DISPUTE
            ),
            follow_up_deadline("arbitrate", now),
            ref=dispute_id,
        )
        return dispute_id

    def arbitrate_dispute(
        self, actor: Actor, now: datetime, *, dispute_id: str, responsible_unit: str, reason: str
    ) -> None:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise self._not_found("dispute_id", "dispute", dispute_id)
        if dispute.resolved_to is not None:
            raise self._done_already("dispute_id", "already arbitrated", "该争议已裁决")
        self._require_text("reason", reason, "an arbitration says why", "why")
        self._record(
            DisputeArbitrated,
            actor,
            now,
            action=Action.ARBITRATE_DISPUTE,
            dispute_id=dispute_id,
            responsible_unit=responsible_unit,
            reason=reason,
        )
        self._complete(actor, now, Action.ARBITRATE_DISPUTE, ref=dispute_id)
        task = self.tasks[dispute.task_id]
        if task.is_open and responsible_unit != task.unit:
            self._record(
                TaskReassigned,
                actor,
                now,
                task_id=task.task_id,
                from_unit=task.unit,
                to_unit=responsible_unit,
            )

    # ------------------------------------------------------------ incidents

    def open_incident(
        self,
        actor: Actor,
        now: datetime,
        *,
        kind: IncidentKind,
        summary: str,
        document_number: str = "",
        evidence: tuple[Evidence, ...] = (),
        deadline: datetime | None = None,
        units: tuple[str, ...] = (),
    ) -> str:
        """An incident has an owner and a deadline: the unit that must close it gets a task
        (linkage.INCIDENT_RULES). A hazard-removal order names the units that remove it."""
        rule = INCIDENT_RULES[kind]
        self._require_text("summary", summary, "an incident says what happened", "summary")
        hazard = kind is IncidentKind.HAZARD_REMOVAL_ORDER
        if hazard and not units:
            raise InvalidInput(
                "a hazard-removal order names the units that remove the hazard",
                rule="九: emergency coordinates the units responsible for safety",
                field="units",
                message_zh="须指定负责消除隐患的单位",
            )
        if units and not hazard:
            raise InvalidInput(
                "only a hazard-removal order names units",
                rule="units belong to hazard-removal orders",
                field="units",
                message_zh="仅隐患整改指令可指定单位",
            )
        if deadline is not None:
            self._require_future("deadline", deadline, now)
        elif rule.closed_by is not None:
            deadline = now + timedelta(days=rule.days)
        incident_id = self._next_id("I")
        closer = rule.closer or actor.unit
        self._record(
            IncidentOpened,
            actor,
            now,
            action=INCIDENT_OPENED_BY[kind],
            document_number=document_number,
            evidence=evidence,
            incident=Incident(
                incident_id=incident_id,
                kind=kind,
                summary=summary,
                opened_by=actor.unit,
                closes_by=closer if rule.closed_by else None,
                deadline=deadline,
                units=tuple(dict.fromkeys(units)),
            ),
        )
        if kind is IncidentKind.HAZARD_REMOVAL_ORDER:
            self._complete(actor, now, Action.ORDER_HAZARD_REMOVAL)
        if rule.closed_by is None or deadline is None:
            return incident_id
        for unit in dict.fromkeys(units):
            self._assign(
                actor,
                now,
                PlannedTask(unit, f"remove the hazard: {summary}", Action.REPORT_HAZARD_REMOVED),
                deadline,
                ref=incident_id,
            )
        self._assign(
            actor,
            now,
            PlannedTask(closer, f"close the {kind.value}: {summary}", rule.closed_by),
            deadline,
            ref=incident_id,
        )
        return incident_id

    def report_hazard_removed(
        self, actor: Actor, now: datetime, *, incident_id: str, evidence: tuple[Evidence, ...]
    ) -> None:
        incident = self.incidents.get(incident_id)
        if incident is None or incident.kind is not IncidentKind.HAZARD_REMOVAL_ORDER:
            raise self._not_found("incident_id", "hazard-removal order", incident_id)
        if actor.unit not in incident.units:
            raise self._denied(
                f"{actor.unit!r} is not named in order {incident_id}",
                "九: the units named in the order report",
            )
        if incident.closed or actor.unit in incident.reported_by:
            raise self._done_already("incident_id", "already reported", "已报告")
        self._require_evidence(evidence, "a removed hazard is shown", "photos after removal")
        self._record(
            HazardRemovalReported,
            actor,
            now,
            action=Action.REPORT_HAZARD_REMOVED,
            incident_id=incident_id,
            unit=actor.unit,
            evidence=evidence,
        )
        self._complete(actor, now, Action.REPORT_HAZARD_REMOVED, ref=incident_id)

    def close_incident(
        self,
        actor: Actor,
        now: datetime,
        *,
        kind: IncidentKind,
        incident_id: str,
        resolution: str,
    ) -> None:
        incident = self.incidents.get(incident_id)
        if incident is None or incident.kind is not kind:
            raise self._not_found("incident_id", kind.value, incident_id)
        closer = incident.closes_by or incident.opened_by
        if INCIDENT_RULES[kind].closed_by is None:
            raise RuleViolation(
                f"a {kind.value} is a record; it is not closed",
                rule="incidents close by their rule",
                field="kind",
                message_zh="该类事项无需办结",
            )
        if actor.unit != closer:
            raise self._denied(
                f"{incident_id} is closed by {closer!r}", "an incident is closed by its owner"
            )
        if incident.closed:
            raise self._done_already("incident_id", "already closed", "已办结")
        waiting = [u for u in incident.units if u not in incident.reported_by]
        if waiting:
            raise RuleViolation(
                "not every named unit has reported the hazard removed: " + ", ".join(waiting),
                rule="九: a hazard is closed when removed",
                field="incident_id",
                message_zh="尚有单位未报告隐患消除：" + "、".join(waiting),
                details={"waiting": waiting},
            )
        self._require_text("resolution", resolution, "closing says how it ended", "resolution")
        action = INCIDENT_RULES[kind].closed_by
        self._record(
            IncidentClosed,
            actor,
            now,
            action=action,
            incident_id=incident_id,
            resolution=resolution,
        )
        if action is not None:
            self._complete(actor, now, action, ref=incident_id)
