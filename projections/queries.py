"""Reading the views: enterprise status, per-unit accountability (DOMAIN.md section 9),
town ledgers, the audit trail; and waiting for a projection to catch up with a command."""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.deadlines import Deadline
from domain.notifications import KIND_OF_ACTION, ItemKind, item_kind
from domain.values import Escalation
from projections.audit import ENTRY_COLUMNS, AuditProjection, row_to_entry
from projections.db import Database, parse_utc, utc_text
from projections.status import StatusProjection
from projections.status_rows import CASE_COLUMNS, FLAGS, TASK_COLUMNS


def _case(row: tuple[Any, ...]) -> dict[str, Any]:
    case = dict(zip(CASE_COLUMNS, row, strict=True))
    for flag in FLAGS:
        case[flag] = bool(case[flag])
    return case


def _task(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    task = dict(zip(TASK_COLUMNS, row, strict=True))
    clock = Deadline(
        parse_utc(task["assigned_at"]),
        parse_utc(task["deadline"]),
        parse_utc(task["done_at"]) if task["done_at"] else None,
    )
    overdue = clock.overdue_by(now) if not task["cancelled_at"] else None
    task["overdue_seconds"] = int(overdue.total_seconds()) if overdue else 0
    task["escalation"] = (Escalation.DONE if task["cancelled_at"] else clock.escalation(now)).value
    return task


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a ledger read selects. `with_orders_for`: only cases holding an order
    addressed to that utility; `search`: text in the name, USCC or address; `listed`,
    `struck_off`: [from, to) moments; `disposition` "unclassified": none yet."""

    town: str | None = None
    disposition: str | None = None
    state: str | None = None
    overdue: bool | None = None
    with_orders_for: str | None = None
    search: str | None = None
    listed: tuple[datetime, datetime] | None = None
    struck_off: tuple[datetime, datetime] | None = None

    def where(self, now: datetime) -> tuple[list[str], list[Any]]:
        p = StatusProjection()
        where: list[str] = []
        params: list[Any] = []
        if self.search:
            like = (
                "%"
                + self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%"
            )
            where.append(
                "(c.name LIKE ? ESCAPE '\\' OR c.uscc LIKE ? ESCAPE '\\' "
                "OR c.address LIKE ? ESCAPE '\\')"
            )
            params += [like, like.upper(), like]  # a USCC is written in capitals
        for column, between in (("listed_at", self.listed), ("struck_off_at", self.struck_off)):
            if between is not None:
                where.append(f"c.{column} >= ? AND c.{column} < ?")
                params += [utc_text(between[0]), utc_text(between[1])]
        if self.with_orders_for is not None:
            where.append(f"c.case_id IN (SELECT case_id FROM {p.t('orders')} WHERE utility = ?)")
            params.append(self.with_orders_for)
        disposition = self.disposition
        if disposition == "unclassified":
            where.append("c.disposition IS NULL")
            disposition = None
        for column, value in (
            ("town", self.town),
            ("disposition", disposition),
            ("state", self.state),
        ):
            if value is not None:
                where.append(f"c.{column} = ?")
                params.append(value)
        if self.overdue is not None:
            exists = (
                f"EXISTS (SELECT 1 FROM {p.t('tasks')} t WHERE t.case_id = c.case_id AND "
                "t.done_at IS NULL AND t.cancelled_at IS NULL AND t.deadline < ?)"
            )
            where.append(exists if self.overdue else f"NOT {exists}")
            params.append(utc_text(now))
        return where, params


def enterprises(
    db: Database,
    now: datetime,
    *,
    cursor: str | None = None,
    limit: int = 50,
    chosen: CaseFilter | None = None,
    **filters: Any,
) -> Page:
    """Cases ordered by id, filtered (`chosen`, or CaseFilter's fields as keywords);
    `cursor` is the last case id of the previous page."""
    where, params = (chosen or CaseFilter(**filters)).where(now)
    rows = db.query(
        f"SELECT {', '.join('c.' + c for c in CASE_COLUMNS)} "
        f"FROM {StatusProjection().t('cases')} c "
        f"WHERE {' AND '.join(['c.case_id > ?', *where])} ORDER BY c.case_id LIMIT ?",
        (cursor or "", *params, limit + 1),
    )
    items = [_case(r) for r in rows[:limit]]
    return Page(items, items[-1]["case_id"] if len(rows) > limit else None)


def count_enterprises(db: Database, now: datetime, chosen: CaseFilter) -> int:
    where, params = chosen.where(now)
    return int(
        db.query(
            f"SELECT count(*) FROM {StatusProjection().t('cases')} c "
            f"WHERE {' AND '.join(where) or '1 = 1'}",
            params,
        )[0][0]
    )


def enterprise(db: Database, case_id: str, now: datetime) -> dict[str, Any] | None:
    p = StatusProjection()
    rows = db.query(
        f"SELECT {', '.join(CASE_COLUMNS)} FROM {p.t('cases')} WHERE case_id = ?", (case_id,)
    )
    if not rows:
        return None
    case = _case(rows[0])
    tasks = db.query(
        f"SELECT {', '.join(TASK_COLUMNS)} FROM {p.t('tasks')} WHERE case_id = ? "
        "AND done_at IS NULL AND cancelled_at IS NULL ORDER BY deadline",
        (case_id,),
    )
    case["open_tasks"] = [_task(t, now) for t in tasks]
    orders = db.query(
        f"SELECT order_id, utility, kind, status, requested_by, deadline "
        f"FROM {p.t('orders')} WHERE case_id = ? ORDER BY issued_at",
        (case_id,),
    )
    case["orders"] = [
        dict(
            zip(
                ("order_id", "utility", "kind", "status", "requested_by", "deadline"),
                o,
                strict=True,
            )
        )
        for o in orders
    ]
    return case


@dataclass
class UnitAccountability:
    unit: str
    assigned: int = 0
    done_on_time: int = 0
    done_late: int = 0
    open: int = 0
    overdue_now: int = 0
    overdue_seconds_total: int = 0
    overdue_seconds_max: int = 0
    median_seconds_to_act: float | None = None
    notices_received: int = 0
    notices_answered: int = 0
    notices_overdue_now: int = 0  # unanswered past their respond_by
    disputes_raised: int = 0
    escalation: dict[str, int] = field(default_factory=dict)


def accountability(db: Database, now: datetime) -> list[UnitAccountability]:
    """DOMAIN.md section 9, per unit, at `now`. Cancelled tasks count nowhere."""
    p = StatusProjection()
    units: dict[str, UnitAccountability] = {}
    acted: dict[str, list[float]] = defaultdict(list)
    colours: dict[str, Counter[str]] = defaultdict(Counter)

    def of(unit: str) -> UnitAccountability:
        return units.setdefault(unit, UnitAccountability(unit))

    for row in db.query(
        f"SELECT {', '.join(TASK_COLUMNS)} FROM {p.t('tasks')} WHERE cancelled_at IS NULL"
    ):
        task = _task(row, now)
        a = of(task["unit"])
        a.assigned += 1
        if task["done_at"]:
            done, assigned = parse_utc(task["done_at"]), parse_utc(task["assigned_at"])
            late = done > parse_utc(task["deadline"])
            a.done_late += late
            a.done_on_time += not late
            acted[a.unit].append((done - assigned).total_seconds())
        else:
            a.open += 1
            colours[a.unit][task["escalation"]] += 1
            if task["overdue_seconds"]:
                a.overdue_now += 1
                a.overdue_seconds_total += task["overdue_seconds"]
                a.overdue_seconds_max = max(a.overdue_seconds_max, task["overdue_seconds"])
    moment = utc_text(now) or ""
    for unit, answered, respond_by in db.query(
        f"SELECT unit, answered_at, respond_by FROM {p.t('notices')}"
    ):
        a = of(unit)
        a.notices_received += 1
        a.notices_answered += answered is not None
        if answered is None and respond_by < moment:
            # Overdue (its answer is also an overdue task, counted and coloured above).
            a.notices_overdue_now += 1
    for (unit,) in db.query(f"SELECT raised_by FROM {p.t('disputes')}"):
        of(unit).disputes_raised += 1
    for unit, a in units.items():
        a.median_seconds_to_act = statistics.median(acted[unit]) if acted[unit] else None
        a.escalation = {
            c.value: colours[unit][c.value]
            for c in (Escalation.GREEN, Escalation.YELLOW, Escalation.RED)
        }
    return sorted(units.values(), key=lambda a: a.unit)


def town_ledgers(db: Database) -> list[dict[str, Any]]:
    """Per town: the three lists, counts by disposition and state, patrol listings,
    cases struck off, relapses."""
    p = StatusProjection()
    towns: dict[str, dict[str, Any]] = {}
    for town, case_id, name, disposition, state, patrol, relapses in db.query(
        f"SELECT town, case_id, name, disposition, state, found_by_patrol, relapses "
        f"FROM {p.t('cases')} ORDER BY town, case_id"
    ):
        t = towns.setdefault(
            town,
            {
                "town": town,
                "listed": 0,
                "by_disposition": Counter(),
                "by_state": Counter(),
                "lists": {"relocate": [], "rectify": [], "close": []},
                "from_patrols": 0,
                "struck_off": 0,
                "relapses": 0,
            },
        )
        t["listed"] += 1
        t["by_disposition"][disposition or "unclassified"] += 1
        t["by_state"][state] += 1
        if disposition:
            t["lists"][disposition].append({"case_id": case_id, "name": name, "state": state})
        t["from_patrols"] += patrol is not None
        t["struck_off"] += state == "struck_off"
        t["relapses"] += int(relapses)
    for t in towns.values():
        t["by_disposition"], t["by_state"] = dict(t["by_disposition"]), dict(t["by_state"])
    return list(towns.values())


def audit_page(
    db: Database,
    *,
    case_id: str | None = None,
    unit: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> tuple[str, tuple[Any, ...], list[dict[str, Any]]]:
    """Audit entries matching the filters, in chain order, after `after_seq`. Returns the
    WHERE clause and its parameters too, so an export can stream the same selection."""
    where, params = audit_filter(
        case_id=case_id, unit=unit, event_type=event_type, since=since, until=until
    )
    a = AuditProjection()
    rows = db.query(
        f"SELECT {ENTRY_COLUMNS} FROM {a.t('entries')} WHERE seq > ? "
        f"{'AND ' + where if where else ''} ORDER BY seq LIMIT ?",
        (after_seq, *params, limit),
    )
    return where, params, [row_to_entry(r) for r in rows]


def audit_filter(
    *,
    case_id: str | None = None,
    unit: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("case_id", case_id), ("unit", unit)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if event_type is not None:
        clauses.append("(event_type = ? OR action = ?)")
        params += [event_type, event_type]
    if since is not None:
        clauses.append("at >= ?")
        params.append(utc_text(since))
    if until is not None:
        clauses.append("at < ?")
        params.append(utc_text(until))
    return " AND ".join(clauses), tuple(params)


def audit_head(db: Database) -> dict[str, Any]:
    with db.transaction() as tx:
        head = AuditProjection().head(tx)
    return {"entries": head.seq, "position": head.position, "head": head.entry_hash}


def wait_for_case(db: Database, case_id: str, version: int, timeout_s: float = 5.0) -> bool:
    """Read-your-writes: waits (bounded) until the status view holds `version` of the case."""
    p = StatusProjection()
    deadline = time.monotonic() + timeout_s
    while True:
        rows = db.query(f"SELECT version FROM {p.t('cases')} WHERE case_id = ?", (case_id,))
        if rows and int(rows[0][0]) >= version:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def inbox(
    db: Database,
    unit: str,
    now: datetime,
    *,
    kind: str | None = None,
    colour: str | None = None,
    due_before: datetime | None = None,
    town: str | None = None,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], dict[str, int], str | None]:
    """What waits on `unit`: its open tasks across all cases, by deadline (orders to carry
    out, acceptances to sign, notices to answer and disputes to arbitrate are tasks too),
    each with its case and colour; the counts per colour of everything waiting; and the
    cursor of the next page (`deadline|case_id|task_id` of the last item).

    All in SQL, on the index of open tasks by unit and deadline: the colours are read
    by comparing `now` with each task's deadline and the moment it turns yellow."""
    p = StatusProjection()
    where = ["t.unit = ?", "t.done_at IS NULL", "t.cancelled_at IS NULL"]
    params: list[Any] = [unit]
    if town is not None:
        where.append("c.town = ?")
        params.append(town)
    if state is not None:  # the case's state in its lifecycle
        where.append("c.state = ?")
        params.append(state)
    if kind is not None:
        special = [a.value for a in KIND_OF_ACTION]
        chosen = [a.value for a, k in KIND_OF_ACTION.items() if k == kind]
        if kind == ItemKind.TASK:
            where.append(f"t.completes_on NOT IN ({', '.join('?' for _ in special)})")
            params += special
        else:
            where.append(f"t.completes_on IN ({', '.join('?' for _ in chosen) or 'NULL'})")
            params += chosen
    if due_before is not None:
        where.append("t.deadline < ?")
        params.append(utc_text(due_before))
    moment = utc_text(now)
    tables = f"{p.t('tasks')} t JOIN {p.t('cases')} c ON c.case_id = t.case_id"
    join_needed = town is not None or state is not None
    counted = db.query(
        "SELECT "
        "coalesce(sum(CASE WHEN t.deadline < ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN t.deadline >= ? AND t.yellow_from <= ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN t.deadline >= ? AND t.yellow_from > ? THEN 1 ELSE 0 END), 0) "
        f"FROM {tables if join_needed else p.t('tasks') + ' t'} WHERE {' AND '.join(where)}",
        (moment, moment, moment, moment, moment, *params),
    )[0]
    counts = {
        Escalation.RED.value: int(counted[0]),
        Escalation.YELLOW.value: int(counted[1]),
        Escalation.GREEN.value: int(counted[2]),
    }
    if colour is not None:
        clauses, values = colour_condition(colour, moment or "")
        where += clauses
        params += values
    if cursor is not None:
        deadline, _, rest = cursor.partition("|")
        case_id, _, task_id = rest.partition("|")
        where.append(
            "(t.deadline > ? OR (t.deadline = ? AND (t.case_id > ? "
            "OR (t.case_id = ? AND t.task_id > ?))))"
        )
        params += [deadline, deadline, case_id, case_id, task_id]
    columns = ", ".join(f"t.{c}" for c in TASK_COLUMNS)
    rows = db.query(
        f"SELECT {columns}, c.name, c.town FROM {tables} WHERE {' AND '.join(where)} "
        "ORDER BY t.deadline, t.case_id, t.task_id LIMIT ?",
        (*params, limit + 1),
    )
    items: list[dict[str, Any]] = []
    for row in rows[:limit]:
        item = _task(row[: len(TASK_COLUMNS)], now)
        item["case_name"], item["town"] = row[len(TASK_COLUMNS)], row[len(TASK_COLUMNS) + 1]
        item["kind"] = item_kind(item["completes_on"]).value
        items.append(item)
    last = items[-1] if len(rows) > limit else None
    next_cursor = f"{last['deadline']}|{last['case_id']}|{last['task_id']}" if last else None
    return items, counts, next_cursor


def colour_condition(colour: str, moment: str) -> tuple[list[str], list[str]]:
    """SQL conditions on an open task `t` for its colour at `moment` (DOMAIN.md 9)."""
    if colour == Escalation.RED.value:
        return ["t.deadline < ?"], [moment]
    if colour == Escalation.YELLOW.value:
        return ["t.deadline >= ?", "t.yellow_from <= ?"], [moment, moment]
    if colour == Escalation.GREEN.value:
        return ["t.deadline >= ?", "t.yellow_from > ?"], [moment, moment]
    raise ValueError(f"no such colour: {colour}")


def inbox_item(db: Database, case_id: str, task_id: str, now: datetime) -> dict[str, Any] | None:
    """One task as an inbox item (whether still open or not), or None."""
    p = StatusProjection()
    columns = ", ".join(f"t.{c}" for c in TASK_COLUMNS)
    rows = db.query(
        f"SELECT {columns}, c.name, c.town FROM {p.t('tasks')} t "
        f"JOIN {p.t('cases')} c ON c.case_id = t.case_id "
        "WHERE t.case_id = ? AND t.task_id = ?",
        (case_id, task_id),
    )
    if not rows:
        return None
    item = _task(rows[0][: len(TASK_COLUMNS)], now)
    item["case_name"], item["town"] = rows[0][len(TASK_COLUMNS) :]
    item["kind"] = item_kind(item["completes_on"]).value
    return item


@dataclass(frozen=True)
class InboxChange:
    seq: int
    case_id: str
    task_id: str
    change: str
    kind: str
    at: str


def inbox_changes(db: Database, unit: str, after: int, limit: int = 200) -> list[InboxChange]:
    """What changed in `unit`'s inbox after change `after`, in order (the live stream)."""
    rows = db.query(
        f"SELECT seq, case_id, task_id, change, kind, at FROM {StatusProjection().t('changes')} "
        "WHERE unit = ? AND seq > ? ORDER BY seq LIMIT ?",
        (unit, after, limit),
    )
    return [InboxChange(int(r[0]), *r[1:]) for r in rows]


def last_inbox_change(db: Database) -> int:
    rows = db.query(f"SELECT max(seq) FROM {StatusProjection().t('changes')}")
    return int(rows[0][0] or 0)


def wait_for_patrol(db: Database, patrol_id: str, timeout_s: float = 5.0) -> bool:
    """Read-your-writes for a patrol: waits until the patrols view holds it."""
    p = StatusProjection()
    deadline = time.monotonic() + timeout_s
    while True:
        if db.query(f"SELECT 1 FROM {p.t('patrols')} WHERE patrol_id = ?", (patrol_id,)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


PATROL_COLUMNS = (
    "patrol_id",
    "town",
    "patrol_date",
    "area",
    "findings",
    "evidence",
    "recorded_by",
    "recorded_at",
)


def patrols(
    db: Database,
    *,
    town: str | None = None,
    since: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Patrols newest first, each with the enterprises listed from what it found. The
    cursor is the last item's `recorded_at|patrol_id`."""
    p = StatusProjection()
    where, params = ["1 = 1"], []
    if town is not None:
        where.append("town = ?")
        params.append(town)
    if since is not None:
        where.append("patrol_date >= ?")
        params.append(since)
    if cursor:
        at, _, pid = cursor.partition("|")
        where.append("(recorded_at < ? OR (recorded_at = ? AND patrol_id < ?))")
        params += [at, at, pid]
    rows = db.query(
        f"SELECT {', '.join(PATROL_COLUMNS)} FROM {p.t('patrols')} WHERE {' AND '.join(where)} "
        "ORDER BY recorded_at DESC, patrol_id DESC LIMIT ?",
        (*params, limit + 1),
    )
    items = [dict(zip(PATROL_COLUMNS, r, strict=True)) for r in rows[:limit]]
    for item in items:
        item["listed"] = [
            {"case_id": case_id, "name": name, "state": state}
            for case_id, name, state in db.query(
                f"SELECT case_id, name, state FROM {p.t('cases')} WHERE found_by_patrol = ? "
                "ORDER BY listed_at",
                (item["patrol_id"],),
            )
        ]
    last = items[-1] if items else None
    more = len(rows) > limit and last is not None
    return Page(items, f"{last['recorded_at']}|{last['patrol_id']}" if more and last else None)


def wait_for_audit(db: Database, position: int, timeout_s: float = 5.0) -> bool:
    """Read-your-writes for the audit trail: waits until the chain covers `position`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if audit_head(db)["position"] >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
