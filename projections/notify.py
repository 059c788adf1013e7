"""The notify projection: from the events topic, what each subscribed endpoint must be
told, as an outbox of deliveries (gateways/webhooks.py posts them).

It follows every case the way the status view does (the same code: the domain's own
`apply_to` on the case as it stood, projections/status.py), and reads each event's
inbox changes off the case's tasks before and after it (domain.notifications). For
every change, each live subscription of the unit concerned that wants that kind of
item gets one delivery row. The rows, the cases' state and the offsets are written in
one transaction, so a crash or a second copy enqueues nothing twice and loses nothing.

The deliveries table is an outbox, not a view: a rebuild of the projection keeps it,
and re-enqueues nothing already there (each row is keyed by its message id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from domain.case_memory import image_of
from domain.deadlines import Deadline
from domain.notifications import ItemChange, completing_path
from domain.subscriptions import SubscriptionState
from gateways.envelope import SOURCE, TYPE_PREFIX
from projections.db import Tx, parse_utc, utc_text
from projections.runner import EventRecord
from projections.status import NOT_CASE_EVENTS, StatusProjection, WorkingCase

SUBSCRIPTION_EVENTS = {
    "SubscriptionCreated": None,
    "SubscriptionPaused": SubscriptionState.PAUSED,
    "SubscriptionResumed": SubscriptionState.ACTIVE,
    "SubscriptionDeleted": SubscriptionState.DELETED,
}
DELIVERIES = "notify_deliveries"
DELIVERIES_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {DELIVERIES} (
    subscription_id TEXT NOT NULL, message_id TEXT NOT NULL, unit TEXT NOT NULL,
    case_id TEXT NOT NULL, position BIGINT NOT NULL, kind TEXT NOT NULL,
    change TEXT NOT NULL, attributes TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL,
    lease_until TEXT, last_status INTEGER, last_error TEXT, enqueued_at TEXT NOT NULL,
    delivered_at TEXT, PRIMARY KEY (subscription_id, message_id))"""
DELIVERIES_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS ix_{DELIVERIES}_lane ON {DELIVERIES} "
    "(subscription_id, state, position)",
    f"CREATE INDEX IF NOT EXISTS ix_{DELIVERIES}_due ON {DELIVERIES} (state, next_attempt_at)",
)
SCHEMA = {
    "cases": "(case_id TEXT PRIMARY KEY, version INTEGER NOT NULL, image TEXT NOT NULL)",
    "subscriptions": """(
        subscription_id TEXT PRIMARY KEY, unit TEXT NOT NULL, url TEXT NOT NULL,
        kinds TEXT NOT NULL, description TEXT NOT NULL, state TEXT NOT NULL,
        created_at TEXT NOT NULL, changed_at TEXT NOT NULL, position BIGINT NOT NULL)""",
}


class Completion(BaseModel):
    action: str = Field(description="the action that completes the item")
    method: Literal["POST"] = "POST"
    path: str = Field(description="the request that posts it")


class ItemFields(BaseModel):
    """What an inbox item says, wherever it is shown (GET /inbox, webhooks)."""

    case_id: str
    case_name: str
    town: str
    task_id: str
    duty: str = Field(description="what is asked, in the plan's words")
    ref: str | None = Field(description="the order, notice, dispute or incident concerned")
    assigned_by: str | None = Field(description="the unit whose decision asked it")
    assigned_at: str
    deadline: str
    complete_with: Completion


class InboxItemBody(ItemFields):
    kind: str = Field(description="task, order, acceptance, supervision_notice or dispute")
    colour: str = Field(description="green, yellow or red when the change was made; done")


class InboxChangeBody(BaseModel):
    """A change in a unit's inbox, as a webhook carries it (the CloudEvent's data)."""

    change: str = Field(description="opened, changed, reminded, done, cancelled, reassigned")
    unit: str = Field(description="the unit whose inbox changed")
    item: InboxItemBody


DELIVERY_CHANNEL = "deliveries"


def inbox_type(change: str) -> str:
    """The CloudEvents type of an inbox change, e.g. ...inbox.opened.v1."""
    return f"{TYPE_PREFIX}inbox.{change}.v1"


