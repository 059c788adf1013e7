"""督查督办: the district office's supervision, deadlines, disputes; incidents on a case."""

from __future__ import annotations

from datetime import datetime

from domain.actions import Action
from domain.case_base import CaseBase
from domain.errors import RuleViolation
from domain.events import (
    DeadlineExtended,
    DisputeArbitrated,
    DisputeRaised,
    IncidentClosed,
    IncidentOpened,
    SupervisionNoticeAnswered,
    SupervisionNoticeIssued,
    TaskReassigned,
)
from domain.records import Dispute, Incident, Notice
from domain.values import Actor, Evidence, IncidentKind

# Which action opens and which closes each kind of incident.
INCIDENT_OPENED_BY: dict[Action, IncidentKind] = {
    Action.RECORD_PUBLIC_OPINION: IncidentKind.PUBLIC_OPINION,
    Action.RECORD_PETITION: IncidentKind.PETITION,
    Action.RECORD_OBSTRUCTION: IncidentKind.OBSTRUCTION,
    Action.OPEN_CRIMINAL_INVESTIGATION: IncidentKind.CRIMINAL_INVESTIGATION,
    Action.IMPOSE_VEHICLE_RESTRICTION: IncidentKind.VEHICLE_RESTRICTION,
    Action.ORDER_HAZARD_REMOVAL: IncidentKind.HAZARD_REMOVAL_ORDER,
}
INCIDENT_CLOSED_BY: dict[Action, IncidentKind] = {
    Action.CLOSE_PUBLIC_OPINION: IncidentKind.PUBLIC_OPINION,
    Action.CLOSE_PETITION: IncidentKind.PETITION,
}


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
        self, actor: Actor, now: datetime, *, task_id: str, respond_by: datetime, note: str
    ) -> str:
        self._open_task(task_id)
        self._require_future("respond_by", respond_by, now)
        self._require_text("note", note, "a notice says what is expected", "督办内容")
        notice_id = self._next_id("N")
        self._record(
            SupervisionNoticeIssued,
            actor,
            now,
            action=Action.ISSUE_SUPERVISION_NOTICE,
            note=note,
            notice=Notice(
                notice_id=notice_id,
                task_id=task_id,
                unit=self.tasks[task_id].unit,
                respond_by=respond_by,
                issued_at=now,
            ),
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
            raise RuleViolation(
                f"notice {notice_id} is already answered",
                rule="answered once",
                field="notice_id",
                message_zh="该督办已回复",
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
            ),
        )
        return dispute_id

    def arbitrate_dispute(
        self, actor: Actor, now: datetime, *, dispute_id: str, responsible_unit: str, reason: str
    ) -> None:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise self._not_found("dispute_id", "dispute", dispute_id)
        if dispute.resolved_to is not None:
            raise RuleViolation(
                "already arbitrated",
                rule="arbitrated once",
                field="dispute_id",
                message_zh="该争议已裁决",
            )
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
        action: Action,
        summary: str,
        document_number: str = "",
        evidence: tuple[Evidence, ...] = (),
    ) -> str:
        kind = INCIDENT_OPENED_BY[action]
        self._require_text("summary", summary, "an incident says what happened", "summary")
        incident_id = self._next_id("I")
        self._record(
            IncidentOpened,
            actor,
            now,
            action=action,
            document_number=document_number,
            evidence=evidence,
            incident=Incident(
                incident_id=incident_id, kind=kind, summary=summary, opened_by=actor.unit
            ),
        )
        return incident_id

    def close_incident(
        self, actor: Actor, now: datetime, *, action: Action, incident_id: str, resolution: str
    ) -> None:
        incident = self.incidents.get(incident_id)
        if incident is None or incident.kind is not INCIDENT_CLOSED_BY[action]:
            raise self._not_found("incident_id", INCIDENT_CLOSED_BY[action].value, incident_id)
        if incident.closed:
            raise RuleViolation(
                "already closed", rule="closed once", field="incident_id", message_zh="已办结"
            )
        self._require_text("resolution", resolution, "closing says how it ended", "resolution")
        self._record(
            IncidentClosed,
            actor,
            now,
            action=action,
            incident_id=incident_id,
            resolution=resolution,
        )
