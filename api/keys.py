"""API keys per unit: issued, rotated and revoked by `liandong units ...`; stored hashed.

A key reads `ld_<key id>_<secret>`. The secret is 32 random bytes, so a plain SHA-256
of it cannot be brute-forced; only the hash is stored, and it is compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.application import Liandong
from domain.values import Actor
from projections.db import Database, utc_text

SCHEMA = """CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, unit TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, person TEXT)"""
# Stores made before keys named persons get the column (every row: a unit key).
ADD_PERSON = "ALTER TABLE api_keys ADD COLUMN person TEXT"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    unit: str
    key: str  # shown once
    person: str | None = None


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    unit: str
    label: str
    created_at: str
    revoked_at: str | None
    person: str | None = None


@dataclass(frozen=True)
class Holder:
    """Who a presented key belongs to."""

    key_id: str
    unit: str
    person: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """Keys, hashed, in the view store for lookups; their issue and revocation recorded in
    the event store (domain/credentials.py) first, so no key works that is not on the
    audit trail."""

    def __init__(self, db: Database, app: Liandong | None = None) -> None:
        self.db, self.app = db, app
        with db.transaction() as tx:
            tx.execute(SCHEMA)
        columns = {r[0] for r in db.query(_COLUMNS[db.dialect])}
        if "person" not in columns:
            try:
                with db.transaction() as tx:
                    tx.execute(ADD_PERSON)
            except Exception:  # another process added it first (a race at start)
                columns = {r[0] for r in db.query(_COLUMNS[db.dialect])}
                if "person" not in columns:
                    raise

    def issue(
        self,
        unit: str,
        label: str = "",
        *,
        person: str | None = None,
        by: Actor | None = None,
    ) -> IssuedKey:
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        if self.app is not None:
            self.app.record_key_issued(
                by or Actor(unit=unit, person="administrator"),
                key_id=key_id,
                unit=unit,
                person=person,
                label=label,
            )
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO api_keys (key_id, unit, secret_sha256, label, created_at, "
                "revoked_at, person) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (key_id, unit, _hash(secret), label, utc_text(datetime.now(tz=UTC)), person),
            )
        return IssuedKey(key_id, unit, f"ld_{key_id}_{secret}", person)

    def revoke(self, key_id: str, *, by: Actor | None = None, reason: str = "revoked") -> bool:
        rows = self.db.query(
            "SELECT unit FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (key_id,)
        )
        if not rows:
            return False
        if self.app is not None:
            self.app.record_key_revoked(
                by or Actor(unit=str(rows[0][0]), person="administrator"),
                key_id=key_id,
                reason=reason,
            )
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (utc_text(datetime.now(tz=UTC)), key_id),
            )
            return tx.rowcount > 0

    def rotate(
        self,
        unit: str,
        label: str = "",
        *,
        person: str | None = None,
        by: Actor | None = None,
    ) -> tuple[IssuedKey, list[str]]:
        """Issues a new key and revokes the others of the same holder (the person, or the
        unit's own keys); returns the new key and the revoked ids."""
        old = [k.key_id for k in self.list(unit) if k.revoked_at is None and k.person == person]
        new = self.issue(unit, label or "rotated", person=person, by=by)
        for key_id in old:
            self.revoke(key_id, by=by, reason=f"rotated: replaced by {new.key_id}")
        return new, old

    def list(self, unit: str | None = None) -> list[KeyInfo]:
        rows = self.db.query(
            "SELECT key_id, unit, label, created_at, revoked_at, person FROM api_keys "
            + ("WHERE unit = ? " if unit else "")
            + "ORDER BY created_at",
            (unit,) if unit else (),
        )
        return [KeyInfo(*r) for r in rows]

    @property
    def looks_up_without_waiting(self) -> bool:
        """Every request asks `holder_of`: true when that asks nothing remote and waits
        for no writer, so it may run on the event loop."""
        return self.db.reads_never_wait

    def holder_of(self, presented: str) -> Holder | None:
        """Who a presented key belongs to, or None (unknown, malformed or revoked)."""
        key_id = key_id_of(presented)
        if key_id is None:
            return None
        rows = self.db.query(
            "SELECT unit, secret_sha256, revoked_at, person FROM api_keys WHERE key_id = ?",
            (key_id,),
        )
        if not rows:
            return None
        unit, stored, revoked, person = rows[0]
        secret = presented.split("_", 2)[2]
        if revoked is not None or not hmac.compare_digest(stored, _hash(secret)):
            return None
        return Holder(key_id, str(unit), person)


def key_id_of(presented: str) -> str | None:
    """The key id of a well-formed key (`ld_<key id>_<secret>`), else None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "ld" or not parts[1] or len(parts[1]) > 32:
        return None
    return parts[1]


_COLUMNS = {
    "sqlite": "SELECT name FROM pragma_table_info('api_keys')",
    "postgres": "SELECT column_name FROM information_schema.columns WHERE table_name = "
    "'api_keys' AND table_schema = current_schema()",
}
