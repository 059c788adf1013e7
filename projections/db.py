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
from typing import Any, Literal, NamedTuple, Protocol
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


class Index(NamedTuple):
    """A secondary index of a view: its name, its table and what it covers (SQL)."""

    name: str
    table: str
    covers: str  # "(columns)", or "(columns) WHERE ..." for a partial index

    @property
    def sql(self) -> str:
        return f"{self.name} ON {self.table} {self.covers}"


def create_indexes(tx: Tx, indexes: Sequence[Index]) -> None:
    """Makes each index that is missing (an index that exists is left as it is)."""
    if tx.dialect == "postgres":
        # Sorting a large table's keys in memory rather than in temporary files.
        tx.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for index in indexes:
        tx.execute(f"CREATE INDEX IF NOT EXISTS {index.sql}")


def index_names(db: Database) -> set[str]:
    """The names of the indexes in the view store (its schema, on PostgreSQL)."""
    if db.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = db.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return {str(name) for (name,) in rows}


def rename_index(tx: Tx, built: Index, index: Index) -> None:
    """Gives an index built on a rebuild's shadow table the name of the view's own, once
    the table has taken the view's name. (Left under the shadow's name, the next start
    made the view's indexes a second time: every write then kept both.) SQLite cannot
    rename an index: it is made again."""
    if tx.dialect == "postgres":
        tx.execute(f"ALTER INDEX IF EXISTS {built.name} RENAME TO {index.name}")
    else:
        tx.execute(f"DROP INDEX IF EXISTS {built.name}")
    tx.execute(f"CREATE INDEX IF NOT EXISTS {index.sql}")


# From this many rows a write goes by COPY on PostgreSQL: below, the statements COPY
# needs around it (a temporary table for an upsert) cost more than they save.
COPY_FROM_ROWS = 100


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

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Appends rows to `table`. PostgreSQL takes a batch of them by COPY: measured
        here against an INSERT a row, 1.4 instead of 7.7 µs a row in this process and
        3.7 instead of 8.4 µs in the server (docs/benchmarks.md, "COPY")."""
        names = ", ".join(columns)
        if self._pg and len(rows) >= COPY_FROM_ROWS:
            with self._cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif rows:
            marks = ", ".join("?" for _ in columns)
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def upsert_rows(
        self,
        table: str,
        columns: Sequence[str],
        keys: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Inserts rows, each replacing the row of `table` with its key (a key at most
        once in `rows`). PostgreSQL takes a batch by COPY into a temporary table, then
        one INSERT ... SELECT; a few rows (a live batch) go as they always did."""
        names = ", ".join(columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        on_conflict = f"ON CONFLICT ({', '.join(keys)}) DO " + (
            f"UPDATE SET {updates}" if updates else "NOTHING"
        )
        if self._pg and len(rows) >= COPY_FROM_ROWS:
            staged = f"staged_{table}"
            self.execute(
                f"CREATE TEMPORARY TABLE {staged} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            self.insert_rows(staged, columns, rows)
            self.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged} {on_conflict}"
            )
            self.execute(f"DROP TABLE {staged}")  # a second batch in this transaction
        elif rows:
            marks = ", ".join("?" for _ in columns)
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", rows)

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cursor.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


def pg_dsn_and_schema(url: str) -> tuple[str, str | None]:
    """A PostgreSQL store URL (`postgresql://...?schema=name`) as the DSN to connect to
    and the schema it names, if any."""
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return parts._replace(query="").geturl(), query.get("schema")


def _pg(sql: str) -> str:
    return re.sub(r"\?", "%s", sql)


# A read on SQLite waits for a writer only in rare moments (recovering the WAL after a
# crash, a connection holding the file in exclusive mode); a short wait bounds how long
# that can hold the caller, which may be the API's event loop: past it the read fails as
# the store unavailable (503, Retry-After) rather than stalling every request.
READER_BUSY_SECONDS = 1.0
# PostgreSQL reader connections per process: each costs a server process; the event
# store's own pool and the writers take theirs from the same max_connections.
PG_READERS = 4
READER_NAME = "liandong-view-reader"  # how an operator tells them in pg_stat_activity


class StoreClosed(RuntimeError):
    """A read after `Database.close`: a bug in the caller's order of shutdown."""


