"""Each deployment's consumer groups are its own, and its ACLs let each role join the
groups its processes use (the broker-enforced round trip is in test_kafka_acls.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ResourceType

from gateways.kafka_access import KafkaAccess
from gateways.kafka_acls import grants
from gateways.topics import Topics
from projections.audit import AuditProjection
from projections.db import Database
from projections.notify import NotifyProjection
from projections.runner import Projection, ProjectionRunner
from projections.status import StatusProjection

NOWHERE = KafkaAccess(bootstrap="127.0.0.1:1")


def may_join(topics: Topics, role: str, group: str) -> bool:
    return any(
        grant.resource is ResourceType.GROUP
        and ACLOperation.READ in grant.operations
        and (group.startswith(grant.name) if grant.prefixed else group == grant.name)
        for grant in grants(topics, "relay")[role]
    )


def test_the_default_deployment_keeps_its_receipts_group() -> None:
    """Its committed offsets are under this name: a new name would read every receipt
    again from the start."""
    assert Topics(prefix="liandong").receipts_group == "liandong-receipts"


def test_two_deployments_on_one_broker_never_share_a_receipts_group() -> None:
    assert Topics(prefix="jiangjin").receipts_group != Topics(prefix="yongchuan").receipts_group


@pytest.mark.parametrize("prefix", ["liandong", "jiangjin"])
def test_the_receipts_role_may_join_its_deployments_receipts_group(prefix: str) -> None:
    topics = Topics(prefix=prefix)
    assert may_join(topics, "receipts", topics.receipts_group)
    assert not may_join(topics, "projections", topics.receipts_group)


@pytest.mark.parametrize("prefix", ["liandong", "jiangjin"])
def test_the_receipts_role_may_not_join_another_deployments_receipts_group(prefix: str) -> None:
    """On a broker shared by two deployments, one's receipts gateway cannot read the
    other's group's offsets or take its partitions by joining it."""
    assert not may_join(
        Topics(prefix=prefix), "receipts", Topics(prefix="yongchuan").receipts_group
    )


RUNNERS = [
    (projection, in_group)
    for projection in (StatusProjection(), AuditProjection(), NotifyProjection())
    for in_group in ((False, True) if projection.splittable else (False,))
]


@pytest.mark.parametrize(("projection", "in_group"), RUNNERS)
def test_the_projections_role_may_join_every_group_a_runner_uses(
    projection: Projection, in_group: bool, tmp_path: Path
) -> None:
    topics = Topics(prefix="jiangjin")
    views = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    runner = ProjectionRunner(projection, views, NOWHERE, topics.events.name, in_group=in_group)
    assert may_join(topics, "projections", runner.group_id)
    assert not may_join(topics, "receipts", runner.group_id)
    views.close()


@pytest.mark.parametrize(("projection", "in_group"), RUNNERS)
def test_the_projections_role_may_not_join_another_deployments_projection_groups(
    projection: Projection, in_group: bool, tmp_path: Path
) -> None:
    """On a broker shared by two deployments, one's runners cannot commit into, or take
    partitions from, the other's groups; the names once shared by every deployment
    (`liandong-projection-<view>`) are nobody's now."""
    views = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    others = ProjectionRunner(
        projection, views, NOWHERE, Topics(prefix="yongchuan").events.name, in_group=in_group
    )
    for prefix in ("liandong", "jiangjin"):
        topics = Topics(prefix=prefix)
        assert not may_join(topics, "projections", others.group_id)
        assert not may_join(topics, "projections", f"liandong-projection-{projection.name}")
    views.close()