class NotifyProjection(StatusProjection):
    base_name = "notify"
    schema_version = 1
    schema = SCHEMA
    tables = ("cases", "subscriptions")
    indexes = {"subscriptions": ["unit"]}  # noqa: RUF012
    keys = {"cases": ("case_id",), "subscriptions": ("subscription_id",)}  # noqa: RUF012
    partial_indexes = {}  # noqa: RUF012
    upsert_columns = {"cases": ("case_id", "version", "image")}  # noqa: RUF012

    def create(self, tx: Tx) -> None:
        super().create(tx)
        tx.execute(DELIVERIES_SCHEMA)
        for index in DELIVERIES_INDEXES:
            tx.execute(index)

    def _not_of_a_case(self, tx: Tx, event: EventRecord) -> bool:
        if event.type in SUBSCRIPTION_EVENTS:
            self._subscription(tx, event)
            return True
        return event.type == "PatrolRecorded" or event.type in NOT_CASE_EVENTS

    def _subscription(self, tx: Tx, event: EventRecord) -> None:
        d, at = event.data, utc_text(event.data["timestamp"])
        state = SUBSCRIPTION_EVENTS[event.type]
        if state is None:
            tx.execute(
                f"INSERT INTO {self.t('subscriptions')} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (subscription_id) DO NOTHING",
                (
                    event.case_id,
                    d["unit"],
                    d["url"],
                    ",".join(d["kinds"]),
                    d.get("description", ""),
                    SubscriptionState.ACTIVE.value,
                    at,
                    at,
                    event.position,
                ),
            )
            return
        tx.execute(
            f"UPDATE {self.t('subscriptions')} SET state = ?, changed_at = ? "
            "WHERE subscription_id = ?",
            (state.value, at, event.case_id),
        )
        if state is SubscriptionState.DELETED:  # nothing more is delivered to it
            tx.execute(
                f"UPDATE {DELIVERIES} SET state = 'dropped' WHERE subscription_id = ? "
                "AND state IN ('pending', 'dead')",
                (event.case_id,),
            )

    def _write(
        self, case_id: str, working: WorkingCase, rows: dict[str, list[tuple[Any, ...]]]
    ) -> None:
        """Keeps only the case's state: what to deliver was enqueued event by event."""
        case = working.case
        image = orjson.dumps(image_of(case).model_dump(mode="json")).decode()
        rows.setdefault("cases", []).append((case_id, case.version, image))
        working.written = {}

    def _told(self, tx: Tx, working: WorkingCase, changes: list[ItemChange]) -> None:
        # Event by event (not per batch), so that a delivery's id and content do not
        # depend on how records were batched: a rebuild or replay makes the same rows.
        for change in changes:
            self._enqueue(tx, working, change)

    def _enqueue(self, tx: Tx, working: WorkingCase, change: ItemChange) -> None:
        position = int(working.last["position"])
        wanting = [
            subscription_id
            for subscription_id, kinds in tx.execute(
                f"SELECT subscription_id, kinds FROM {self.t('subscriptions')} "
                "WHERE unit = ? AND state != ? AND position < ?",
                (change.unit, SubscriptionState.DELETED.value, position),
            ).fetchall()
            if change.kind.value in str(kinds).split(",")
        ]
        if not wanting:
            return
        attributes, body = message(working, change)
        at = working.last["at"]
        tx.executemany(
            f"INSERT INTO {DELIVERIES} (subscription_id, message_id, unit, case_id, position, "
            "kind, change, attributes, body, state, attempts, next_attempt_at, enqueued_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
            "ON CONFLICT (subscription_id, message_id) DO NOTHING",
            [
                (
                    s,
                    attributes["id"],
                    change.unit,
                    str(working.case.id),
                    position,
                    change.kind.value,
                    change.change.value,
                    orjson.dumps(attributes).decode(),
                    body.decode(),
                    at,
                    at,
                )
                for s in wanting
            ],
        )
        if tx.dialect == "postgres":
            # Wakes webhook processes listening on this schema's channel, once the batch
            # commits (PostgreSQL folds a transaction's identical notifications into one).
            tx.execute(f"SELECT pg_notify(current_schema() || '_{DELIVERY_CHANNEL}', '')")


def message(working: WorkingCase, change: ItemChange) -> tuple[dict[str, Any], bytes]:
    """The CloudEvent of one inbox change: its attributes (sent as ce-* headers, as on
    Kafka) and its JSON data, the inbox item as GET /inbox shows it."""
    case, task = working.case, change.task
    assert case.enterprise is not None
    case_id = str(case.id)
    at: str = working.last["at"]
    moment: datetime = parse_utc(at)
    colour = Deadline(task.assigned_at, task.deadline, task.done_at).escalation(moment)
    attributes = {
        "id": f"{case_id}/{case.version}/{task.task_id}/{change.unit}/{change.change.value}",
        "source": SOURCE,
        "type": inbox_type(change.change.value),
        "specversion": "1.0",
        "time": at,
        "subject": case_id,
        "datacontenttype": "application/json",
        "partitionkey": case_id,
        "sequence": str(working.last["position"]),
        "causetype": str(working.last["type"]),
    }
    body = InboxChangeBody(
        change=change.change.value,
        unit=change.unit,
        item=InboxItemBody(
            kind=change.kind.value,
            case_id=case_id,
            case_name=case.enterprise.name,
            town=case.enterprise.town,
            task_id=task.task_id,
            duty=task.duty,
            ref=task.ref,
            assigned_by=task.assigned_by,
            assigned_at=utc_text(task.assigned_at) or "",
            deadline=utc_text(task.deadline) or "",
            colour=colour.value if task.is_open else "done",
            complete_with=Completion(
                action=task.completes_on.value,
                path=completing_path(task.completes_on, case_id, task.ref),
            ),
        ),
    )
    return attributes, orjson.dumps(body.model_dump(mode="json"))
