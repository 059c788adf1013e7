"""The status view's rows, read off a case's state as the domain left it. Nothing here
decides anything about the lifecycle: each column is a field of the aggregate (or of the
event that last changed it: who acted, when)."""

from __future__ import annotations

from typing import Any

import orjson

from domain.case import Case
from domain.records import Dispute, Notice, OrderRecord, TaskRecord
from domain.values import Utility
from projections.db import utc_text

CASE_COLUMNS = (
    "case_id",
    "version",
    "name",
    "uscc",
    "address",
    "town",
    "industry",
    "licensed",
    "disposition",
    "state",
    "deadline",
    "classified_by",
    "concurred_by",
    "approval_lock",
    "supply_power",
    "supply_water",
    "supply_gas",
    "licence_revoked",
    "revocation_requested",
    "suspension_ordered",
    "refused_to_stop",
    "unauthorized_resumption",
    "acceptance_failed",
    "destination_park",
    "park_entry_confirmed",
    "found_by_patrol",
    "relapses",
    "listed_at",
    "struck_off_at",
    "last_event",
    "last_action",
    "last_unit",
    "last_at",
)
FLAGS = (
    "licensed",
    "approval_lock",
    "licence_revoked",
    "revocation_requested",
    "suspension_ordered",
    "refused_to_stop",
    "unauthorized_resumption",
    "acceptance_failed",
    "park_entry_confirmed",
)
TASK_COLUMNS = (
    "case_id",
    "task_id",
    "unit",
    "duty",
    "completes_on",
    "ref",
    "assigned_by",
    "assigned_at",
    "deadline",
    "done_at",
    "cancelled_at",
    "reminded",
    "yellow_from",  # when it turns yellow (domain.deadlines.Deadline.yellow_from)
    "town",  # the case's (it never changes): the overview counts a town's open tasks
)
ORDER_COLUMNS = (
    "order_id",
    "case_id",
    "utility",
    "kind",
    "status",
    "requested_by",
    "deadline",
    "issued_at",
    "document_number",
    "message",
)
NOTICE_COLUMNS = (
    "case_id",
    "notice_id",
    "task_id",
    "unit",
    "issued_at",
    "respond_by",
    "answered_at",
)
DISPUTE_COLUMNS = ("case_id", "dispute_id", "task_id", "raised_by", "resolved_to", "raised_at")


def case_row(case: Case, last: dict[str, Any]) -> tuple[Any, ...]:
    """`last`: who did what last (the event's type, action, unit and time)."""
    e = case.enterprise
    assert e is not None
    supply = {u: case.supplies[u].state.value for u in Utility}
    return (
        str(case.id),
        case.version,
        e.name,
        e.uscc,
        e.address,
        e.town,
        e.industry,
        int(e.licensed),
        case.disposition.value if case.disposition else None,
        case.state.value,
        utc_text(case.deadline),
        case.classified_by,
        case.concurred_by,
        int(case.approval_lock),
        supply[Utility.POWER],
        supply[Utility.WATER],
        supply[Utility.GAS],
        int(case.licence_revoked),
        int(case.revocation_requested),
        int(case.suspension_ordered),
        int(case.refused_to_stop),
        int(case.unauthorized_resumption),
        int(case.acceptance_failed),
        case.destination.park if case.destination else None,
        int(case.park_entry_confirmed),
        str(case.found_by_patrol) if case.found_by_patrol else None,
        case.relapses,
        utc_text(case.created_on),
        utc_text(case.struck_off_at),
        last["type"],
        last["action"],
        last["unit"],
        last["at"],
    )


def task_row(case_id: str, t: TaskRecord, town: str) -> tuple[Any, ...]:
    return (
        case_id,
        t.task_id,
        t.unit,
        t.duty,
        t.completes_on.value,
        t.ref,
        t.assigned_by,
        utc_text(t.assigned_at),
        utc_text(t.deadline),
        utc_text(t.done_at),
        utc_text(t.cancelled_at),
        ",".join(t.reminded),
        utc_text(t.clock.yellow_from()),
        town,
    )


def order_row(case_id: str, o: OrderRecord) -> tuple[Any, ...]:
    return (
        o.order_id,
        case_id,
        o.utility.value,
        o.kind.value,
        o.status.value,
        o.requested_by,
        utc_text(o.deadline),
        utc_text(o.issued_at),
        o.document_number,
        orjson.dumps(o.model_dump(mode="json")).decode(),
    )


def notice_row(case_id: str, n: Notice) -> tuple[Any, ...]:
    return (
        case_id,
        n.notice_id,
        n.task_id,
        n.unit,
        utc_text(n.issued_at),
        utc_text(n.respond_by),
        utc_text(n.answered_at),
    )


def dispute_row(case_id: str, d: Dispute) -> tuple[Any, ...]:
    return (case_id, d.dispute_id, d.task_id, d.raised_by, d.resolved_to, utc_text(d.raised_at))
