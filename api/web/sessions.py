"""Workbench sessions: a unit's (or person's) API key, typed once into the sign-in form,
is exchanged for a session. The browser then holds only a random session token in an
HttpOnly, SameSite=Strict cookie (Secure over TLS); the key never travels again, never
appears in a URL, and is never stored by the page.

The view store keeps the token's SHA-256, the key it came from, and a CSRF token that
every form must send back. A session dies at sign-out, after SESSION_HOURS, or as soon
as its key is revoked (checked at every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.keys import Holder
from projections.db import Database, parse_utc, utc_text

SESSION_HOURS = 10  # a working day; then sign in again
SCHEMA = """CREATE TABLE IF NOT EXISTS web_sessions (
    token_sha256 TEXT PRIMARY KEY, key_id TEXT NOT NULL, unit TEXT NOT NULL, person TEXT,
    csrf TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL)"""


@dataclass(frozen=True)
class Session:
    key_id: str
    unit: str
    person: str | None
    csrf: str

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf, presented)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            tx.execute(SCHEMA)

    def open(self, holder: Holder, now: datetime | None = None) -> tuple[str, Session]:
        """A new session for the holder of a key just presented; returns its token."""
        now = now or datetime.now(tz=UTC)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM web_sessions WHERE expires_at < ?", (utc_text(now),))
            tx.execute(
                "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _digest(token),
                    holder.key_id,
                    holder.unit,
                    holder.person,
                    csrf,
                    utc_text(now),
                    utc_text(now + timedelta(hours=SESSION_HOURS)),
                ),
            )
        return token, Session(holder.key_id, holder.unit, holder.person, csrf)

    def find(self, token: str | None, now: datetime | None = None) -> Session | None:
        """The live session of a token: unexpired, and its key not revoked."""
        if not token or len(token) > 100:
            return None
        rows = self.db.query(
            "SELECT s.key_id, s.unit, s.person, s.csrf, s.expires_at, k.revoked_at "
            "FROM web_sessions s JOIN api_keys k ON k.key_id = s.key_id "
            "WHERE s.token_sha256 = ?",
            (_digest(token),),
        )
        if not rows:
            return None
        key_id, unit, person, csrf, expires_at, revoked_at = rows[0]
        if revoked_at is not None or parse_utc(expires_at) < (now or datetime.now(tz=UTC)):
            return None
        return Session(str(key_id), str(unit), person, str(csrf))

    def close(self, token: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM web_sessions WHERE token_sha256 = ?", (_digest(token),))
