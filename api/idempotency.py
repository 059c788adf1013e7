"""`Idempotency-Key` on every POST: a retried request returns the original result and
records nothing new; the same key with a different request is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from api.errors import ApiError
from projections.db import Database, parse_utc, utc_text

SCHEMA = """CREATE TABLE IF NOT EXISTS idempotency_keys (
    unit TEXT NOT NULL, idem_key TEXT NOT NULL, request_sha256 TEXT NOT NULL,
    status INTEGER, body TEXT, created_at TEXT NOT NULL, PRIMARY KEY (unit, idem_key))"""


STALE_CLAIM_SECONDS = 30.0  # no command takes this long: a claim this old outlived its process


@dataclass(frozen=True)
class Stored:
    status: int
    body: object
    fingerprint: str = ""


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as tx:
            tx.execute(SCHEMA)

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()

    def begin(
        self,
        unit: str,
        key: str,
        fingerprint: str,
        recover: Callable[[], Stored | None] = lambda: None,
    ) -> Stored | None:
        """Claims the key for this request; returns the stored result of an earlier one.

        A claim without a result belongs to a request still running, or to one whose
        process died: `recover` asks the event store whether that request was carried out
        (its record is saved with its events). If it was, its result is the answer; if
        not and the claim is stale, this request takes the claim over (should the old one
        still record, the event store refuses the second record and this one replays it)."""
        now = datetime.now(tz=UTC)
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT request_sha256, status, body, created_at FROM idempotency_keys "
                "WHERE unit = ? AND idem_key = ?",
                (unit, key),
            ).fetchone()
            if row is None:
                tx.execute(
                    "INSERT INTO idempotency_keys VALUES (?, ?, ?, NULL, NULL, ?)",
                    (unit, key, fingerprint, utc_text(now)),
                )
                return None
        if row[0] != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
                "该 Idempotency-Key 已用于另一个请求",
                field="Idempotency-Key",
                rule="one key, one request",
            )
        if row[1] is None:
            found = recover()
            if found is not None:
                self.finish(unit, key, found.status, found.body)
                return found
            if (now - parse_utc(row[3])).total_seconds() > STALE_CLAIM_SECONDS:
                with self.db.transaction() as tx:
                    tx.execute(
                        "UPDATE idempotency_keys SET created_at = ? "
                        "WHERE unit = ? AND idem_key = ? AND status IS NULL",
                        (utc_text(now), unit, key),
                    )
                return None
            raise ApiError(
                409,
                "request_in_progress",
                "a request with this Idempotency-Key is still being processed",
                "相同 Idempotency-Key 的请求正在处理中",
                field="Idempotency-Key",
                rule="one key, one request",
                headers={"Retry-After": "1"},
            )
        return Stored(int(row[1]), orjson.loads(row[2]))

    def finish(self, unit: str, key: str, status: int, body: object) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE idempotency_keys SET status = ?, body = ? WHERE unit = ? AND idem_key = ?",
                (status, orjson.dumps(body).decode(), unit, key),
            )

    def forget(self, unit: str, key: str) -> None:
        """A request that failed before recording anything frees its key for a retry."""
        with self.db.transaction() as tx:
            tx.execute(
                "DELETE FROM idempotency_keys WHERE unit = ? AND idem_key = ? AND status IS NULL",
                (unit, key),
            )
