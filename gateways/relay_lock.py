"""One active relay per event store, whatever the settings say.

Kafka's transactional id fences a relay restarted with the *same* id; nothing in Kafka
stops a second relay started with another id from publishing the same events again, and
two relays with the same id fence each other back and forth. So the relay takes a lock
that lives in the event store itself and dies with its holder:

- SQLite: an exclusive `flock` on `<database>.relay-lock`, released by the kernel when
  the process dies, however it dies.
- PostgreSQL: a session advisory lock on a connection of its own, released by the
  server when that connection ends (a killed process, a network partition).
- In memory: a lock in the process, which is the store's whole lifetime.

A relay that cannot take the lock stands by and takes over when the holder is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

_MEMORY_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_MEMORY_GUARD = threading.Lock()


class RelayLock(Protocol):
    description: str

    def try_acquire(self) -> bool:
        """Takes the lock if it is free; never waits."""
        ...

    def still_held(self) -> bool:
        """False when the lock was lost (the database connection that held it died)."""
        ...

    def release(self) -> None: ...


class FileLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"flock on {path}"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLock:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.key = f"liandong-relay/{env.get('POSTGRES_DBNAME')}/{env.get('POSTGRES_SCHEMA', '')}"
        self.description = f"PostgreSQL advisory lock {self.key!r}"
        self._conn: Any = None

    def try_acquire(self) -> bool:
        if self.still_held():
            return True
        self.release()
        import psycopg

        conn = psycopg.connect(
            dbname=self.env["POSTGRES_DBNAME"],
            host=self.env.get("POSTGRES_HOST", "127.0.0.1"),
            port=self.env.get("POSTGRES_PORT", "5432"),
            user=self.env.get("POSTGRES_USER", ""),
            password=self.env.get("POSTGRES_PASSWORD", ""),
            connect_timeout=5,
            autocommit=True,
        )
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.key,)).fetchone()
        if row is not None and row[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except Exception:  # the connection, and with it the lock, is gone
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()  # ends the session: the server releases its locks


class ProcessLock:
    def __init__(self, store: Any) -> None:
        with _MEMORY_GUARD:
            self._lock = _MEMORY_LOCKS.setdefault(store, threading.Lock())
        self.description = "in-process lock of the in-memory store"
        self._held = False

    def try_acquire(self) -> bool:
        if not self._held:
            self._held = self._lock.acquire(blocking=False)
        return self._held

    def still_held(self) -> bool:
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


def relay_lock(env: Mapping[str, str], recorder: Any) -> RelayLock:
    """The lock for the event store the environment names (eventsourcing's env keys)."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module.endswith("sqlite"):
        name = env.get("SQLITE_DBNAME", "")
        if name and ":memory:" not in name and "mode=memory" not in name:
            return FileLock(f"{name}.relay-lock")
    if module.endswith("postgres"):
        return AdvisoryLock(env)
    return ProcessLock(recorder)
