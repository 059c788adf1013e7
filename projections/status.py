"""The status projection: enterprise status, tasks, orders, notices, disputes and patrols,
from which the enterprise status, per-unit accountability, town ledger and patrol views
are read (projections/queries.py). One projection, so the views are always mutually
consistent: they are written in the same transaction, with the offsets.

It does not re-code the lifecycle (one source of truth per rule). For each event it
takes the case as the domain left it after the previous one, applies the event with
the event's own `apply_to` (the aggregate's evolve function) and writes the rows read
off the result (status_rows.py). The case between events is kept in the view itself
(`image`, domain.case_memory), so a restarted projection carries on where it stopped,
and in a bounded cache so that a catch-up does not read it back for every event.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from domain.case import Case
from domain.case_memory import CaseImage, image_of, restore
from domain.events import CaseEvent, all_case_events
from domain.notifications import ItemChange, item_changes
from domain.records import TaskRecord
from projections.db import Database, Index, Tx, rename_index, utc_text
from projections.runner import EventRecord, Projection
from projections.status_rows import (
    CASE_COLUMNS,
    DISPUTE_COLUMNS,
    NOTICE_COLUMNS,
    ORDER_COLUMNS,
    TASK_COLUMNS,
    case_row,
    dispute_row,
    notice_row,
    order_row,
    task_row,
)

# Bump when the tables' shape changes: the view is then dropped and rebuilt from the topic.
SCHEMA_VERSION = 7
TABLES = ("cases", "tasks", "orders", "notices", "disputes", "patrols", "changes")
# The live stream (GET /inbox/stream) reads the inbox changes of the last this many.
CHANGES_KEPT = 100_000
SCHEMA = {
    "cases": """(
        case_id TEXT PRIMARY KEY, version INTEGER NOT NULL, name TEXT NOT NULL, uscc TEXT,
        address TEXT NOT NULL, town TEXT NOT NULL, industry TEXT, licensed INTEGER NOT NULL,
        disposition TEXT, state TEXT NOT NULL, deadline TEXT, classified_by TEXT,
        concurred_by TEXT, approval_lock INTEGER NOT NULL, supply_power TEXT NOT NULL,
        supply_water TEXT NOT NULL, supply_gas TEXT NOT NULL,
        licence_revoked INTEGER NOT NULL, revocation_requested INTEGER NOT NULL,
        suspension_ordered INTEGER NOT NULL, refused_to_stop INTEGER NOT NULL,
        unauthorized_resumption INTEGER NOT NULL, acceptance_failed INTEGER NOT NULL,
        destination_park TEXT, park_entry_confirmed INTEGER NOT NULL, found_by_patrol TEXT,
        relapses INTEGER NOT NULL, listed_at TEXT NOT NULL, struck_off_at TEXT,
        last_event TEXT NOT NULL, last_action TEXT, last_unit TEXT NOT NULL,
        last_at TEXT NOT NULL, image TEXT NOT NULL)""",
    "tasks": """(
        case_id TEXT NOT NULL, task_id TEXT NOT NULL, unit TEXT NOT NULL, duty TEXT NOT NULL,
        completes_on TEXT NOT NULL, ref TEXT, assigned_by TEXT, assigned_at TEXT NOT NULL,
        deadline TEXT NOT NULL,
        done_at TEXT, cancelled_at TEXT, reminded TEXT NOT NULL, yellow_from TEXT NOT NULL,
        town TEXT NOT NULL, PRIMARY KEY (case_id, task_id))""",
    "orders": """(
        order_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, utility TEXT NOT NULL,
        kind TEXT NOT NULL, status TEXT NOT NULL, requested_by TEXT NOT NULL,
        deadline TEXT NOT NULL, issued_at TEXT NOT NULL, document_number TEXT NOT NULL,
        message TEXT NOT NULL)""",
    "notices": """(
        case_id TEXT NOT NULL, notice_id TEXT NOT NULL, task_id TEXT NOT NULL,
        unit TEXT NOT NULL, issued_at TEXT NOT NULL, respond_by TEXT NOT NULL,
        answered_at TEXT, PRIMARY KEY (case_id, notice_id))""",
    "disputes": """(
        case_id TEXT NOT NULL, dispute_id TEXT NOT NULL, task_id TEXT NOT NULL,
        raised_by TEXT NOT NULL, resolved_to TEXT, raised_at TEXT,
        PRIMARY KEY (case_id, dispute_id))""",
    # What changed in which unit's inbox (domain.notifications), in the order written:
    # one writer at a time holds the projection's lock, so `seq` grows in commit order.
    "changes": """(
        seq {serial}, unit TEXT NOT NULL, case_id TEXT NOT NULL, task_id TEXT NOT NULL,
        change TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL)""",
    "patrols": """(
        patrol_id TEXT PRIMARY KEY, town TEXT NOT NULL, patrol_date TEXT NOT NULL,
        area TEXT NOT NULL, findings TEXT NOT NULL, evidence INTEGER NOT NULL,
        recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
}
INDEXES = {
    # town, disposition, state: the overview counts the ledger from the index alone.
    "cases": [
        "town, disposition, state",
        "state",
        "disposition",
        "found_by_patrol",
        "listed_at",
        "struck_off_at",
    ],
    "tasks": ["unit, deadline", "deadline"],
    "orders": ["utility, status"],
    "notices": ["unit"],
    "patrols": ["town, patrol_date"],
    "changes": ["unit, seq"],
}
KEYS = {
    "cases": ("case_id",),
    "tasks": ("case_id", "task_id"),
    "orders": ("order_id",),
    "notices": ("case_id", "notice_id"),
    "disputes": ("case_id", "dispute_id"),
    "patrols": ("patrol_id",),
    "changes": ("seq",),
}
# An inbox: one unit's open tasks by deadline, the page order (a task done or cancelled
# leaves the index, so a department's inbox does not scan its years of closed work). It
# also holds what the colour counts and the kind filter read, so they need no table row.
PARTIAL_INDEXES = {
    "open": (
        "tasks",
        "(unit, deadline, case_id, task_id, yellow_from, completes_on) "
        "WHERE done_at IS NULL AND cancelled_at IS NULL",
    ),
    # Every unit's open tasks by deadline: the overview's overdue and due-soon lists.
    "open_by_deadline": (
        "tasks",
        "(deadline, case_id, task_id) WHERE done_at IS NULL AND cancelled_at IS NULL",
    ),
    # The overview's lights per town, and each unit's tasks done on time or late, each
    # counted from an index alone.
    "open_by_town": (
        "tasks",
        "(town, deadline, yellow_from) WHERE done_at IS NULL AND cancelled_at IS NULL",
    ),
    "done": (
        "tasks",
        "(unit, done_at, deadline) WHERE done_at IS NOT NULL AND cancelled_at IS NULL",
    ),
}
SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY"}
# The change log's numbers depend on when the view was built (a rebuild numbers afresh,
# and old entries are pruned), so two views equal in content may differ in them.
NOT_DIGESTED = frozenset({"changes"})
# Events of the store that are not about a case (indexes, requests, keys, the registry).
NOT_CASE_EVENTS = frozenset(
    {
        "UsccRegistered",
        "WorkshopIndexed",
        "WorkshopListedAgain",
        "RequestHandled",
        "KeyIssued",
        "KeyRevoked",
        "UnitsRegistryAdopted",
        "UnitsRegistryChanged",
        "ControlAreasStarted",
        "ControlAreaDefined",
        "ControlAreaRemoved",
        "RegistrationRefused",
        "SubscriptionCreated",
        "SubscriptionPaused",
        "SubscriptionResumed",
        "SubscriptionDeleted",
        "UnitSubscriptionsStarted",
        "UnitSubscriptionsChanged",
    }
)
EVENT_CLASSES: dict[str, type[CaseEvent]] = {cls.__name__: cls for cls in all_case_events()}
CACHE_SIZE = 20_000
CHANGE_COLUMNS = ("unit", "case_id", "task_id", "change", "kind", "at")
# The columns each of a case's tables is written with.
UPSERT_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (*CASE_COLUMNS, "image"),
    "tasks": TASK_COLUMNS,
    "orders": ORDER_COLUMNS,
    "notices": NOTICE_COLUMNS,
    "disputes": DISPUTE_COLUMNS,
}


