"""The events topic is made with as many partitions as the deployment sets
(LIANDONG_EVENT_PARTITIONS), the unit of consumer parallelism."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from api.bootstrap import bootstrap
from api.settings import Settings
from gateways.topics import ensure_topics

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize("partitions", [1, 12])
def test_the_events_topic_has_the_partitions_the_deployment_sets(
    kafka_bootstrap: str, tmp_path: Path, partitions: int
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        event_store="memory://",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"p{uuid.uuid4().hex[:10]}",
        event_partitions=partitions,
    )
    services = bootstrap(settings)
    try:
        ensure_topics(kafka_bootstrap, services.topics.all())
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
        try:
            found = consumer.partitions_for_topic(services.topics.events.name)
        finally:
            consumer.close()
        assert found == set(range(partitions))
    finally:
        services.close()
