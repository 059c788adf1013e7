"""Building the audit view in a test as its runner would from the events topic (for the
API tests that keep their events in memory, without a broker)."""

from __future__ import annotations

from projections.audit import AuditProjection
from tests.api.conftest import Api
from tests.domain import parity


def chain_audit(api: Api) -> None:
    """Chains every stored event into the audit view, from the start."""
    projection = AuditProjection()
    with api.services.db.transaction() as tx:
        tx.execute(f"DELETE FROM {projection.t('entries')}")
        tx.execute(f"DELETE FROM {projection.t('head')}")
        projection.apply_all(tx, parity.records(api.services.app))
