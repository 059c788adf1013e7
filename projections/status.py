"""The status projection: enterprise status, tasks, notices and disputes, from which the
enterprise status, per-unit accountability and town ledger views are read
(projections/queries.py). One projection, so the three views are always mutually
consistent: they are written in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from projections.db import Database, Tx, utc_text
from projections.runner import EventRecord, Projection

TABLES = ("cases", "tasks", "orders", "notices", "disputes")

SCHEMA = {
    "cases": """(
        case_id TEXT PRIMARY KEY, version INTEGER NOT NULL, name TEXT NOT NULL, uscc TEXT,
        address TEXT NOT NULL, town TEXT NOT NULL, industry TEXT, licensed INTEGER NOT NULL,
        disposition TEXT, state TEXT NOT NULL, deadline TEXT, approval_lock INTEGER NOT NULL,
        supply_power TEXT NOT NULL, supply_water TEXT NOT NULL, supply_gas TEXT NOT NULL,
        licence_revoked INTEGER NOT NULL, unauthorized_resumption INTEGER NOT NULL,
        found_by_patrol TEXT, relapses INTEGER NOT NULL, listed_at TEXT NOT NULL,
        struck_off_at TEXT, last_event TEXT NOT NULL, last_action TEXT,
        last_unit TEXT NOT NULL, last_at TEXT NOT NULL)""",
    "tasks": """(
        case_id TEXT NOT NULL, task_id TEXT NOT NULL, unit TEXT NOT NULL, duty TEXT NOT NULL,
        completes_on TEXT NOT NULL, ref TEXT, assigned_at TEXT NOT NULL, deadline TEXT NOT NULL,
        done_at TEXT, cancelled_at TEXT, PRIMARY KEY (case_id, task_id))""",
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
        raised_by TEXT NOT NULL, resolved_to TEXT, raised_at TEXT NOT NULL,
        PRIMARY KEY (case_id, dispute_id))""",
}
INDEXES = {
    "cases": ["town", "state", "disposition"],
    "tasks": ["unit", "deadline"],
    "orders": ["utility, status"],
    "notices": ["unit"],
}

# The state a case enters with each event (the domain's lifecycle, DOMAIN.md section 4).
STATE_AFTER = {
    "Classified": "classified",
    "Reclassified": "classified",
    "AcceptanceRequested": "acceptance_requested",
    "AcceptanceFailed": "suspended",
    "AcceptancePassed": "accepted",
    "ClosureVerified": "closure_verified",
    "CaseStruckOff": "struck_off",
    "CaseReopened": "reopened",
}
# Events of the store that are not about a case (the USCC index, patrols).
NOT_CASE_EVENTS = frozenset(
    {
        "UsccRegistered",
        "PatrolRecorded",
        "RequestHandled",
        "KeyIssued",
        "KeyRevoked",
        "UnitsRegistryAdopted",
        "UnitsRegistryChanged",
    }
)
SUPPLY_AFTER = {"cut": "cut", "limit": "limited", "restore": "on"}


