"""A rebuilt view keeps each of its indexes once, under the view's own names: a rebuild
builds them on its shadow tables, and the swap renames them with the tables."""

from __future__ import annotations

import pytest

from projections.audit import AuditProjection
from projections.db import Database, create_indexes
from projections.runner import TRACKING, Projection, index_view, setup
from projections.status import StatusProjection


def view_indexes(db: Database) -> list[str]:
    if db.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = db.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return sorted(str(name) for (name,) in rows if str(name).startswith("ix_"))


def swap_in_a_rebuilt_shadow(db: Database, projection: Projection) -> None:
    """What `rebuild` does around its replay: fresh shadow tables, indexed once the
    replay has caught up, then the swap."""
    shadow = projection.shadow()
    with db.transaction() as tx:
        tx.execute(TRACKING)
        shadow.drop(tx)
        shadow.create(tx)
    with db.transaction() as tx:
        create_indexes(tx, shadow.index_definitions())
    with db.transaction() as tx:
        projection.drop(tx)
        projection.rename_from(tx, shadow)


@pytest.mark.parametrize(
    "projection", [StatusProjection(), AuditProjection()], ids=["status", "audit"]
)
def test_a_rebuilt_view_has_its_indexes_once_under_its_own_names(
    views: Database, projection: Projection
) -> None:
    setup(views, projection)
    index_view(views, projection)  # as its runner does once the view has caught up
    fresh = view_indexes(views)
    assert fresh == sorted(index.name for index in projection.index_definitions())
    swap_in_a_rebuilt_shadow(views, projection)
    setup(views, projection)  # the next start of any process
    assert view_indexes(views) == fresh
    swap_in_a_rebuilt_shadow(views, projection)  # and a second rebuild
    setup(views, projection)
    assert view_indexes(views) == fresh
    assert not any("__rebuild" in name for name in fresh)
