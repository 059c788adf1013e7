"""Replaying a campaign's events through the status projection, without Kafka (the
records the relay would publish, made from the event store), and reading every column
of the view against the aggregate's own state."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.application import Liandong
from domain.case import Case
from domain.notifications import item_changes
from domain.values import Utility
from projections.dashboard import overview
from projections.db import Database, utc_text
from projections.queries import accountability, town_ledgers
from projections.runner import EventRecord, setup
from projections.status import EVENT_CLASSES, StatusProjection


def records(app: Liandong) -> list[EventRecord]:
    found: list[EventRecord] = []
    previous = 0
    for n in app.recorder.select_notifications(1, 10**9):
        data = {
            "originator_id": str(n.originator_id),
            "originator_version": n.originator_version,
            **app.decode_state(n.state),
        }
        name = n.topic.rpartition(":")[2]
        found.append(EventRecord(name, data, n.id, previous, b"", 0, len(found)))
        previous = n.id
    return found


def project(app: Liandong, batches: list[int], forget_between: bool) -> Database:
    """Applies the campaign in batches of the given sizes (cycled); with `forget_between`
    the projection drops its cache between batches, so cases are read back from the view."""
    db = Database("sqlite:///:memory:")
    projection = StatusProjection(cache_size=3)
    setup(db, projection)
    events, i, size = records(app), 0, 0
    while i < len(events):
        size = batches[size % len(batches)] if batches else 1
        with db.transaction() as tx:
            projection.apply_all(tx, events[i : i + size])
        if forget_between:
            projection.forget()
        i += size
    return db


def differences(db: Database, app: Liandong, case_ids: list[UUID]) -> list[str]:
    p = StatusProjection()
    wrong: list[str] = []
    for case_id in case_ids:
        case = app.get_case(case_id)
        rows = db.query(f"SELECT * FROM {p.t('cases')} WHERE case_id = ?", (str(case_id),))
        columns = _columns(db, p.t("cases"))
        if len(rows) != 1:
            wrong.append(f"{case_id}: {len(rows)} rows")
            continue
        row = dict(zip(columns, rows[0], strict=True))
        for name, value in _expected_case(case).items():
            if row[name] != value:
                wrong.append(f"{case_id} {name}: view {row[name]!r}, aggregate {value!r}")
        tasks = {
            r[1]: r
            for r in db.query(f"SELECT * FROM {p.t('tasks')} WHERE case_id = ?", (str(case_id),))
        }
        for task in case.tasks.values():
            expected = (
                str(case_id),
                task.task_id,
                task.unit,
                task.duty,
                task.completes_on.value,
                task.ref,
                task.assigned_by,
                utc_text(task.assigned_at),
                utc_text(task.deadline),
                utc_text(task.done_at),
                utc_text(task.cancelled_at),
                ",".join(task.reminded),
                utc_text(task.clock.yellow_from()),
                case.town,
            )
            if tasks.get(task.task_id) != expected:
                wrong.append(f"{case_id} task {task.task_id}: {tasks.get(task.task_id)}")
        if set(tasks) != set(case.tasks):
            wrong.append(f"{case_id} tasks: view {sorted(tasks)}, aggregate {sorted(case.tasks)}")
        orders: dict[str, Any] = dict(
            db.query(
                f"SELECT order_id, status FROM {p.t('orders')} WHERE case_id = ?", (str(case_id),)
            )
        )
        if orders != {o.order_id: o.status.value for o in case.orders.values()}:
            wrong.append(f"{case_id} orders: {orders}")
        notices: dict[str, Any] = dict(
            db.query(
                f"SELECT notice_id, answered_at FROM {p.t('notices')} WHERE case_id = ?",
                (str(case_id),),
            )
        )
        if notices != {n.notice_id: utc_text(n.answered_at) for n in case.notices.values()}:
            wrong.append(f"{case_id} notices: {notices}")
        disputes: dict[str, Any] = dict(
            db.query(
                f"SELECT dispute_id, resolved_to FROM {p.t('disputes')} WHERE case_id = ?",
                (str(case_id),),
            )
        )
        if disputes != {d.dispute_id: d.resolved_to for d in case.disputes.values()}:
            wrong.append(f"{case_id} disputes: {disputes}")
    return wrong


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.query(f"PRAGMA table_info({table})")]


def _expected_case(case: Case) -> dict[str, Any]:
    """Every column, read off the aggregate by hand (not through the view's own code)."""
    e = case.enterprise
    assert e is not None
    return {
        "version": case.version,
        "name": e.name,
        "uscc": e.uscc,
        "address": e.address,
        "town": e.town,
        "industry": e.industry,
        "licensed": int(e.licensed),
        "disposition": case.disposition.value if case.disposition else None,
        "state": case.state.value,
        "deadline": utc_text(case.deadline),
        "classified_by": case.classified_by,
        "concurred_by": case.concurred_by,
        "approval_lock": int(case.approval_lock),
        **{f"supply_{u.value}": case.supplies[u].state.value for u in Utility},
        "licence_revoked": int(case.licence_revoked),
        "revocation_requested": int(case.revocation_requested),
        "suspension_ordered": int(case.suspension_ordered),
        "refused_to_stop": int(case.refused_to_stop),
        "unauthorized_resumption": int(case.unauthorized_resumption),
        "acceptance_failed": int(case.acceptance_failed),
        "destination_park": case.destination.park if case.destination else None,
        "park_entry_confirmed": int(case.park_entry_confirmed),
        "found_by_patrol": str(case.found_by_patrol) if case.found_by_patrol else None,
        "relapses": case.relapses,
        "listed_at": utc_text(case.created_on),
        "struck_off_at": utc_text(case.struck_off_at),
        "last_at": utc_text(case.modified_on),
    }


def expected_inbox_changes(app: Liandong) -> list[tuple[str, str, str, str]]:
    """Every inbox change, event by event, from the aggregate's own history: (unit,
    case, task, change), in log order."""
    found: list[tuple[str, str, str, str]] = []
    for record in records(app):
        if record.type not in EVENT_CLASSES:
            continue
        case_id, version = UUID(record.case_id), record.version
        before = app.get_case(case_id, version=version - 1).tasks if version > 1 else {}
        after = app.get_case(case_id, version=version).tasks
        found += [
            (x.unit, str(case_id), x.task.task_id, x.change.value)
            for x in item_changes(before, after)
        ]
    return found


def told_inbox_changes(db: Database) -> list[tuple[str, str, str, str]]:
    """The changes the status view's live-stream log holds, in its order."""
    table = StatusProjection().t("changes")
    rows = db.query(f"SELECT unit, case_id, task_id, change FROM {table} ORDER BY seq")
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def overview_disagreements(db: Database, now: datetime) -> list[str]:
    """Where the district office's overview (its own aggregate queries) differs from the
    per-unit accountability and the town ledgers read the other way."""
    found = overview(db, now)
    wrong: list[str] = []
    by_unit = {a.unit: a for a in accountability(db, now)}
    for u in found.units:
        a = by_unit.get(u.unit)
        lights = {"red": u.red, "yellow": u.yellow, "green": u.green}
        if a is None or (lights, u.done_on_time, u.done_late) != (
            a.escalation,
            a.done_on_time,
            a.done_late,
        ):
            wrong.append(f"unit {u.unit}: overview {u}, accountability {a}")
    counted = {u.unit for u in found.units}
    wrong += [f"unit {a} missing" for a, x in by_unit.items() if a not in counted and x.assigned]
    towns = {t["town"]: t for t in town_ledgers(db)}
    for t in found.towns:
        ledger = towns.get(t.town)
        if ledger is None or (t.listed, t.struck_off, t.by_disposition) != (
            ledger["listed"],
            ledger["struck_off"],
            ledger["by_disposition"],
        ):
            wrong.append(f"town {t.town}: overview {t}, ledger {ledger}")
    if found.overdue_total != sum(a.overdue_now for a in by_unit.values()):
        wrong.append(f"overdue {found.overdue_total}")
    for colour in ("red", "yellow", "green"):  # each open task is on one town's case
        per_town = sum(getattr(t, colour) for t in found.towns)
        if per_town != sum(getattr(u, colour) for u in found.units):
            wrong.append(f"{colour}: {per_town} over the towns")
    return wrong
