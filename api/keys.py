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

from projections.db import Database, utc_text

SCHEMA = """CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, unit TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"""


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    unit: str
    key: str  # shown once


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    unit: str
    label: str
    created_at: str
    revoked_at: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            tx.execute(SCHEMA)

    def issue(self, unit: str, label: str = "") -> IssuedKey:
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                (key_id, unit, _hash(secret), label, utc_text(datetime.now(tz=UTC))),
            )
        return IssuedKey(key_id, unit, f"ld_{key_id}_{secret}")

    def revoke(self, key_id: str) -> bool:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (utc_text(datetime.now(tz=UTC)), key_id),
            )
            return tx.rowcount > 0

    def rotate(self, unit: str, label: str = "") -> tuple[IssuedKey, list[str]]:
        """Issues a new key and revokes the unit's others; returns the new key and the
        revoked ids."""
        old = [k.key_id for k in self.list(unit) if k.revoked_at is None]
        new = self.issue(unit, label or "rotated")
        for key_id in old:
            self.revoke(key_id)
        return new, old

    def list(self, unit: str | None = None) -> list[KeyInfo]:
        rows = self.db.query(
            "SELECT key_id, unit, label, created_at, revoked_at FROM api_keys "
            + ("WHERE unit = ? " if unit else "")
            + "ORDER BY created_at",
            (unit,) if unit else (),
        )
        return [KeyInfo(*r) for r in rows]

    def unit_of(self, presented: str) -> str | None:
        """The unit a presented key belongs to, or None (unknown, malformed or revoked)."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "ld":
            return None
        rows = self.db.query(
            "SELECT unit, secret_sha256, revoked_at FROM api_keys WHERE key_id = ?", (parts[1],)
        )
        if not rows:
            return None
        unit, stored, revoked = rows[0]
        if revoked is not None or not hmac.compare_digest(stored, _hash(parts[2])):
            return None
        return str(unit)
