"""The district office's 督办 overview, read from the status view in a few aggregate
queries: lights per unit and per town, the oldest overdue items, deadlines in the next
days, the three batches, and cases listed and struck off per week.

Each number is one the other reads also give (per unit as GET /accountability counts
it, per town as GET /towns does), so the overview can be checked against them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from domain.notifications import item_kind
from projections.db import Database, parse_utc, utc_text
from projections.queries import colour_condition
from projections.status import StatusProjection

DISTRICT_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
OPEN = "t.done_at IS NULL AND t.cancelled_at IS NULL"


@dataclass
class UnitLights:
    unit: str
    red: int = 0
    yellow: int = 0
    green: int = 0
    done_on_time: int = 0
    done_late: int = 0

    @property
    def on_time_rate(self) -> float | None:
        done = self.done_on_time + self.done_late
        return self.done_on_time / done if done else None


@dataclass
class TownLights:
    town: str
    listed: int = 0
    struck_off: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)


@dataclass
class Week:
    """An ISO week in district time: its Monday, and what happened in it."""

    week: str  # 2026-W48
    starts: date
    listed: int = 0
    struck_off: int = 0


@dataclass
class Overview:
    at: datetime
    units: list[UnitLights]
    towns: list[TownLights]
    overdue: list[dict[str, Any]]
    overdue_total: int
    due_soon: list[dict[str, Any]]
    due_soon_total: int
    batches: dict[str, int]
    struck_off: int
    listed: int
    weeks: list[Week]


def iso_week(moment: datetime) -> tuple[str, date]:
    local = moment.astimezone(DISTRICT_TIME).date()
    year, week, weekday = local.isocalendar()
    return f"{year}-W{week:02d}", local - timedelta(days=weekday - 1)


def week_bounds(week: str) -> tuple[datetime, datetime] | None:
    """The moments a week (2026-W48, district time) starts and ends, or None if it is
    not a week."""
    try:
        monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    except ValueError:
        return None
    if len(week) != 8 or week[4:6] != "-W":
        return None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=DISTRICT_TIME)
    return start, start + timedelta(days=7)


def _colours(moment: str) -> tuple[str, tuple[str, ...]]:
    """SQL summing open tasks per colour, as the inbox colours them."""
    return (
        "coalesce(sum(CASE WHEN t.deadline < ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN t.deadline >= ? AND t.yellow_from <= ? THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN t.deadline >= ? AND t.yellow_from > ? THEN 1 ELSE 0 END), 0)"
    ), (moment,) * 5


def overview(db: Database, now: datetime, *, soon_days: int = 3, weeks: int = 12) -> Overview:
    p = StatusProjection()
    moment = utc_text(now) or ""
    colours, params = _colours(moment)
    # Each from an index alone: open tasks by unit (the inbox's), by town, and tasks done.
    units: dict[str, UnitLights] = {}
    for unit, red, yellow, green in db.query(
        f"SELECT t.unit, {colours} FROM {p.t('tasks')} t WHERE {OPEN} GROUP BY t.unit", params
    ):
        units[unit] = UnitLights(unit, int(red), int(yellow), int(green))
    for unit, late, done in db.query(
        "SELECT unit, coalesce(sum(CASE WHEN done_at > deadline THEN 1 ELSE 0 END), 0), "
        f"count(*) FROM {p.t('tasks')} WHERE done_at IS NOT NULL AND cancelled_at IS NULL "
        "GROUP BY unit"
    ):
        lights = units.setdefault(unit, UnitLights(unit))
        lights.done_on_time, lights.done_late = int(done) - int(late), int(late)
    towns: dict[str, TownLights] = {}
    batches: Counter[str] = Counter()
    listed = struck_off = 0
    for town, disposition, state, count in db.query(
        f"SELECT town, disposition, state, count(*) FROM {p.t('cases')} "
        "GROUP BY town, disposition, state"
    ):
        t = towns.setdefault(town, TownLights(town))
        t.listed += int(count)
        t.by_disposition[disposition or "unclassified"] = t.by_disposition.get(
            disposition or "unclassified", 0
        ) + int(count)
        batches[disposition or "unclassified"] += int(count)
        listed += int(count)
        if state == "struck_off":
            t.struck_off += int(count)
            struck_off += int(count)
    for town, red, yellow, green in db.query(
        f"SELECT t.town, {colours} FROM {p.t('tasks')} t WHERE {OPEN} GROUP BY t.town", params
    ):
        t = towns.setdefault(town, TownLights(town))
        t.red, t.yellow, t.green = int(red), int(yellow), int(green)
    soon = utc_text(now + timedelta(days=soon_days)) or ""
    by_unit = sorted(units.values(), key=lambda u: u.unit)
    return Overview(
        at=now,
        units=by_unit,
        towns=sorted(towns.values(), key=lambda t: t.town),
        overdue=open_items(db, now, OpenTasks(due_before=moment)),
        overdue_total=sum(u.red for u in by_unit),
        due_soon=open_items(db, now, OpenTasks(due_from=moment, due_before=soon)),
        due_soon_total=count_open(db, now, OpenTasks(due_from=moment, due_before=soon)),
        batches={k: batches.get(k, 0) for k in ("relocate", "rectify", "close", "unclassified")},
        struck_off=struck_off,
        listed=listed,
        weeks=_weeks(db, now, weeks),
    )


@dataclass(frozen=True)
class OpenTasks:
    """Which open tasks a list selects: one unit's, one town's cases', one colour, or
    due within [due_from, due_before) (UTC text)."""

    unit: str | None = None
    town: str | None = None
    colour: str | None = None
    due_from: str | None = None
    due_before: str | None = None

    def where(self, now: datetime) -> tuple[list[str], list[Any]]:
        where: list[str] = [OPEN]
        params: list[Any] = []
        for clause, value in (
            ("t.unit = ?", self.unit),
            ("c.town = ?", self.town),
            ("t.deadline >= ?", self.due_from),
            ("t.deadline < ?", self.due_before),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if self.colour is not None:
            clauses, values = colour_condition(self.colour, utc_text(now) or "")
            where += clauses
            params += values
        return where, params


def open_items(
    db: Database, now: datetime, chosen: OpenTasks, limit: int = 20
) -> list[dict[str, Any]]:
    """Open tasks, oldest deadline first, with their case's name and town."""
    where, params = chosen.where(now)
    p = StatusProjection()
    rows = db.query(
        "SELECT t.case_id, t.task_id, t.unit, t.duty, t.completes_on, t.deadline, "
        f"c.name, c.town FROM {p.t('tasks')} t JOIN {p.t('cases')} c "
        f"ON c.case_id = t.case_id WHERE {' AND '.join(where)} "
        "ORDER BY t.deadline, t.case_id, t.task_id LIMIT ?",
        (*params, limit),
    )
    keys = ("case_id", "task_id", "unit", "duty", "completes_on", "deadline", "case_name", "town")
    items = [dict(zip(keys, r, strict=True)) for r in rows]
    for item in items:
        item["kind"] = item_kind(item["completes_on"]).value
        item["overdue_seconds"] = max(0, int((now - parse_utc(item["deadline"])).total_seconds()))
    return items


