"""Two processes of one projection share the events topic's partitions through Kafka's
consumer group: each applies the partitions it is assigned; when one is killed, the
other takes its partitions over from the offsets the view holds; no record is applied
twice or skipped; and the view ends equal to the one a single process makes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from domain import commands as c
from projections.db import Database
from projections.runner import ProjectionRunner, setup, stored_offsets
from tests.domain.scenario import OTHER_TOWN, TOWN
from tests.infra_fixtures import REPO
from tests.projections.conftest import Pipeline, view_store_url
from tests.projections.group_member import TalliedStatus
from tests.projections.scenario import campaign
from tests.projections.test_rebuild_and_crashes import caught_up, last_offsets

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ASSIGNED = re.compile(r"tallied: assigned partitions \[([0-9, ]*)\]")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


class Member:
    """One runner process of the group, its output in a log file."""

    def __init__(self, name: str, args: list[str], logs: Path) -> None:
        self.log = logs / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.projections.group_member", *args],
            cwd=REPO,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def assignment(self) -> set[int] | None:
        """The partitions it was last assigned (None before its first assignment)."""
        found = ASSIGNED.findall(self.log.read_text(errors="replace"))
        if not found:
            return None
        return {int(p) for p in found[-1].split(",") if p.strip()}

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=60)


def applied_by_partition(db: Database, topic: str) -> dict[int, int]:
    with db.transaction() as tx:
        return stored_offsets(tx, "tallied", topic)


@pytest.mark.timeout(600)
def test_two_processes_split_the_partitions_and_one_takes_over_when_the_other_dies(
    pipeline: Pipeline, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    s, topic = pipeline.scenario, pipeline.topics.events.name
    url = view_store_url("postgres", request, tmp_path)
    group = f"{pipeline.topics.prefix}-tallied"
    args = [url, pipeline.bootstrap, topic, group]
    campaign(s)
    stop_writing = threading.Event()

    def commands() -> None:
        """Towns list and economy classifies all along, in both towns."""
        serial = 100
        while not stop_writing.is_set():
            serial += 1
            town = TOWN if serial % 2 else OTHER_TOWN
            case_id = s.list(serial=serial, town=town)
            s.classify(case_id, "rectify")
            s.act(
                town,
                c.OrderSuspension(case_id=case_id, document_number="停"),
            )
            time.sleep(0.01)

    writer = threading.Thread(target=commands, daemon=True)
    writer.start()
    first = Member("first", args, tmp_path)
    second = Member("second", args, tmp_path)
    members = (first, second)
    view = Database(url)
    partitions = set(range(pipeline.topics.event_partitions))
    try:

        def split() -> bool:
            mine = [m.assignment() for m in members]
            return (
                all(mine)
                and not (mine[0] or set()) & (mine[1] or set())
                and (mine[0] or set()) | (mine[1] or set()) == partitions
            )

        wait_until(split, "the two processes to split the partitions between them")
        # Both apply their own share while commands come in.
        progress = applied_by_partition(view, topic)
        wait_until(
            lambda: all(
                applied_by_partition(view, topic).get(p, 0) > progress.get(p, 0) for p in partitions
            ),
            "every partition to be applied by its process",
        )
        taken_over = first.assignment() or set()
        first.stop(signal.SIGKILL)  # mid-batch, perhaps: its transaction is all or nothing
        wait_until(
            lambda: second.assignment() == partitions,
            "the survivor to be assigned the dead process's partitions",
        )
        at_kill = applied_by_partition(view, topic)
        wait_until(
            lambda: all(
                applied_by_partition(view, topic).get(p, 0) > at_kill.get(p, 0) for p in taken_over
            ),
            "the survivor to apply what the dead process left",
        )
    finally:
        stop_writing.set()
        writer.join(timeout=60)
    pipeline.published()
    try:
        last = last_offsets(pipeline.bootstrap, topic, pipeline.app.event_count())
        caught_up(view, "tallied", last, topic, timeout_s=180)
    finally:
        second.stop()
        first.stop()

    tallies: dict[int, int] = dict(view.query("SELECT position, times FROM tallied_tally"))
    stored = pipeline.app.event_count()
    assert sorted(tallies) == list(range(1, stored + 1)), "every event applied, none skipped"
    assert {p: n for p, n in tallies.items() if n != 1} == {}, "no event applied twice"
    single = Database(f"sqlite:///{tmp_path / 'single.sqlite'}")
    ProjectionRunner(TalliedStatus(), single, pipeline.bootstrap, topic).catch_up()
    assert TalliedStatus().digest(view) == TalliedStatus().digest(single)
    view.close()
    single.close()


def test_the_audit_chain_cannot_be_split_between_processes(tmp_path: Path) -> None:
    from projections.audit import AuditProjection

    db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    with pytest.raises(ValueError, match="audit projection cannot be split"):
        ProjectionRunner(AuditProjection(), db, "127.0.0.1:1", "events", in_group=True)
    db.close()


def test_the_cli_shares_only_the_status_view(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "projections", "run", "audit", "--in-group"],
        cwd=REPO,
        env={**os.environ, "LIANDONG_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "only the status view can be shared" in refused.stderr


def test_processes_started_together_make_the_views_tables_once(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A group's members start at the same moment; on PostgreSQL, two concurrent
    CREATE SCHEMA or CREATE TABLE IF NOT EXISTS fail one of them unless they take turns."""
    url = view_store_url("postgres", request, tmp_path)
    ready = threading.Barrier(6)
    failures: list[BaseException] = []

    def start_member() -> None:
        try:
            ready.wait(timeout=60)
            db = Database(url)  # the first to connect makes the schema
            try:
                setup(db, TalliedStatus())
            finally:
                db.close()
        except BaseException as exc:
            failures.append(exc)

    members = [threading.Thread(target=start_member) for _ in range(6)]
    for member in members:
        member.start()
    for member in members:
        member.join(timeout=120)
    assert failures == []
