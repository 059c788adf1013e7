"""The audit trail: every event, who, when, what, on which case and why, in a hash chain.

Each entry's hash covers its content and the previous entry's hash, so anyone with
an export and the published head digest can verify offline that no entry was
altered, removed or reordered (`liandong audit verify FILE`). Entries are chained in
the event store's order: the relay links every event to the one published before it
(ce_prevsequence), so the chain is the same however partitions interleave.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from projections.db import Database, Index, Tx, rename_index, utc_text
from projections.runner import EventRecord, Projection

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "position",
    "event_id",
    "case_id",
    "event_type",
    "action",
    "unit",
    "person",
    "at",
    "legal_basis",
    "document_number",
    "evidence",
    "note",
    "payload",
)
TABLES = ("entries", "head")

SCHEMA = {
    "entries": """(
        seq {key} PRIMARY KEY, position BIGINT NOT NULL UNIQUE, event_id TEXT NOT NULL,
        case_id TEXT NOT NULL, event_type TEXT NOT NULL, action TEXT, unit TEXT NOT NULL,
        person TEXT, at TEXT NOT NULL, legal_basis TEXT NOT NULL, document_number TEXT NOT NULL,
        evidence TEXT NOT NULL, note TEXT NOT NULL, payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL)""",
    "head": """(id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, position BIGINT NOT NULL,
        entry_hash TEXT NOT NULL)""",
}
INDEXES = ["case_id, seq", "unit, seq", "at", "event_type, seq", "action, seq"]


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: its fields in FIELDS order, the payload's keys in
    the order the event was written (JSON keeps it through every export and re-read)."""
    return orjson.dumps({k: entry[k] for k in FIELDS})


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return chain_hash(prev_hash, canonical(entry))