@dataclass
class WorkingCase:
    """A case being projected in this batch, and what its rows held before it."""

    case: Case
    written: dict[str, dict[str, Any]]  # per record table: the records the rows hold
    last: dict[str, Any] = field(default_factory=dict)
    changed: bool = False


class StatusProjection:
    prepare: str | None = None  # applying needs the view's rows: nothing to do ahead in a feed
    splittable = True  # a case's events share a partition
    base_name = "status"
    # The view's shape, as class attributes so that a projection that follows cases the
    # same way (projections/notify.py) can keep other tables.
    schema_version = SCHEMA_VERSION
    schema: dict[str, str] = SCHEMA
    tables: tuple[str, ...] = TABLES
    indexes: dict[str, list[str]] = INDEXES
    keys: dict[str, tuple[str, ...]] = KEYS
    partial_indexes: dict[str, tuple[str, str]] = PARTIAL_INDEXES
    upsert_columns: dict[str, tuple[str, ...]] = UPSERT_COLUMNS

    def __init__(self, suffix: str = "", cache_size: int = CACHE_SIZE) -> None:
        self.suffix = suffix
        self.name = f"{self.base_name}{suffix}"
        self.cache_size = cache_size
        self._cache: OrderedDict[str, WorkingCase] = OrderedDict()
        self._stored: dict[str, str] = {}  # the batch's stored case images (apply_all)
        self._changes: list[tuple[str, ...]] = []  # the batch's inbox changes, in order
        self._told_in_batch = 0

    def t(self, table: str) -> str:
        return f"{self.base_name}_{table}{self.suffix}"

    def shadow(self) -> Projection:
        return type(self)(self.suffix + "__rebuild", self.cache_size)

    def create(self, tx: Tx) -> None:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS projection_schema "
            "(projection TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        row = tx.execute(
            "SELECT version FROM projection_schema WHERE projection = ?", (self.name,)
        ).fetchone()
        if row is None or int(row[0]) != self.schema_version:
            # A view of another shape (or none): start it afresh from the topic's beginning.
            self.drop(tx)
            tx.execute("DELETE FROM projection_offsets WHERE projection = ?", (self.name,))
            tx.execute(
                "INSERT INTO projection_schema (projection, version) VALUES (?, ?) "
                "ON CONFLICT (projection) DO UPDATE SET version = excluded.version",
                (self.name, self.schema_version),
            )
        for table, columns in self.schema.items():
            columns = columns.replace("{serial}", SERIAL[tx.dialect])
            tx.execute(f"CREATE TABLE IF NOT EXISTS {self.t(table)} {columns}")

    def index_definitions(self) -> list[Index]:
        """The view's secondary indexes, named after its tables (a shadow's after its own)."""
        found = [
            Index(f"ix_{self.t(table)}_{i}", self.t(table), f"({cols})")
            for table in self.schema
            for i, cols in enumerate(self.indexes.get(table, []))
        ]
        found += [
            Index(f"ix_{self.t(table)}_{name}", self.t(table), index)
            for name, (table, index) in self.partial_indexes.items()
        ]
        return found

    def drop(self, tx: Tx) -> None:
        for table in self.tables:
            tx.execute(f"DROP TABLE IF EXISTS {self.t(table)}")

    def rename_from(self, tx: Tx, shadow: Projection) -> None:
        assert isinstance(shadow, type(self))
        for table in self.tables:
            tx.execute(f"ALTER TABLE {shadow.t(table)} RENAME TO {self.t(table)}")
        for built, index in zip(shadow.index_definitions(), self.index_definitions(), strict=True):
            rename_index(tx, built, index)
        self.forget()

    def digest(self, db: Database) -> str:
        """SHA-256 over every row of every table, in key order: equal views, equal digests."""
        h = hashlib.sha256()
        for table in self.tables:
            if table in NOT_DIGESTED:
                continue
            order = ", ".join(self.keys[table])
            for row in db.query(f"SELECT * FROM {self.t(table)} ORDER BY {order}"):
                h.update(orjson.dumps(list(row)))
        return h.hexdigest()

    def forget(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------ applying events

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        # Records of one case come from one partition, in order: applying each batch in
        # arrival order keeps every case's events in order. Nothing is held back.
        consumed: dict[int, int] = {}
        touched: dict[str, WorkingCase] = {}
        self._told_in_batch = 0
        try:
            self._stored = self._load_all(tx, events)
            for event in events:
                self._apply(tx, event, touched)
                consumed[event.partition] = event.offset + 1
            # Every row the batch changed, written table by table: one statement each
            # (PostgreSQL pipelines the rows; a statement per row waited a round trip).
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for case_id, working in touched.items():
                if working.changed:
                    self._write(case_id, working, rows)
            for table, table_rows in rows.items():
                tx.upsert_rows(
                    self.t(table), self.upsert_columns[table], self.keys[table], table_rows
                )
            tx.insert_rows(self.t("changes"), CHANGE_COLUMNS, self._changes)
            if self._told_in_batch:
                tx.execute(
                    f"DELETE FROM {self.t('changes')} WHERE seq < "
                    f"(SELECT max(seq) FROM {self.t('changes')}) - ?",
                    (CHANGES_KEPT,),
                )
        except BaseException:
            self.forget()  # the transaction rolls back: what the cache holds may be ahead
            raise
        finally:
            self._stored, self._changes = {}, []
        for case_id, working in touched.items():
            self._cache[case_id] = working
            self._cache.move_to_end(case_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return consumed

    def apply(self, tx: Tx, event: EventRecord) -> None:
        self.apply_all(tx, [event])

    def _apply(self, tx: Tx, event: EventRecord, touched: dict[str, WorkingCase]) -> None:
        if self._not_of_a_case(tx, event):
            return
        cls = EVENT_CLASSES.get(event.type)
        if cls is None:
            raise ValueError(f"{event.type} is no event of a case this version knows")
        case_id = event.case_id
        working = touched.get(case_id) or self._load(tx, case_id)
        domain_event = cls.model_validate(event.data)
        if working is None:
            if event.version != 1:
                raise ValueError(
                    f"case {case_id} is not in the view, and {event.type} is not its first event"
                )
            tasks_before: dict[str, TaskRecord] = {}
            working = WorkingCase(case=cast(Case, domain_event.mutate(None)), written={})
        elif domain_event.originator_version <= working.case.version:
            touched[case_id] = working
            return  # applied already (a replay after a crash): nothing changes
        else:
            tasks_before = dict(working.case.tasks)
            working.case = cast(Case, domain_event.mutate(working.case))
        working.changed = True
        data = event.data
        working.last = {
            "type": event.type,
            "action": data.get("action"),
            "unit": data["actor"]["unit"],
            "at": utc_text(data["timestamp"]),
            "position": event.position,
        }
        touched[case_id] = working
        changes = item_changes(tasks_before, working.case.tasks)
        if changes:
            self._told(tx, working, changes)

    def _told(self, tx: Tx, working: WorkingCase, changes: list[ItemChange]) -> None:
        """Notes what one event changed in which unit's inbox (the live stream's log),
        written with the batch's rows (one statement for the batch, in event order)."""
        self._changes.extend(
            (x.unit, str(working.case.id), x.task.task_id, x.change.value, x.kind.value,
             working.last["at"])
            for x in changes
        )  # fmt: skip
        self._told_in_batch += len(changes)

    def _not_of_a_case(self, tx: Tx, event: EventRecord) -> bool:
        """Applies an event that is not about a case (says whether it was one)."""
        if event.type == "PatrolRecorded":
            self._patrol(tx, event)
            return True
        return event.type in NOT_CASE_EVENTS

    def _load_all(self, tx: Tx, events: list[EventRecord]) -> dict[str, str]:
        """The stored images of the batch's cases that are not in memory, in one query per
        thousand (a query per case waited a round trip each)."""
        wanted = list(
            {e.data["originator_id"]: None for e in events if "originator_id" in e.data}.keys()
            - self._cache.keys()
        )
        stored: dict[str, str] = {}
        for start in range(0, len(wanted), 1000):
            chunk = [str(w) for w in wanted[start : start + 1000]]
            marks = ", ".join("?" for _ in chunk)
            stored.update(
                tx.execute(
                    f"SELECT case_id, image FROM {self.t('cases')} WHERE case_id IN ({marks})",
                    chunk,
                ).fetchall()
            )
        return stored

    def _load(self, tx: Tx, case_id: str) -> WorkingCase | None:
        cached = self._cache.get(case_id)
        if cached is not None:
            cached.changed = False
            return cached
        image = self._stored.get(case_id)
        if image is None:
            return None
        case = restore(CaseImage.model_validate_json(image))
        return WorkingCase(case=case, written=case_records(case))

    def _write(
        self, case_id: str, working: WorkingCase, rows: dict[str, list[tuple[Any, ...]]]
    ) -> None:
        """Adds the case's changed rows, per table, to `rows`."""
        case = working.case
        image = orjson.dumps(image_of(case).model_dump(mode="json")).decode()
        rows.setdefault("cases", []).append((*case_row(case, working.last), image))
        now = case_records(case)

        def a_task_row(key: str, task: TaskRecord) -> tuple[Any, ...]:
            return task_row(key, task, case.town)

        row_makers = {
            "tasks": a_task_row,
            "orders": order_row,
            "notices": notice_row,
            "disputes": dispute_row,
        }
        for table, row_of in row_makers.items():
            before = working.written.get(table, {})
            for key, record in now[table].items():
                if before.get(key) is not record:  # records are frozen: replaced when changed
                    rows.setdefault(table, []).append(row_of(case_id, record))  # type: ignore[operator]
        working.written = now

    def _patrol(self, tx: Tx, event: EventRecord) -> None:
        d = event.data
        tx.execute(
            f"INSERT INTO {self.t('patrols')} VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (patrol_id) DO NOTHING",
            (
                event.case_id,
                d["town"],
                d["patrol_date"],
                d["area"],
                d["findings"],
                len(d.get("evidence", ())),
                d["actor"]["unit"],
                utc_text(d["timestamp"]),
            ),
        )


def case_records(case: Case) -> dict[str, dict[str, Any]]:
    return {
        "tasks": dict(case.tasks),
        "orders": dict(case.orders),
        "notices": dict(case.notices),
        "disputes": dict(case.disputes),
    }
