"""One busy store must not stall the API. Another process (a projection writing a batch,
an import) can hold the SQLite view store's write lock for seconds:

- the key lookup every request makes only reads, and a reader never waits for a writer;
- what must write there waits on a worker thread, and the event loop goes on serving
  every other request meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.bootstrap import Services, bootstrap
from domain import commands as c
from domain.values import Actor
from tests.api.conftest import memory_settings
from tests.holders import holding

RELEASE_AFTER_S = 20  # the holder lets go by itself, so a stalled loop ends the test
DENIAL = {"approval_kind": "filing", "application_ref": "1", "reason": "x"}

HOLDER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # as a projection's batch holds it while it writes
print("held", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


@dataclass
class LockedViews:
    services: Services
    key: str
    case: Any
    holder: subprocess.Popen[str]

    @property
    def still_held(self) -> bool:
        return self.holder.poll() is None

    def release(self) -> None:
        assert self.holder.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it let go by itself
            self.holder.stdin.write("go\n")
            self.holder.stdin.flush()

    async def post(self, client: httpx.AsyncClient, **headers: str) -> httpx.Response:
        return await client.post(
            f"/cases/{self.case}/deny-approval",
            json=DENIAL,
            headers={"Authorization": f"Bearer {self.key}", **headers},
        )


@pytest.fixture(params=["memory", "sqlite"])
def locked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LockedViews]:
    """An API whose view store another process holds the write lock of; its events in
    memory, or in an SQLite file (where commands have one thread of their own)."""
    events = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ev.sqlite'}"
    services = bootstrap(memory_settings(tmp_path, event_store=events))
    key = services.keys.issue("ecology", "test").key
    case = services.app.handle(
        Actor(unit="town:degan"), c.ListEnterprise(name="某厂", address="德感", town="town:degan")
    ).aggregate_id
    assert services.idempotency is not None  # its table made, as by any earlier request
    try:
        with holding(HOLDER, str(tmp_path / "views.sqlite"), str(RELEASE_AFTER_S)) as holder:
            yield LockedViews(services, key, case, holder)
    finally:
        services.close()


def client_of(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://t"
    )


def claims_observed(locked: LockedViews) -> threading.Event:
    """Set once a command begins to claim its Idempotency-Key (and so waits for the lock)."""
    claiming = threading.Event()
    claim = locked.services.idempotency.begin

    def observed_claim(*args: Any, **kwargs: Any) -> Any:
        claiming.set()
        return claim(*args, **kwargs)

    locked.services.idempotency.begin = observed_claim  # type: ignore[method-assign]
    return claiming


def test_a_key_is_looked_up_without_waiting_for_a_view_writer(locked: LockedViews) -> None:
    async def command() -> tuple[httpx.Response, bool]:
        async with client_of(locked.services) as client:
            answer = await locked.post(client)
            return answer, locked.still_held

    answer, still_held = asyncio.run(command())

    assert answer.status_code == 200, answer.text
    assert still_held, "the command was answered only once the lock was let go"


def test_a_request_waiting_for_the_locked_view_store_does_not_stall_the_others(
    locked: LockedViews,
) -> None:
    """A command with an Idempotency-Key claims it in the view store, so it waits."""
    claiming = claims_observed(locked)

    async def both() -> tuple[httpx.Response, httpx.Response, bool]:
        async with client_of(locked.services) as client:
            command = asyncio.create_task(locked.post(client, **{"Idempotency-Key": "k-1"}))
            # Once it is claiming its key (the lock waited for), a page that needs no
            # store, in the same event loop.
            while not claiming.is_set():
                await asyncio.sleep(0.01)
            other = await client.get("/openapi.json")
            answered_meanwhile = locked.still_held and not command.done()
            locked.release()
            return await command, other, answered_meanwhile

    command, other, answered_meanwhile = asyncio.run(both())

    assert other.status_code == 200
    assert answered_meanwhile, "the other request was answered only once the lock was let go"
    assert command.status_code == 200, command.text
    assert locked.holder.stdout is not None
    assert locked.holder.stdout.readline().strip() == "released"


def test_a_command_waiting_for_the_locked_view_store_does_not_hold_up_other_commands(
    locked: LockedViews,
) -> None:
    """On SQLite, commands that touch only the event store share one thread; a command
    that claims its Idempotency-Key in the locked view store must wait elsewhere."""
    claiming = claims_observed(locked)

    async def both() -> tuple[httpx.Response, httpx.Response, bool]:
        async with client_of(locked.services) as client:
            keyed = asyncio.create_task(locked.post(client, **{"Idempotency-Key": "k-2"}))
            while not claiming.is_set():
                await asyncio.sleep(0.01)
            plain = await locked.post(client)
            answered_meanwhile = locked.still_held and not keyed.done()
            locked.release()
            return await keyed, plain, answered_meanwhile

    keyed, plain, answered_meanwhile = asyncio.run(both())

    assert plain.status_code == 200, plain.text
    assert answered_meanwhile, "a plain command waited for another's view-store lock"
    assert keyed.status_code == 200, keyed.text