def chain_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def make_entry(seq: int, position: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The entry of an event, its keys exactly FIELDS in order (so orjson.dumps of it is
    already its canonical form)."""
    actor = data.get("actor") or {}
    return {
        "seq": seq,
        "position": position,
        "event_id": f"{data['originator_id']}/{data['originator_version']}",
        "case_id": str(data["originator_id"]),
        "event_type": event_type,
        "action": data.get("action"),
        "unit": actor.get("unit", ""),
        "person": actor.get("person"),
        "at": utc_text(data["timestamp"]),
        "legal_basis": data.get("legal_basis", ""),
        "document_number": data.get("document_number", ""),
        "evidence": [e["sha256"] for e in data.get("evidence", ())],
        "note": data.get("note", ""),
        "payload": data,
    }


# An event's entry without its place in the chain: the row's columns from `position` to
# `payload`, and its canonical bytes after the seq field.
EntryParts = tuple[tuple[Any, ...], bytes]
assert FIELDS[0] == "seq"


def entry_parts(event_type: str, position: int, data: dict[str, Any], raw: bytes) -> EntryParts:
    entry = make_entry(0, position, event_type, data)
    del entry["seq"]
    columns = (
        position,
        entry["event_id"],
        entry["case_id"],
        event_type,
        entry["action"],
        entry["unit"],
        entry["person"],
        entry["at"],
        entry["legal_basis"],
        entry["document_number"],
        orjson.dumps(entry["evidence"]).decode(),
        entry["note"],
        (raw or orjson.dumps(data)).decode(),
    )
    return columns, orjson.dumps(entry)[1:]  # without the opening brace


def prepare(event_type: str, position: int, value: bytes) -> EntryParts:
    """Runs in a feed process (Projection.prepare): everything about an entry that does
    not depend on the chain, so the runner only numbers, hashes and writes."""
    return entry_parts(event_type, position, orjson.loads(value), value)


def chained(seq: int, prev_hash: str, parts: EntryParts) -> tuple[tuple[Any, ...], str]:
    """The entry's row and hash at `seq` after `prev_hash`. Its canonical bytes are
    spliced: orjson writes {"seq":N, then the other fields exactly as entry_parts did, so
    this equals canonical(make_entry(seq, ...)) without serializing the entry again."""
    columns, rest = parts
    digest = chain_hash(prev_hash, b'{"seq":%d,' % seq + rest)
    return (seq, *columns, prev_hash, digest), digest


@dataclass(frozen=True)
class Head:
    seq: int
    position: int
    entry_hash: str


class AuditProjection:
    prepare: str | None = "projections.audit:prepare"
    splittable = False  # each entry chains to the one before, in log order

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.name = f"audit{suffix}"
        # Events waiting for their predecessor, by the position they follow; and per
        # partition the offsets of its events held, in order.
        self._waiting: dict[int, EventRecord] = {}
        self._held: dict[int, deque[int]] = {}

    def t(self, table: str) -> str:
        return f"audit_{table}{self.suffix}"

    def shadow(self) -> Projection:
        return AuditProjection(self.suffix + "__rebuild")

    def create(self, tx: Tx) -> None:
        for table, columns in SCHEMA.items():
            # On SQLite an INTEGER PRIMARY KEY is the rowid itself (64-bit there): one
            # b-tree fewer to write per entry than a BIGINT key.
            key = "INTEGER" if tx.dialect == "sqlite" else "BIGINT"
            tx.execute(f"CREATE TABLE IF NOT EXISTS {self.t(table)} {columns.format(key=key)}")

    def index_definitions(self) -> list[Index]:
        entries = self.t("entries")
        return [Index(f"ix_{entries}_{i}", entries, f"({cols})") for i, cols in enumerate(INDEXES)]

    def drop(self, tx: Tx) -> None:
        for table in TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {self.t(table)}")

    def rename_from(self, tx: Tx, shadow: Projection) -> None:
        assert isinstance(shadow, AuditProjection)
        for table in TABLES:
            tx.execute(f"ALTER TABLE {shadow.t(table)} RENAME TO {self.t(table)}")
        for built, index in zip(shadow.index_definitions(), self.index_definitions(), strict=True):
            rename_index(tx, built, index)

    def head(self, tx: Tx) -> Head:
        row = tx.execute(
            f"SELECT seq, position, entry_hash FROM {self.t('head')} WHERE id = 1"
        ).fetchone()
        return Head(0, 0, GENESIS) if row is None else Head(int(row[0]), int(row[1]), row[2])

    def digest(self, db: Database) -> str:
        with db.transaction() as tx:
            return self.head(tx).entry_hash

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        """Chains every event whose predecessor is chained, in the event store's order.

        An event whose predecessor has not arrived yet (it comes from another partition)
        is held in memory, and its partition's stored offset stays at the first event
        held: after a crash the runner reads the held events again, so nothing is lost
        and nothing waits in the database."""
        head = self.head(tx)
        for event in events:
            if event.position > head.position:
                self._waiting[event.previous] = event
                self._held.setdefault(event.partition, deque()).append(event.offset)
        rows: list[tuple[Any, ...]] = []
        consumed: dict[int, int] = {e.partition: e.offset + 1 for e in events}
        while head.position in self._waiting:
            event = self._waiting.pop(head.position)
            parts = event.prepared or entry_parts(event.type, event.position, event.data, event.raw)
            row, digest = chained(head.seq + 1, head.entry_hash, parts)
            rows.append(row)
            # Within a partition positions ascend, so the event chained is its first held.
            self._held[event.partition].popleft()
            head = Head(head.seq + 1, event.position, digest)
        for partition, offsets in self._held.items():
            if offsets:
                consumed[partition] = offsets[0]
        if rows:
            tx.insert_rows(self.t("entries"), ENTRY_COLUMN_NAMES, rows)
            tx.execute(
                f"INSERT INTO {self.t('head')} VALUES (1, ?, ?, ?) ON CONFLICT (id) "
                "DO UPDATE SET seq = excluded.seq, position = excluded.position, "
                "entry_hash = excluded.entry_hash",
                (head.seq, head.position, head.entry_hash),
            )
        return consumed

    def forget(self) -> None:
        self._waiting.clear()
        self._held.clear()


ENTRY_COLUMNS = (
    "seq, position, event_id, case_id, event_type, action, unit, person, at, "
    "legal_basis, document_number, evidence, note, payload, prev_hash, entry_hash"
)


ENTRY_COLUMN_NAMES = tuple(name.strip() for name in ENTRY_COLUMNS.split(","))


def row_to_entry(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = [k.strip() for k in ENTRY_COLUMNS.split(",")]
    entry = dict(zip(keys, row, strict=True))
    entry["seq"], entry["position"] = int(entry["seq"]), int(entry["position"])
    entry["evidence"] = orjson.loads(entry["evidence"])
    entry["payload"] = orjson.loads(entry["payload"])
    return entry


def iter_entries(
    db: Database,
    projection: AuditProjection,
    where: str = "",
    params: tuple[Any, ...] = (),
    page: int = 5000,
) -> Iterator[dict[str, Any]]:
    """Every matching entry in chain order, read a page at a time (for streaming exports)."""
    after = 0
    while True:
        rows = db.query(
            f"SELECT {ENTRY_COLUMNS} FROM {projection.t('entries')} WHERE seq > ? "
            f"{'AND ' + where if where else ''} ORDER BY seq LIMIT {page}",
            (after, *params),
        )
        for row in rows:
            yield row_to_entry(row)
        if len(rows) < page:
            return
        after = int(rows[-1][0])


def cases_citing(db: Database, sha256: str, projection: AuditProjection | None = None) -> list[str]:
    """The cases whose trail cites a piece of evidence (the hash is 64 hex digits, so it
    cannot act as a LIKE wildcard). A scan of the trail: it answers one file's read."""
    p = projection or AuditProjection()
    rows = db.query(
        f"SELECT DISTINCT case_id FROM {p.t('entries')} WHERE evidence LIKE ?",
        (f'%"{sha256}"%',),
    )
    return [r[0] for r in rows]
