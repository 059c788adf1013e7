"""The AsyncAPI 3.0 document of every topic, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from domain.credentials import KeyIssued, KeyRevoked
from domain.events import all_case_events
from domain.indexes import UsccRegistered
from domain.patrol import PatrolRecorded
from domain.registry_record import UnitsRegistryAdopted, UnitsRegistryChanged
from domain.requests import RequestHandled
from domain.subscriptions import SUBSCRIPTION_EVENTS
from domain.values import Utility
from gateways.envelope import SOURCE, event_type
from gateways.kafka_access import Kafka, KafkaAccess, access
from gateways.orders import (
    KID_HEADER,
    ORDER_TYPES,
    RECEIPT_TYPE,
    SIGNATURE_HEADER,
    OrderMessage,
    Receipt,
)
from gateways.signing import PublicKey, development_key, key_set
from gateways.topics import Topics
from projections.notify import InboxChangeBody

REF = "#/components/schemas/{model}"

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka protocol binding, binary content mode",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"],
    "properties": {
        "ce_id": {"type": "string", "description": "<case id>/<version>: unique per event"},
        "ce_source": {"type": "string", "const": SOURCE},
        "ce_type": {"type": "string", "description": f"{event_type('<EventName>')}"},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "the case (aggregate) id"},
        "ce_partitionkey": {"type": "string", "description": "the case id, also the Kafka key"},
        "ce_sequence": {"type": "string", "description": "position in Liandong's event log"},
        "ce_prevsequence": {
            "type": "string",
            "description": "the position published just before (0 at start)",
        },
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _schemas(models: list[type[BaseModel]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The models' JSON schemas, referenced from components/schemas."""
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return {m.__name__: {"$ref": REF.format(model=m.__name__)} for m in models}, defs


def _message(
    name: str, payload: dict[str, Any], summary: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": payload,
        "bindings": {"kafka": {"key": {"type": "string", "description": "the case id"}}},
    }
    if headers:
        message["headers"] = headers
    return message


SASL_SCHEMES = {"PLAIN": "plain", "SCRAM-SHA-256": "scramSha256", "SCRAM-SHA-512": "scramSha512"}


def _server(kafka: KafkaAccess) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployment's cluster as an AsyncAPI server, and its security schemes."""
    server: dict[str, Any] = {
        "host": kafka.bootstrap,
        "protocol": "kafka-secure" if kafka.uses_tls else "kafka",
        "description": "the Kafka cluster of this deployment "
        f"(security protocol {kafka.security_protocol})",
    }
    schemes: dict[str, Any] = {}
    if kafka.uses_sasl and kafka.sasl_mechanism:  # (always set: __post_init__ checks it)
        schemes["sasl"] = {
            "type": SASL_SCHEMES[kafka.sasl_mechanism],
            "description": "SASL credentials issued to each process by the operators",
        }
        server["security"] = [{"$ref": "#/components/securitySchemes/sasl"}]
    return server, schemes


WEBHOOK_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 in HTTP binary mode, signed per Standard Webhooks 1.0 "
    "(v1a: Ed25519 over `webhook-id.webhook-timestamp.body`, with the public key at "
    "GET /webhooks/public-key)",
    "required": ["ce-id", "ce-source", "ce-type", "ce-specversion", "webhook-id",
                 "webhook-timestamp", "webhook-signature"],
    "properties": {
        "ce-id": {"type": "string", "description": "equal to webhook-id"},
        "ce-source": {"type": "string"},
        "ce-type": {"type": "string", "description": "cn.gov.jiangjin.liandong.inbox.<change>.v1"},
        "ce-specversion": {"type": "string", "const": "1.0"},
        "ce-time": {"type": "string", "description": "the time of the event that changed it"},
        "ce-subject": {"type": "string", "description": "the case"},
        "ce-partitionkey": {"type": "string"},
        "ce-sequence": {"type": "string", "description": "that event's place in the log"},
        "ce-causetype": {"type": "string", "description": "that event's class"},
        "webhook-id": {"type": "string", "description": "the same on every attempt: dedupe on it"},
        "webhook-timestamp": {"type": "string", "description": "seconds since the epoch"},
        "webhook-signature": {"type": "string", "description": "v1a,<base64 signature> ..."},
    },
}  # fmt: skip


