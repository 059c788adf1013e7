"""A small SQL adapter for the read models: SQLite (embedded default) or PostgreSQL.

Views are plain tables; every write of a projection happens in one transaction
together with its tracking record (the offsets it consumed).
"""

from __future__ import annotations

import contextlib
import queue
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

Row = tuple[Any, ...]


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def fetchone(self) -> Row | None: ...
    def fetchall(self) -> list[Row]: ...


def utc_text(value: datetime | str | None) -> str | None:
    """One fixed timestamp format (UTC, microseconds) so text order is time order."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 27 and value[-1] == "Z" and value[19] == ".":
        return value  # already in this format (pydantic writes UTC with microseconds so)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Tx:
    """The cursor of one transaction; `?` placeholders work on both databases."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self.dialect = dialect
        self._pg = dialect == "postgres"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        self._cursor.execute(_pg(sql) if self._pg else sql, tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(_pg(sql) if self._pg else sql, [tuple(r) for r in rows])

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cursor.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


def _pg(sql: str) -> str:
    return re.sub(r"\?", "%s", sql)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self._lock = threading.RLock()
        self.dialect: Literal["sqlite", "postgres"]
        if parts.scheme == "sqlite":
            self.dialect = "sqlite"
            path = unquote(parts.path)
            if path in (":memory:", "/:memory:"):
                path = ":memory:"  # not a file named ":memory:" at the root, shared by all
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._path = path
            # Connections for `read`, each used by one thread at a time: as many as have
            # ever read at once.
            self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
            self._sqlite = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
        elif parts.scheme in ("postgresql", "postgres"):
            self.dialect = "postgres"
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            self._schema = query.pop("schema", None)
            self._dsn = parts._replace(query="").geturl()
            self._pg = self._connect_pg()
        else:
            raise ValueError(f"unsupported view store {url!r}: use sqlite:/// or postgresql://")

    def channel(self, name: str) -> tuple[str, str] | None:
        """Where to LISTEN for a NOTIFY this database's writers send as
        `pg_notify(current_schema() || '_' || name, '')`: (DSN, channel); None on SQLite."""
        if self.dialect != "postgres":
            return None
        return self._dsn, f"{self._schema or 'public'}_{name}"

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction; a failure anywhere, the COMMIT included (a full disk fails
        there), rolls it back and leaves the connection usable for the next one."""
        with self._lock:
            if self.dialect == "sqlite":
                lite = self._sqlite.cursor()
                lite.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(lite, "sqlite")
                    lite.execute("COMMIT")
                except BaseException:
                    if self._sqlite.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            lite.execute("ROLLBACK")
                    raise
            else:
                if self._pg.closed or self._pg.broken:
                    self._pg = self._connect_pg()  # the server went away and came back
                try:
                    with self._pg.cursor() as cursor:
                        yield Tx(cursor, "postgres")
                    self._pg.commit()
                except BaseException:
                    if not self._pg.closed:
                        with contextlib.suppress(Exception):
                            self._pg.rollback()
                    raise

    def _connect_pg(self) -> Any:
        import psycopg  # here: SQLite deployments (and feed processes) never load it

        conn = psycopg.connect(self._dsn, autocommit=False, connect_timeout=5)
        if self._schema:
            # Processes that start together take turns: CREATE SCHEMA IF NOT EXISTS is not
            # safe against a concurrent one.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('liandong-view-schema'))")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            conn.execute(f'SET search_path TO "{self._schema}"')
            conn.commit()
        return conn

    def lock(self, tx: Tx, *names: str) -> None:
        """Serializes the writers of each name until the transaction ends: SQLite's BEGIN
        IMMEDIATE already holds the write lock; PostgreSQL takes a transaction-scoped
        advisory lock per name (callers give them in one order: no deadlock)."""
        if self.dialect == "postgres":
            for name in names:
                tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.transaction() as tx:
            return tx.execute(sql, params).fetchall()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One read that never waits for a writer. On SQLite a `transaction` takes the
        write lock (BEGIN IMMEDIATE) and this process's lock, and so waits, up to 30 s,
        for any process writing the views; a WAL reader sees the last commit without
        either, so reads go to reader connections of their own (a pool, each used by one
        thread at a time). On PostgreSQL readers never wait for writers anyway."""
        if self.dialect != "sqlite" or self._path == ":memory:":
            return self.query(sql, params)  # an in-memory database is this connection's
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            reader = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=30
            )
            reader.execute("PRAGMA query_only = ON")
        try:
            return [tuple(row) for row in reader.execute(sql, tuple(params)).fetchall()]
        finally:
            self._readers.put(reader)

    def close(self) -> None:
        if self.dialect == "sqlite":
            while not self._readers.empty():
                self._readers.get_nowait().close()
            self._sqlite.close()
        else:
            self._pg.close()
