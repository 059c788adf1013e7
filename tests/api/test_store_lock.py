"""One campaign at a time per event store: two `liandong campaign` started together
would both find the store empty and interleave their cases. The lock lives with the
store and dies with its holder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from api.store_lock import Held, exclusive
from tests.holders import holding

CLI = str(Path(sys.executable).with_name("liandong"))
HOLDER = """
import sys
from api.store_lock import exclusive
with exclusive(sys.argv[1], "campaign"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_store_url"))
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


def held(store: str) -> AbstractContextManager[subprocess.Popen[str]]:
    """Another process holding the store's campaign lock."""
    return holding(HOLDER, store)


@pytest.fixture
def holder(store: str) -> Iterator[subprocess.Popen[str]]:
    with held(store) as process:
        yield process


def test_a_second_holder_is_refused_at_once(store: str, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(Held), exclusive(store, "campaign"):
        pass
    with exclusive(store, "another job"):
        pass  # other jobs are not held up


def test_a_killed_holder_leaves_the_lock_free(store: str, holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait()
    with exclusive(store, "campaign"):
        pass


def test_a_waiting_holder_enters_once_the_first_lets_go(
    store: str, holder: subprocess.Popen[str]
) -> None:
    order: list[str] = []
    entered = threading.Event()

    def second() -> None:
        with exclusive(store, "campaign", wait=True):
            order.append("second entered")
            entered.set()

    waiting = threading.Thread(target=second)
    waiting.start()
    order.append("first lets go")
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait()
    assert entered.wait(60)
    waiting.join()
    assert order == ["first lets go", "second entered"]


def test_a_campaign_started_while_another_runs_says_so_and_records_nothing(
    tmp_path: Path,
) -> None:
    settings = Settings(
        event_store=f"sqlite:///{tmp_path / 'events.sqlite'}",
        view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
        kafka_bootstrap="127.0.0.1:1",
        data_dir=tmp_path / "data",
    )
    with held(settings.event_store):
        done = subprocess.run(
            [CLI, "campaign", "--enterprises", "3"],
            env={
                **os.environ,
                "LIANDONG_EVENT_STORE": settings.event_store,
                "LIANDONG_VIEW_STORE": settings.view_store,
                "LIANDONG_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                "LIANDONG_DATA_DIR": str(settings.data_dir),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "another campaign is being generated" in done.stderr
    services = bootstrap(settings)
    assert not services.app.has_cases()
    services.close()