def document(
    topics: Topics,
    kafka: Kafka = "127.0.0.1:9092",
    signing_keys: list[PublicKey] | None = None,
) -> dict[str, Any]:
    events: list[type[BaseModel]] = [
        *all_case_events(),
        PatrolRecorded,
        UsccRegistered,
        RequestHandled,
        KeyIssued,
        KeyRevoked,
        UnitsRegistryAdopted,
        UnitsRegistryChanged,
        *SUBSCRIPTION_EVENTS,
    ]
    refs, schemas = _schemas([*events, OrderMessage, Receipt, InboxChangeBody])
    messages = {
        cls.__name__: _message(
            cls.__name__,
            refs[cls.__name__],
            (cls.__doc__ or cls.__name__).strip().splitlines()[0],
            CLOUDEVENT_HEADERS,
        )
        for cls in events
    }

    def signed(signer: str, ce_id: str, ce_type: str, source: str) -> dict[str, Any]:
        headers = {**CLOUDEVENT_HEADERS["properties"]}
        for volatile in ("ce_partitionkey", "ce_sequence", "ce_prevsequence"):
            headers.pop(volatile)
        return {
            "type": "object",
            "description": "CloudEvents 1.0, Kafka binary mode, signed: verify ce_signature "
            f"over the value with {signer}'s Ed25519 key named by ce_signaturekid",
            "required": [*CLOUDEVENT_HEADERS["required"], SIGNATURE_HEADER, KID_HEADER],
            "properties": {
                **headers,
                "ce_id": {"type": "string", "description": ce_id},
                "ce_type": {"type": "string", "description": ce_type},
                "ce_source": {"type": "string", "description": source},
                SIGNATURE_HEADER: {
                    "type": "string",
                    "description": "Ed25519 signature of the value, base64url (RFC 8037)",
                },
                KID_HEADER: {"type": "string", "description": "the signing key's id (kid)"},
            },
        }

    messages["OrderMessage"] = _message(
        "OrderMessage",
        refs["OrderMessage"],
        "A utility order issued or cancelled, signed by the district",
        signed(
            "the district (x-signing-keys, /.well-known/liandong-signing-keys.json)",
            "<order id>/<order_issued|order_cancelled>",
            " or ".join(ORDER_TYPES.values()),
            SOURCE,
        ),
    )
    messages["Receipt"] = _message(
        "Receipt",
        refs["Receipt"],
        "A utility's acknowledgement, execution or refusal, signed by that utility",
        signed(
            "the utility (its key registered with the district)",
            "the receipt id",
            RECEIPT_TYPE,
            "urn:liandong:utility:<power|water|gas>",
        ),
    )
    dead_letter_headers = {
        "type": "object",
        "properties": {
            h: {"type": "string"}
            for h in ("dlq-source", "dlq-code", "dlq-rule", "dlq-field", "dlq-reason")
        },
    }
    messages["DeadLetter"] = _message(
        "DeadLetter",
        {"type": "string", "description": "the refused receipt, unchanged"},
        "A receipt that could not be applied, with its reason",
        dead_letter_headers,
    )
    messages["RelayPosition"] = _message(
        "RelayPosition",
        {
            "type": "object",
            "properties": {
                "position": {"type": "integer"},
                "relay": {
                    "type": ["string", "null"],
                    "description": "the transactional id of the relay that committed it",
                },
            },
        },
        "The relay's committed position (compacted)",
    )

    messages["InboxChange"] = _message(
        "InboxChange",
        refs["InboxChangeBody"],
        "A change in a unit's inbox, posted to each of its webhook subscriptions",
        WEBHOOK_HEADERS,
    )
    del messages["InboxChange"]["bindings"]  # posted over HTTP, not Kafka

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/messages/{name}"}

    channels: dict[str, Any] = {
        "events": {
            "address": topics.events.name,
            "title": "Every event, keyed by case",
            "messages": {cls.__name__: ref(cls.__name__) for cls in events},
        },
        "relayPosition": {
            "address": topics.relay_position.name,
            "messages": {"RelayPosition": ref("RelayPosition")},
        },
        "receipts": {"address": topics.receipts.name, "messages": {"Receipt": ref("Receipt")}},
        "deadLetters": {
            "address": topics.dead_letters.name,
            "messages": {"DeadLetter": ref("DeadLetter")},
        },
    }
    channels["webhooks"] = {
        "address": "{subscriber}",
        "servers": [{"$ref": "#/servers/subscribers"}],
        "title": "A subscribed endpoint (POST /subscriptions); HTTP POST, CloudEvents binary mode",
        "parameters": {"subscriber": {"description": "the URL the unit subscribed"}},
        "messages": {"InboxChange": ref("InboxChange")},
    }
    for utility in Utility:
        channels[f"orders{utility.value.title()}"] = {
            "address": topics.orders(utility).name,
            "title": f"Orders for the {utility.value} utility",
            "messages": {"OrderMessage": ref("OrderMessage")},
        }

    def operation(action: str, channel: str, summary: str) -> dict[str, Any]:
        return {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary}

    operations = {
        "publishEvents": operation("send", "events", "The relay publishes every event"),
        "receiveReceipts": operation("receive", "receipts", "Liandong applies receipts"),
        "publishDeadLetters": operation("send", "deadLetters", "Refused receipts, with reasons"),
        "publishRelayPosition": operation("send", "relayPosition", "The relay's position"),
        "sendInboxChanges": operation(
            "send", "webhooks", "liandong notify posts each inbox change to its subscribers"
        ),
    }
    for utility in Utility:
        name = f"orders{utility.value.title()}"
        operations[f"send{name[0].upper()}{name[1:]}"] = operation(
            "send", name, f"Orders for the {utility.value} utility"
        )
    server, schemes = _server(access(kafka))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Liandong 联动 event streams",
            "version": "1.0.0",
            "description": "Every event of the 散乱污 linkage campaign, utility orders, and "
            "utilities' receipts. Events are CloudEvents 1.0 in Kafka binary mode.",
            # The district's public keys that sign orders (a JWK Set, RFC 7517/8037).
            "x-signing-keys": key_set(signing_keys or [development_key("district").public()]),
        },
        "defaultContentType": "application/json",
        "servers": {
            "cluster": server,
            "subscribers": {
                "host": "{subscriber host}",
                "protocol": "https",
                "description": "Units' own endpoints, subscribed with POST /subscriptions",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
            **({"securitySchemes": schemes} if schemes else {}),
        },
    }
