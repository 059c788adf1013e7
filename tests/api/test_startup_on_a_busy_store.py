"""A process that starts while another holds the SQLite event store's lock waits for it,
instead of dying with "database is locked" (seen when projection processes started
together). An operation waits 5 s for the lock; a process starting waits up to a minute."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.bootstrap import bootstrap
from api.settings import Settings

HOLD_SECONDS = 7  # longer than the 5 s any one SQLite operation waits for the lock

HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS imported (row INTEGER)")
db.execute("BEGIN EXCLUSIVE")  # as a long import holds it
print("held", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_a_process_starting_while_another_holds_the_event_store_waits_for_it(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(events), str(HOLD_SECONDS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        services = bootstrap(
            Settings(
                event_store=f"sqlite:///{events}",
                view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
                kafka_bootstrap="127.0.0.1:1",
                data_dir=tmp_path,
            )
        )
        try:
            assert services.app.event_count() >= 1, "the registry was recorded once it could be"
        finally:
            services.close()
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
        holder.wait()