class Database:
    def __init__(self, url: str, *, pg_readers: int = PG_READERS) -> None:
        self.url = url
        parts = urlsplit(url)
        self._lock = threading.RLock()
        # Connections for `query`, each used by one thread at a time.
        self._readers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._readers_lock = threading.Lock()  # giving one back vs. `close`
        self._closed = False
        self.dialect: Literal["sqlite", "postgres"]
        if parts.scheme == "sqlite":
            self.dialect = "sqlite"
            path = unquote(parts.path)
            if path in (":memory:", "/:memory:"):
                path = ":memory:"  # not a file named ":memory:" at the root, shared by all
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._path = path
            # As many SQLite readers as threads have ever read at once: a reader may run
            # on the event loop, so it must never wait for one to come free.
            self._free_readers: threading.BoundedSemaphore | None = None
            self._sqlite = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA synchronous=NORMAL")
        elif parts.scheme in ("postgresql", "postgres"):
            self.dialect = "postgres"
            self._dsn, self._schema = pg_dsn_and_schema(url)
            self._free_readers = threading.BoundedSemaphore(max(1, pg_readers))
            self._pg = self._connect_pg()
        else:
            raise ValueError(f"unsupported view store {url!r}: use sqlite:/// or postgresql://")

    @property
    def reads_never_wait(self) -> bool:
        """True when `query` is a local read that waits for no writer and no round trip
        (an SQLite file): cheap enough to run on an event loop."""
        return self.dialect == "sqlite" and self._path != ":memory:"

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
        """One read statement that never waits for a writer. A `transaction` on SQLite
        takes the write lock (BEGIN IMMEDIATE) and this process's lock, so it waits, up to
        30 s, for any process writing the views; on PostgreSQL it shares this process's
        one writing connection. Reads go instead to reader connections of their own (a
        pool, each used by one thread at a time): a WAL reader, like any PostgreSQL
        reader, sees the last commit and waits for no writer. Readers are read-only, so a
        statement that writes fails here instead of slipping past the write lock."""
        if self._closed:
            raise StoreClosed(f"the view store {self.dialect} was closed")
        if self.dialect == "sqlite" and self._path == ":memory:":
            # an in-memory database is this one connection's
            with self.transaction() as tx:
                return tx.execute(sql, params).fetchall()
        if self._free_readers is None:
            return self._read_sqlite(sql, params)
        with self._free_readers:
            return self._read_pg(sql, params)

    def _read_sqlite(self, sql: str, params: Sequence[Any]) -> list[Row]:
        reader = self._take_reader()
        if reader is None:
            reader = sqlite3.connect(
                self._path,
                check_same_thread=False,
                isolation_level=None,
                timeout=READER_BUSY_SECONDS,
            )
            reader.execute("PRAGMA query_only = ON")
        try:
            return [tuple(row) for row in reader.execute(sql, tuple(params)).fetchall()]
        finally:
            self._give_back(reader)

    def _read_pg(self, sql: str, params: Sequence[Any]) -> list[Row]:
        import psycopg

        pooled = self._take_reader()
        reader = pooled or self._connect_pg_reader()
        try:
            rows = reader.execute(_pg(sql), tuple(params)).fetchall()
        except psycopg.OperationalError:
            reader.close()
            if pooled is None:
                raise
            # A pooled reader learns only on its next use that the server restarted or
            # dropped it; a read is safe to repeat, once, on a new connection.
            reader = self._connect_pg_reader()
            try:
                rows = reader.execute(_pg(sql), tuple(params)).fetchall()
            except BaseException:
                reader.close()
                raise
        except BaseException:
            self._give_back(reader)
            raise
        self._give_back(reader)
        return [tuple(row) for row in rows]

    def _connect_pg_reader(self) -> Any:
        import psycopg

        reader = psycopg.connect(
            self._dsn, autocommit=True, connect_timeout=5, application_name=READER_NAME
        )
        reader.execute("SET default_transaction_read_only = on")
        if self._schema:
            reader.execute(f'SET search_path TO "{self._schema}"')
        return reader

    def _take_reader(self) -> Any | None:
        try:
            return self._readers.get_nowait()
        except queue.Empty:
            return None

    def _give_back(self, reader: Any) -> None:
        with self._readers_lock:
            if not self._closed and not getattr(reader, "closed", False):
                self._readers.put(reader)
                return
        reader.close()  # the store closed while it read: nobody would close it later

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
        while (reader := self._take_reader()) is not None:
            reader.close()
        if self.dialect == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()
