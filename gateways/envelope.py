"""CloudEvents 1.0 in Kafka binary mode, through the CNCF `cloudevents` SDK.

Headers: ce_id, ce_source, ce_type, ce_specversion, ce_time, ce_subject,
ce_partitionkey, ce_sequence (the event's position in Liandong's log) and
ce_prevsequence (the position the relay published just before it);
`content-type: application/json`. The value is the orjson of the pydantic event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

SOURCE = "urn:liandong:jiangjin"
TYPE_PREFIX = "cn.gov.jiangjin.liandong."
_FORMAT = JSONFormat()


def event_type(event_class_name: str) -> str:
    return f"{TYPE_PREFIX}{event_class_name}.v1"


@dataclass(frozen=True)
class Envelope:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def wrap(event: BaseModel, position: int, previous: int = 0) -> Envelope:
    """The envelope of a domain event object."""
    return wrap_state(type(event).__name__, event.model_dump(mode="json"), position, previous)


def wrap_state(
    event_class_name: str, state: dict[str, Any], position: int, previous: int = 0
) -> Envelope:
    """The envelope of an event's JSON state (as stored: the relay does not rebuild the
    pydantic object just to serialize it again)."""
    subject = str(state["originator_id"])
    cloud_event = CloudEvent(
        attributes={
            "id": f"{subject}/{state['originator_version']}",
            "source": SOURCE,
            "type": event_type(event_class_name),
            "specversion": "1.0",
            "time": datetime.fromisoformat(state["timestamp"]),
            "subject": subject,
            "datacontenttype": "application/json",
            "partitionkey": subject,
            "sequence": str(position),
            # The position published just before this one: positions have gaps (a
            # rolled-back insert still takes a number), so consumers that need one total
            # order (the audit trail) chain events by this link.
            "prevsequence": str(previous),
        },
        data=orjson.dumps(state),
    )
    message = to_binary(cloud_event, _FORMAT)
    key = message.key.encode() if isinstance(message.key, str) else cast(bytes, message.key)
    return Envelope(key=key, value=message.value, headers=list(message.headers.items()))


@dataclass(frozen=True)
class Unwrapped:
    attributes: dict[str, Any]
    data: dict[str, Any]


def unwrap(key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> Unwrapped:
    """Reads a message back (consumers and tests); raises on a malformed envelope."""
    event = from_binary(KafkaMessage(headers=dict(headers), key=key, value=value), _FORMAT)
    data = event.get_data()
    if isinstance(data, (bytes, str)):
        data = orjson.loads(data)
    return Unwrapped(attributes=dict(event.get_attributes()), data=cast(dict[str, Any], data))