class StatusProjection:
    prepare: str | None = None  # applying needs the view's rows: nothing to do ahead in a feed

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.name = f"status{suffix}"

    def t(self, table: str) -> str:
        return f"status_{table}{self.suffix}"

    def shadow(self) -> Projection:
        return StatusProjection(self.suffix + "__rebuild")

    def create(self, tx: Tx) -> None:
        for table, columns in SCHEMA.items():
            tx.execute(f"CREATE TABLE IF NOT EXISTS {self.t(table)} {columns}")
            for i, cols in enumerate(INDEXES.get(table, [])):
                tx.execute(
                    f"CREATE INDEX IF NOT EXISTS ix_{self.t(table)}_{i} ON {self.t(table)} ({cols})"
                )

    def drop(self, tx: Tx) -> None:
        for table in TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {self.t(table)}")

    def rename_from(self, tx: Tx, shadow: Projection) -> None:
        assert isinstance(shadow, StatusProjection)
        for table in TABLES:
            tx.execute(f"ALTER TABLE {shadow.t(table)} RENAME TO {self.t(table)}")

    def digest(self, db: Database) -> str:
        """SHA-256 over every row of every table, in key order: equal views, equal digests."""
        h = hashlib.sha256()
        order = {
            "cases": "case_id",
            "tasks": "case_id, task_id",
            "orders": "order_id",
            "notices": "case_id, notice_id",
            "disputes": "case_id, dispute_id",
        }
        for table in TABLES:
            for row in db.query(f"SELECT * FROM {self.t(table)} ORDER BY {order[table]}"):
                h.update(orjson.dumps(list(row)))
        return h.hexdigest()

    # ------------------------------------------------------------ applying events

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        # Records of one case come from one partition, in order: applying each batch in
        # arrival order keeps every case's events in order. Nothing is held back.
        consumed: dict[int, int] = {}
        for event in events:
            self.apply(tx, event)
            consumed[event.partition] = event.offset + 1
        return consumed

    def forget(self) -> None:
        pass

    def apply(self, tx: Tx, event: EventRecord) -> None:
        if event.type == "EnterpriseListed":
            self._listed(tx, event)
            return
        if event.type in NOT_CASE_EVENTS:
            return
        data = event.data
        updates: dict[str, Any] = {
            "version": event.version,
            "last_event": event.type,
            "last_action": data.get("action"),
            "last_unit": data["actor"]["unit"],
            "last_at": utc_text(data["timestamp"]),
        }
        if event.type in STATE_AFTER:
            updates["state"] = STATE_AFTER[event.type]
        # One guarded statement: it changes nothing for a version applied already, and then
        # the event's own handler is skipped too.
        assignments = ", ".join(f"{column} = ?" for column in updates)
        tx.execute(
            f"UPDATE {self.t('cases')} SET {assignments} WHERE case_id = ? AND version < ?",
            (*updates.values(), event.case_id, event.version),
        )
        if tx.rowcount == 0:
            return
        handler = HANDLERS.get(event.type)
        if handler is not None:
            handler(self, tx, event)

    def _update_case(self, tx: Tx, case_id: str, updates: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in updates)
        tx.execute(
            f"UPDATE {self.t('cases')} SET {assignments} WHERE case_id = ?",
            (*updates.values(), case_id),
        )

    def _listed(self, tx: Tx, event: EventRecord) -> None:
        d = event.data
        e = d["enterprise"]
        supplies = {s["utility"]: s["state"] for s in d["supplies"]}
        tx.execute(
            f"INSERT INTO {self.t('cases')} VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, NULL, 'listed', NULL, 0, ?, ?, ?, 0, 0, ?, 0, ?, NULL, "
            "?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
            (
                event.case_id,
                event.version,
                e["name"],
                e["uscc"],
                e["address"],
                e["town"],
                e["industry"],
                int(e["licensed"]),
                supplies.get("power", "not_connected"),
                supplies.get("water", "not_connected"),
                supplies.get("gas", "not_connected"),
                d.get("found_by_patrol"),
                utc_text(d["timestamp"]),
                event.type,
                d.get("action"),
                d["actor"]["unit"],
                utc_text(d["timestamp"]),
            ),
        )

    # Handlers for events that change more than the common columns.

    def _classified(self, tx: Tx, event: EventRecord) -> None:
        self._update_case(
            tx,
            event.case_id,
            {
                "disposition": event.data["disposition"],
                "deadline": utc_text(event.data["deadline"]),
            },
        )

    def _suspended(self, tx: Tx, event: EventRecord) -> None:
        tx.execute(
            f"UPDATE {self.t('cases')} SET state = 'suspended' "
            "WHERE case_id = ? AND state = 'classified'",
            (event.case_id,),
        )

    def _corrected(self, tx: Tx, event: EventRecord) -> None:
        changes = event.data["changes"]
        direct = {
            k: (int(v) if isinstance(v, bool) else v)
            for k, v in changes.items()
            if k in ("name", "address", "industry", "licensed")
        }
        if direct:
            self._update_case(tx, event.case_id, direct)

    def _task_assigned(self, tx: Tx, event: EventRecord) -> None:
        t = event.data["task"]
        tx.execute(
            f"INSERT INTO {self.t('tasks')} VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL) "
            "ON CONFLICT (case_id, task_id) DO NOTHING",
            (
                event.case_id,
                t["task_id"],
                t["unit"],
                t["duty"],
                t["completes_on"],
                t["ref"],
                utc_text(t["assigned_at"]),
                utc_text(t["deadline"]),
            ),
        )

    def _order_issued(self, tx: Tx, event: EventRecord) -> None:
        o = event.data["order"]
        tx.execute(
            f"INSERT INTO {self.t('orders')} VALUES (?, ?, ?, ?, 'issued', ?, ?, ?, ?, ?) "
            "ON CONFLICT (order_id) DO NOTHING",
            (
                o["order_id"],
                event.case_id,
                o["utility"],
                o["kind"],
                o["requested_by"],
                utc_text(o["deadline"]),
                utc_text(o["issued_at"]),
                o["document_number"],
                orjson.dumps(o).decode(),
            ),
        )

    def _notice_issued(self, tx: Tx, event: EventRecord) -> None:
        n = event.data["notice"]
        tx.execute(
            f"INSERT INTO {self.t('notices')} VALUES (?, ?, ?, ?, ?, ?, NULL) "
            "ON CONFLICT (case_id, notice_id) DO NOTHING",
            (
                event.case_id,
                n["notice_id"],
                n["task_id"],
                n["unit"],
                utc_text(n["issued_at"]),
                utc_text(n["respond_by"]),
            ),
        )

    def _notice_answered(self, tx: Tx, event: EventRecord) -> None:
        tx.execute(
            f"UPDATE {self.t('notices')} SET answered_at = ? WHERE case_id = ? AND notice_id = ?",
            (utc_text(event.data["timestamp"]), event.case_id, event.data["notice_id"]),
        )

    def _dispute_raised(self, tx: Tx, event: EventRecord) -> None:
        d = event.data["dispute"]
        tx.execute(
            f"INSERT INTO {self.t('disputes')} VALUES (?, ?, ?, ?, NULL, ?) "
            "ON CONFLICT (case_id, dispute_id) DO NOTHING",
            (
                event.case_id,
                d["dispute_id"],
                d["task_id"],
                d["raised_by"],
                utc_text(event.data["timestamp"]),
            ),
        )

    def _dispute_arbitrated(self, tx: Tx, event: EventRecord) -> None:
        tx.execute(
            f"UPDATE {self.t('disputes')} SET resolved_to = ? WHERE case_id = ? AND dispute_id = ?",
            (event.data["responsible_unit"], event.case_id, event.data["dispute_id"]),
        )

    def _reopened(self, tx: Tx, event: EventRecord) -> None:
        tx.execute(
            f"UPDATE {self.t('cases')} SET relapses = relapses + ?, struck_off_at = NULL, "
            "unauthorized_resumption = 0 WHERE case_id = ?",
            (int(event.data["relapse"]), event.case_id),
        )


