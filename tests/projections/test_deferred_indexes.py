"""A view built from nothing is written without its secondary indexes and gets them once
it has caught up (one sort each instead of keeping them in step row by row); a view
that already holds events gets them as soon as a process starts on it."""

from __future__ import annotations

import threading
import time

import pytest

from projections.audit import AuditProjection
from projections.db import Database, Tx
from projections.runner import EventRecord, Projection, ProjectionRunner, rebuild, setup
from projections.status import StatusProjection
from tests.projections.conftest import Pipeline
from tests.projections.scenario import campaign
from tests.projections.test_rebuilt_indexes import view_indexes

pytestmark = pytest.mark.kafka


def index_names(tx: Tx) -> set[str]:
    if tx.dialect == "sqlite":
        rows = tx.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    else:
        rows = tx.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        ).fetchall()
    return {str(name) for (name,) in rows}


def defined(projection: Projection) -> list[str]:
    return sorted(index.name for index in projection.index_definitions())


class IndexesSeenByStatus(StatusProjection):
    """The status view, noting which of its indexes exist as each batch is written."""

    seen: list[set[str]]

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        self.seen.append(index_names(tx) & set(defined(self)))
        return super().apply_all(tx, events)


class IndexesSeenByAudit(AuditProjection):
    seen: list[set[str]]

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        self.seen.append(index_names(tx) & set(defined(self)))
        return super().apply_all(tx, events)


@pytest.mark.parametrize("kind", [IndexesSeenByStatus, IndexesSeenByAudit], ids=["status", "audit"])
def test_a_view_built_from_nothing_is_written_unindexed_and_indexed_once_caught_up(
    pipeline: Pipeline, views: Database, kind: type[IndexesSeenByStatus | IndexesSeenByAudit]
) -> None:
    campaign(pipeline.scenario)
    pipeline.published()
    projection = kind()
    projection.seen = []
    runner = ProjectionRunner(
        projection, views, pipeline.bootstrap, pipeline.topics.events.name, batch_records=7
    )
    assert not set(view_indexes(views)) & set(defined(projection)), "indexed before any event"
    runner.catch_up()
    assert len(projection.seen) > 1, "the catch-up was not written in several batches"
    assert projection.seen == [set()] * len(projection.seen), "written with its indexes"
    assert sorted(set(view_indexes(views)) & set(defined(projection))) == defined(projection)


@pytest.mark.parametrize("in_group", [False, True], ids=["one process", "in a group"])
def test_a_running_projection_indexes_its_view_when_it_has_caught_up(
    pipeline: Pipeline, views: Database, in_group: bool
) -> None:
    campaign(pipeline.scenario)
    pipeline.published()
    projection = StatusProjection()
    runner = ProjectionRunner(
        projection, views, pipeline.bootstrap, pipeline.topics.events.name, in_group=in_group
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while sorted(set(view_indexes(views)) & set(defined(projection))) != defined(projection):
            assert time.monotonic() < deadline, "the caught-up view was never indexed"
            assert thread.is_alive(), "the runner stopped"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_view_that_holds_events_is_indexed_when_a_process_starts(
    pipeline: Pipeline, views: Database
) -> None:
    """As after a process that died in its catch-up, before it made the indexes."""
    campaign(pipeline.scenario)
    pipeline.project(views, StatusProjection())
    projection = StatusProjection()
    with views.transaction() as tx:
        for name in defined(projection):
            tx.execute(f"DROP INDEX {name}")
    assert not set(view_indexes(views)) & set(defined(projection))
    setup(views, projection)
    assert sorted(set(view_indexes(views)) & set(defined(projection))) == defined(projection)


def test_a_rebuild_swaps_in_an_indexed_view(pipeline: Pipeline, views: Database) -> None:
    campaign(pipeline.scenario)
    pipeline.project(views, StatusProjection())
    rebuild(views, StatusProjection(), pipeline.bootstrap, pipeline.topics.events.name)
    names = [n for n in view_indexes(views) if n.startswith("ix_status_")]
    assert names == defined(StatusProjection())
