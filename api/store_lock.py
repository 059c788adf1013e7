"""One holder at a time for a job on an event store, across processes and, on
PostgreSQL, across machines: `liandong campaign` takes it, so two started together do
not both find the store empty and interleave two campaigns in it.

The lock lives with the store it guards (an advisory lock of the PostgreSQL database
and schema; a `flock` on a file beside the SQLite file) and dies with its holder, so a
killed holder never leaves it taken."""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from projections.db import pg_dsn_and_schema


class Held(RuntimeError):
    """Another process holds the lock."""


@contextmanager
def exclusive(store_url: str, job: str, *, wait: bool = False) -> Iterator[None]:
    """Holds `job`'s lock on the store at `store_url` until the block ends. If another
    process holds it: raises Held at once, or with `wait` waits for it to let go."""
    parts = urlsplit(store_url)
    if parts.scheme == "memory" or unquote(parts.path) in (":memory:", "/:memory:"):
        yield  # a store in this process's memory is this process's alone
    elif parts.scheme == "sqlite":
        with _file_lock(Path(f"{unquote(parts.path)}.{job}.lock"), wait):
            yield
    elif parts.scheme in ("postgresql", "postgres"):
        with _advisory_lock(store_url, job, wait):
            yield
    else:
        raise ValueError(f"unsupported store URL {store_url!r}")


@contextmanager
def _file_lock(path: Path, wait: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Held(f"another process holds {path}") from None
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race)


@contextmanager
def _advisory_lock(store_url: str, job: str, wait: bool) -> Iterator[None]:
    import psycopg

    dsn, schema = pg_dsn_and_schema(store_url)
    # One lock per database and schema: deployments in other schemas are not held up.
    key = zlib.crc32(f"liandong:{job}:{schema or 'public'}".encode()) - 2**31
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row or not row[0]:
                raise Held(f"another process holds the {job} lock of this PostgreSQL store")
        yield  # the session's end releases it, whatever ends the session
