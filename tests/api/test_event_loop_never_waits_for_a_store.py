"""One slow store must not stall a whole API process. Another process (a projection
writing a batch, an import) can hold the SQLite view store's write lock for seconds, and
a transaction there waits for it. Whatever waits so runs on a worker thread; the event
loop goes on serving every other request meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from api.app import create_app
from api.bootstrap import bootstrap
from api.keys import Holder
from domain import commands as c
from domain.values import Actor
from tests.api.conftest import memory_settings

RELEASE_AFTER_S = 20  # the holder lets go by itself, so a stalled loop ends the test

HOLDER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # as a projection's batch holds it while it writes
print("held", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


def test_a_request_waiting_for_the_locked_view_store_does_not_stall_the_others(
    tmp_path: Path,
) -> None:
    services = bootstrap(memory_settings(tmp_path))
    key = services.keys.issue("ecology", "test").key
    case = services.app.handle(
        Actor(unit="town:degan"), c.ListEnterprise(name="某厂", address="德感", town="town:degan")
    ).aggregate_id
    looking_up = threading.Event()
    lookup = services.keys.holder_of

    def observed_lookup(presented: str) -> Holder | None:
        looking_up.set()
        return lookup(presented)

    services.keys.holder_of = observed_lookup  # type: ignore[method-assign]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "views.sqlite"), str(RELEASE_AFTER_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"

        async def both() -> tuple[httpx.Response, httpx.Response, bool]:
            transport = httpx.ASGITransport(app=create_app(services))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                # First: a command, whose key is looked up in the locked view store.
                command = asyncio.create_task(
                    client.post(
                        f"/cases/{case}/deny-approval",
                        json={"approval_kind": "filing", "application_ref": "1", "reason": "x"},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                )
                # Once its key is being looked up (the lock waited for), one that needs
                # no store, in the same event loop.
                while not looking_up.is_set():
                    await asyncio.sleep(0.01)
                other = await client.get("/openapi.json")
                still_held = holder.poll() is None and not command.done()
                with contextlib.suppress(BrokenPipeError):  # it let go by itself
                    holder.stdin.write("go\n")  # type: ignore[union-attr]
                    holder.stdin.flush()  # type: ignore[union-attr]
                return await command, other, still_held

        command, other, still_held = asyncio.run(both())

        assert other.status_code == 200
        assert still_held, "the other request was answered only once the lock was let go"
        assert command.status_code == 200, command.text
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()
        services.close()