Handler = Callable[[StatusProjection, Tx, EventRecord], None]


def set_case(column: str, value_of: Callable[[EventRecord], Any]) -> Handler:
    def apply(p: StatusProjection, tx: Tx, event: EventRecord) -> None:
        p._update_case(tx, event.case_id, {column: value_of(event)})

    return apply


def set_task(column: str, value_of: Callable[[EventRecord], Any]) -> Handler:
    def apply(p: StatusProjection, tx: Tx, event: EventRecord) -> None:
        tx.execute(
            f"UPDATE {p.t('tasks')} SET {column} = ? WHERE case_id = ? AND task_id = ?",
            (value_of(event), event.case_id, event.data["task_id"]),
        )

    return apply


def order_status(status: str) -> Handler:
    def apply(p: StatusProjection, tx: Tx, event: EventRecord) -> None:
        order_id = event.data["order_id"]
        tx.execute(f"UPDATE {p.t('orders')} SET status = ? WHERE order_id = ?", (status, order_id))
        if status == "executed":
            row = tx.execute(
                f"SELECT utility, kind FROM {p.t('orders')} WHERE order_id = ?", (order_id,)
            ).fetchone()
            assert row is not None
            p._update_case(tx, event.case_id, {f"supply_{row[0]}": SUPPLY_AFTER[row[1]]})

    return apply


def at(field: str) -> Callable[[EventRecord], Any]:
    return lambda event: utc_text(event.data[field])


HANDLERS: dict[str, Handler] = {
    "Classified": StatusProjection._classified,
    "Reclassified": StatusProjection._classified,
    "ApprovalLockApplied": set_case("approval_lock", lambda _: 1),
    "ApprovalLockLifted": set_case("approval_lock", lambda _: 0),
    "SuspensionOrdered": StatusProjection._suspended,
    "RecordCorrected": StatusProjection._corrected,
    "TaskAssigned": StatusProjection._task_assigned,
    "TaskCompleted": set_task("done_at", at("timestamp")),
    "TaskCancelled": set_task("cancelled_at", at("timestamp")),
    "DeadlineExtended": set_task("deadline", at("new_deadline")),
    "TaskReassigned": set_task("unit", lambda e: e.data["to_unit"]),
    "UtilityOrderIssued": StatusProjection._order_issued,
    "UtilityOrderAcknowledged": order_status("acknowledged"),
    "UtilityOrderExecuted": order_status("executed"),
    "UtilityOrderRefused": order_status("refused"),
    "UtilityOrderCancelled": order_status("cancelled"),
    "SupervisionNoticeIssued": StatusProjection._notice_issued,
    "SupervisionNoticeAnswered": StatusProjection._notice_answered,
    "DisputeRaised": StatusProjection._dispute_raised,
    "DisputeArbitrated": StatusProjection._dispute_arbitrated,
    "LicenceRevoked": set_case("licence_revoked", lambda _: 1),
    "UnauthorizedResumptionReported": set_case("unauthorized_resumption", lambda _: 1),
    "AcceptancePassed": set_case("unauthorized_resumption", lambda _: 0),
    "CaseReopened": StatusProjection._reopened,
    "CaseStruckOff": set_case("struck_off_at", at("timestamp")),
}
