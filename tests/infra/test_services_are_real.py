"""The foundation: the broker and the database the other tests rely on are real."""

from __future__ import annotations

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from domain.values import Actor

pytestmark = pytest.mark.kafka


def produce_and_consume(bootstrap: str, topic: str, values: list[bytes]) -> list[bytes]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for value in values:
        producer.send(topic, value)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
        group_id=f"g-{topic}",
    )
    try:
        got = []
        for message in consumer:
            got.append(message.value)
            if len(got) == len(values):
                break
        return got
    finally:
        consumer.close()


def test_messages_produced_to_the_broker_are_consumed_back(
    kafka_bootstrap: str, topic_name: str
) -> None:
    values = [f"联动-{i}".encode() for i in range(5)]
    assert produce_and_consume(kafka_bootstrap, topic_name, values) == values


@pytest.mark.postgres
def test_events_written_to_postgres_are_read_back(
    postgres_store_url: str, postgres_dsn: str, pg_schema: str
) -> None:
    app = Liandong(env=store_env(postgres_store_url))
    result = app.handle(
        Actor(unit="town:degan"),
        c.ListEnterprise(name="德感某厂", address="德感", town="town:degan"),
    )
    reread = Liandong(env=store_env(postgres_store_url))
    case = reread.get_case(result.aggregate_id)
    assert case.enterprise is not None
    assert case.enterprise.name == "德感某厂"
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(f"select count(*) from {pg_schema}.liandong_events").fetchone()
    assert rows is not None
    assert rows[0] == result.events  # the case's two events and its name-and-address index
    app.close()
    reread.close()
