"""The weekly and monthly 督办 reports: per town and per unit, what a period saw.

Each figure is read from a view, not worked out again: what happened in the period
(listings, classifications, 销号, relapses, utility orders executed, actions taken) is
counted from the audit trail's entries, the record of every event; what was owed and
when it was done (overdue, on time) from the status view's tasks. A town's figures are
those of the cases in its territory; a unit's those of its own tasks and actions.

Periods are in district time (UTC+8): `2026-W48` is an ISO week from Monday 00:00,
`2026-11` a calendar month. A period not yet over is reported as of now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from projections.audit import AuditProjection
from projections.dashboard import DISTRICT_TIME, week_bounds
from projections.db import Database, utc_text
from projections.status import StatusProjection

PERIOD = re.compile(r"^([0-9]{4})-(W[0-9]{2}|[0-9]{2})$")
# The events each figure counts (the audit trail names events by their type).
COUNTED = {
    "EnterpriseListed": "listed",
    "Classified": "classified",
    "CaseStruckOff": "struck_off",
    "UtilityOrderExecuted": "orders_executed",
}


@dataclass(frozen=True)
class Period:
    name: str  # 2026-W48 or 2026-11
    kind: str  # week | month
    starts: datetime
    ends: datetime

    @property
    def title_zh(self) -> str:
        first = self.starts.date()
        last = (self.ends - timedelta(days=1)).date()
        if self.kind == "week":
            return f"{first.year}年第{int(self.name[6:])}周（{first:%m月%d日}—{last:%m月%d日}）"
        return f"{first.year}年{first.month}月"


def parse_period(text: str) -> Period | None:
    """A week (2026-W48) or a month (2026-11) in district time, or None."""
    found = PERIOD.fullmatch(text.strip())
    if found is None:
        return None
    if found.group(2).startswith("W"):
        bounds = week_bounds(text.strip())
        return None if bounds is None else Period(text.strip(), "week", *bounds)
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        return None
    start = datetime(year, month, 1, tzinfo=DISTRICT_TIME)
    following = date(year + month // 12, month % 12 + 1, 1)
    end = datetime(following.year, following.month, 1, tzinfo=DISTRICT_TIME)
    return Period(text.strip(), "month", start, end)


@dataclass
class Figures:
    """One row of a report: a town's or a unit's period."""

    key: str
    listed: int = 0
    classified: int = 0
    struck_off: int = 0
    relapses: int = 0
    orders_executed: int = 0
    actions: int = 0
    tasks_assigned: int = 0
    tasks_done: int = 0
    done_on_time: int = 0
    overdue: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.done_on_time / self.tasks_done if self.tasks_done else None


@dataclass
class Report:
    period: Period
    as_of: datetime  # the period's end, or now while it runs
    towns: list[Figures]
    units: list[Figures]
    total: Figures = field(default_factory=lambda: Figures("total"))


def report(db: Database, period: Period, now: datetime, *, town: str | None = None) -> Report:
    """The period's report; with `town`, only that town's row and its own unit's."""
    as_of = min(period.ends, now)
    start, end, moment = utc_text(period.starts), utc_text(period.ends), utc_text(as_of)
    towns: dict[str, Figures] = {}
    units: dict[str, Figures] = {}
    s, a = StatusProjection(), AuditProjection()

    def of(rows: dict[str, Figures], key: str) -> Figures:
        return rows.setdefault(key, Figures(key))

    # What happened: the trail's events in the period, by the case's town.
    for case_town, event_type, unit, count in db.query(
        f"SELECT c.town, e.event_type, e.unit, count(*) FROM {a.t('entries')} e "
        f"JOIN {s.t('cases')} c ON c.case_id = e.case_id WHERE e.at >= ? AND e.at < ? "
        "GROUP BY c.town, e.event_type, e.unit",
        (start, end),
    ):
        n = int(count)
        of(units, unit).actions += n
        figure = COUNTED.get(event_type)
        if figure is not None:
            setattr(of(towns, case_town), figure, getattr(of(towns, case_town), figure) + n)
            if figure == "orders_executed":
                of(units, unit).orders_executed += n
    for case_town, payload in db.query(
        f"SELECT c.town, e.payload FROM {a.t('entries')} e JOIN {s.t('cases')} c "
        "ON c.case_id = e.case_id WHERE e.event_type = 'CaseReopened' AND e.at >= ? AND e.at < ?",
        (start, end),
    ):
        if _relapse(payload):
            of(towns, case_town).relapses += 1
    # What was owed: tasks assigned and done in the period, and overdue at its end.
    for task_town, unit, assigned, done, on_time, overdue in db.query(
        "SELECT town, unit, "
        "coalesce(sum(CASE WHEN assigned_at >= ? AND assigned_at < ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN done_at >= ? AND done_at < ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN done_at >= ? AND done_at < ? AND done_at <= deadline "
        "THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN assigned_at < ? AND deadline < ? "
        "AND (done_at IS NULL OR done_at > ?) THEN 1 ELSE 0 END), 0) "
        f"FROM {s.t('tasks')} WHERE cancelled_at IS NULL OR cancelled_at > ? "
        "GROUP BY town, unit",
        (start, end, start, end, start, end, moment, moment, moment, moment),
    ):
        for row in (of(towns, task_town), of(units, unit)):
            row.tasks_assigned += int(assigned)
            row.tasks_done += int(done)
            row.done_on_time += int(on_time)
            row.overdue += int(overdue)
    if town is not None:
        towns = {k: v for k, v in towns.items() if k == town}
        units = {k: v for k, v in units.items() if k == town}
    result = Report(
        period=period,
        as_of=as_of,
        towns=sorted(towns.values(), key=lambda f: f.key),
        units=sorted(units.values(), key=lambda f: f.key),
    )
    for row in result.towns:
        for name in ("listed", "classified", "struck_off", "relapses", "orders_executed"):
            setattr(result.total, name, getattr(result.total, name) + getattr(row, name))
    for row in result.units:
        for name in ("actions", "tasks_assigned", "tasks_done", "done_on_time", "overdue"):
            setattr(result.total, name, getattr(result.total, name) + getattr(row, name))
    return result


def _relapse(payload: Any) -> bool:
    data = orjson.loads(payload) if isinstance(payload, (str, bytes)) else payload
    return bool(data.get("relapse"))