def count_open(db: Database, now: datetime, chosen: OpenTasks) -> int:
    where, params = chosen.where(now)
    p = StatusProjection()
    tables = f"{p.t('tasks')} t" + (
        f" JOIN {p.t('cases')} c ON c.case_id = t.case_id" if chosen.town is not None else ""
    )
    return int(db.query(f"SELECT count(*) FROM {tables} WHERE {' AND '.join(where)}", params)[0][0])


def _weeks(db: Database, now: datetime, count: int) -> list[Week]:
    """Cases listed and struck off in each of the last `count` weeks (district time)."""
    _, this_monday = iso_week(now)
    first = this_monday - timedelta(weeks=count - 1)
    weeks = [
        Week(*iso_week(datetime(d.year, d.month, d.day, 12, tzinfo=DISTRICT_TIME)))
        for d in (first + timedelta(weeks=i) for i in range(count))
    ]
    by_name = {w.week: w for w in weeks}
    since = utc_text(datetime(first.year, first.month, first.day, tzinfo=DISTRICT_TIME)) or ""
    p = StatusProjection()
    for column, attribute in (("listed_at", "listed"), ("struck_off_at", "struck_off")):
        # Counted per hour in SQL (district weeks do not start at a UTC midnight).
        for hour, n in db.query(
            f"SELECT substr({column}, 1, 13), count(*) FROM {p.t('cases')} "
            f"WHERE {column} >= ? GROUP BY substr({column}, 1, 13)",
            (since,),
        ):
            moment = datetime.fromisoformat(f"{hour}:00:00+00:00")
            week = by_name.get(iso_week(moment)[0])
            if week is not None:
                setattr(week, attribute, getattr(week, attribute) + int(n))
    return weeks
