"""The AsyncAPI document is valid against the official AsyncAPI 3.0.0 JSON schema
(tests/data/asyncapi-3.0.0.schema.json, from npm @asyncapi/specs 6.11.1)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from domain.events import all_case_events
from domain.subscriptions import SUBSCRIPTION_EVENTS
from domain.values import Utility
from gateways.asyncapi import document
from gateways.kafka_access import KafkaAccess
from gateways.topics import Topics

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "asyncapi-3.0.0.schema.json"


def test_the_document_is_valid_asyncapi_3() -> None:
    schema = json.loads(SCHEMA.read_text())
    doc = json.loads(json.dumps(document(Topics(prefix="liandong"))))
    jsonschema.validate(doc, schema)


def test_a_secured_cluster_is_described_with_its_security_and_stays_valid() -> None:
    kafka = KafkaAccess("k1:9093,k2:9093", "SASL_SSL", "SCRAM-SHA-512", "liandong", "s3cret")
    doc = json.loads(json.dumps(document(Topics(prefix="liandong"), kafka)))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    server = doc["servers"]["cluster"]
    assert (server["host"], server["protocol"]) == ("k1:9093,k2:9093", "kafka-secure")
    assert doc["components"]["securitySchemes"]["sasl"]["type"] == "scramSha512"
    assert "s3cret" not in json.dumps(doc)


def test_every_topic_and_event_is_described() -> None:
    topics = Topics(prefix="liandong")
    doc = document(topics)
    kafka = {k: c for k, c in doc["channels"].items() if "servers" not in c}
    assert {c["address"] for c in kafka.values()} == {t.name for t in topics.all()}
    event_messages = doc["channels"]["events"]["messages"]
    assert {cls.__name__ for cls in all_case_events()} <= set(event_messages)
    assert {cls.__name__ for cls in SUBSCRIPTION_EVENTS} <= set(event_messages)
    # The webhooks liandong notify posts to subscribers are described too.
    webhooks = doc["channels"]["webhooks"]
    assert webhooks["servers"] == [{"$ref": "#/servers/subscribers"}]
    message = doc["components"]["messages"]["InboxChange"]
    assert "webhook-signature" in message["headers"]["required"]
    assert {f"orders{u.value.title()}" for u in Utility} <= set(doc["channels"])


def test_an_invalid_document_is_refused_by_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    doc = json.loads(json.dumps(document(Topics(prefix="liandong"))))
    doc["channels"]["events"]["address"] = 42
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
