"""The view store's SQL adapter."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import chdir
from pathlib import Path
from typing import Any

import pytest

from projections.db import Database, StoreClosed
from tests.holders import holding


def test_each_in_memory_view_store_is_its_own_and_leaves_no_file(tmp_path: Path) -> None:
    with chdir(tmp_path):
        first, second = Database("sqlite:///:memory:"), Database("sqlite:///:memory:")
        with first.transaction() as tx:
            tx.execute("CREATE TABLE t (x INTEGER)")
        assert second.query("SELECT name FROM sqlite_master WHERE name = 't'") == []
    assert not any(":memory:" in name for name in os.listdir(tmp_path))
    assert not Path("/:memory:").exists()


HOLDER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # as another process's projection batch holds it
db.execute("UPDATE t SET x = 2")  # written, not yet committed
print("held", flush=True)
select.select([sys.stdin], [], [], 60)
"""


@pytest.fixture
def sqlite_views(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/views.sqlite")
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (x INTEGER)")
        tx.execute("INSERT INTO t VALUES (1)")
    yield db
    db.close()


def test_a_read_sees_the_last_commit_while_another_process_writes(
    sqlite_views: Database, tmp_path: Path
) -> None:
    with holding(HOLDER, str(tmp_path / "views.sqlite")) as holder:
        assert sqlite_views.query("SELECT x FROM t") == [(1,)]
        assert holder.poll() is None, "the read was answered only once the writer let go"


def test_a_read_waits_for_a_locked_file_at_most_a_moment(sqlite_views: Database) -> None:
    """What can still hold a WAL reader (recovery after a crash, a connection in
    exclusive mode) must not hold it, perhaps on the API's event loop, for the writers'
    30 s: past a moment the read fails as the store unavailable."""
    (waits_ms,) = sqlite_views.query("PRAGMA busy_timeout")[0]
    assert 0 < waits_ms <= 1000


@pytest.mark.parametrize(
    "statement",
    ["INSERT INTO t VALUES (9)", "UPDATE t SET x = 9", "DELETE FROM t", "DROP TABLE t"],
)
def test_a_statement_that_writes_is_refused_by_query(
    sqlite_views: Database, statement: str
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        sqlite_views.query(statement)
    assert sqlite_views.query("SELECT x FROM t") == [(1,)]


def test_readers_are_closed_with_the_store(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/views.sqlite")
    reading = threading.Barrier(3)
    answers: list[Any] = []

    def read() -> None:
        reading.wait()
        answers.append(db.query("SELECT 1"))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    reading.wait()
    for thread in threads:
        thread.join()
    db.close()

    assert answers == [[(1,)], [(1,)]]
    assert not [
        fd
        for fd in os.listdir("/proc/self/fd")
        if _target(fd).startswith(str(tmp_path / "views.sqlite"))
    ], "a connection to the file is still open"
    with pytest.raises(StoreClosed):
        db.query("SELECT 1")


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""  # closed meanwhile


@pytest.fixture
def pg_views(postgres_store_url: str) -> Iterator[Database]:
    db = Database(postgres_store_url)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (x INTEGER)")
        tx.execute("INSERT INTO t VALUES (1)")
    yield db
    db.close()


@pytest.mark.postgres
def test_a_postgres_read_reads_the_stores_own_schema_and_writes_nothing(
    pg_views: Database,
) -> None:
    import psycopg

    assert pg_views.query("SELECT x FROM t") == [(1,)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pg_views.query("UPDATE t SET x = 9")
    assert pg_views.query("SELECT x FROM t") == [(1,)]


@pytest.mark.postgres
def test_a_postgres_read_outlives_its_pooled_connection(
    pg_views: Database, postgres_dsn: str
) -> None:
    """The server restarted, or an operator ended idle sessions: the pooled reader
    learns it on its next use, and the read is made again on a new connection."""
    import psycopg

    from projections.db import READER_NAME

    assert pg_views.query("SELECT x FROM t") == [(1,)]
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        (ended,) = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (READER_NAME,),
        ).fetchone() or (0,)
    assert ended >= 1

    with pg_views.transaction() as tx:
        tx.execute("UPDATE t SET x = 2")
    assert pg_views.query("SELECT x FROM t") == [(2,)]


def reader_pids(postgres_dsn: str) -> set[int]:
    import psycopg

    from projections.db import READER_NAME

    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (READER_NAME,)
        ).fetchall()
    return {pid for (pid,) in rows}


@pytest.mark.postgres
def test_postgres_readers_are_few_however_many_threads_read(
    postgres_store_url: str, postgres_dsn: str
) -> None:
    """Each reader is a server process: a thread pool of forty must not open forty."""
    before = reader_pids(postgres_dsn)  # other stores' readers, if any are still open
    db = Database(postgres_store_url, pg_readers=2)
    start = threading.Barrier(10)
    answers: list[list[Any]] = []

    def read() -> None:
        start.wait()
        for _ in range(20):
            answers.append(db.query("SELECT pg_sleep(0.001), 1"))

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = reader_pids(postgres_dsn) - before
    db.close()

    assert len(answers) == 200
    assert all(rows[0][1] == 1 for rows in answers)
    assert 1 <= len(opened) <= 2
