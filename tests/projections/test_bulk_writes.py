"""A batch of rows is written by COPY on PostgreSQL and by INSERT elsewhere, and both
store exactly what was given: awkward text included, an upsert replacing rows by key,
and a broken rule refused as an INSERT would refuse it."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from api.campaign import SettableClock, run_campaign
from projections.audit import AuditProjection
from projections.db import COPY_FROM_ROWS, Database
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from tests.projections.conftest import Pipeline, view_store_url

AWKWARD = ["制度\t第十条", "line\nbreak", "back\\slash", "\\N", "", "引号'\"", "emoji 🏭", None]
COLUMNS = ("k", "n", "note")


def make_table(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT)")


def stored(db: Database) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.query("SELECT k, n, note FROM t ORDER BY k")]


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS, 5 * COPY_FROM_ROWS])
def test_rows_are_stored_exactly_as_given(views: Database, count: int) -> None:
    make_table(views)
    rows = [(f"k{i:05}", i, AWKWARD[i % len(AWKWARD)]) for i in range(count)]
    with views.transaction() as tx:
        tx.insert_rows("t", COLUMNS, rows)
    assert stored(views) == rows


@pytest.mark.parametrize("count", [3, 5 * COPY_FROM_ROWS])
def test_an_upsert_replaces_rows_by_key_and_adds_the_rest(views: Database, count: int) -> None:
    make_table(views)
    before = [(f"k{i:05}", i, "before") for i in range(count)]
    with views.transaction() as tx:
        tx.insert_rows("t", COLUMNS, before)
    # Every other row changes; as many new ones come.
    after = [(f"k{i:05}", -i, AWKWARD[i % len(AWKWARD)]) for i in range(0, 2 * count, 2)]
    with views.transaction() as tx:
        tx.upsert_rows("t", COLUMNS, ("k",), after)
        tx.upsert_rows("t", COLUMNS, ("k",), after)  # twice in one transaction: the same
    expected: dict[str, tuple[str, int, str | None]] = {k: (k, n, note) for k, n, note in before}
    expected.update((k, (k, n, note)) for k, n, note in after)
    assert stored(views) == sorted(expected.values())


def test_a_batch_that_breaks_a_rule_is_refused_whole(views: Database) -> None:
    make_table(views)
    rows: list[tuple[str, int | None, str]] = [(f"k{i:05}", i, "x") for i in range(200)]
    rows[-1] = ("k99999", None, "a NULL where the table forbids one")
    with pytest.raises(Exception, match=r"(?i)null"), views.transaction() as tx:
        tx.insert_rows("t", COLUMNS, rows)
    assert stored(views) == []
    duplicate = [(f"k{i:05}", i, "x") for i in range(2 * COPY_FROM_ROWS)] + [("k00000", 0, "x")]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), views.transaction() as tx:
        tx.insert_rows("t", COLUMNS, duplicate)
    assert stored(views) == []


@pytest.mark.kafka
@pytest.mark.postgres
def test_a_generated_campaign_gives_the_same_views_by_copy_and_by_insert(
    pipeline: Pipeline, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """150 enterprises: a batch of the whole topic writes every table by COPY on
    PostgreSQL, batches of 1,000 records update by COPY what earlier ones wrote, batches
    of 5 write by INSERT; SQLite always by INSERT."""
    clock = cast(SettableClock, pipeline.scenario.clock)
    run_campaign(pipeline.app, clock, enterprises=150, seed=2021, listing_days=20)
    pipeline.published()
    digests = {}
    for kind, batch in (
        ("postgres", 20_000),
        ("postgres", 1_000),
        ("postgres", 5),
        ("sqlite", 20_000),
    ):
        db = Database(view_store_url(kind, request, tmp_path))
        try:
            for projection in (StatusProjection(), AuditProjection()):
                topic = pipeline.topics.events.name
                ProjectionRunner(
                    projection, db, pipeline.bootstrap, topic, batch_records=batch
                ).catch_up()
            cases = db.query(f"SELECT count(*) FROM {StatusProjection().t('cases')}")[0][0]
            assert cases >= COPY_FROM_ROWS
            digests[kind, batch] = (StatusProjection().digest(db), AuditProjection().digest(db))
        finally:
            db.close()
    assert len(set(digests.values())) == 1, digests
