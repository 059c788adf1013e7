"""What utilities receive and send back (DOMAIN.md section 8).

An order message is self-contained: a utility acts on it without asking us anything.
Orders and receipts travel in the same CloudEvents binary envelope as every event of
the events topic (`ce_*` headers, the JSON as the value), with two extension
attributes: `ce_signature`, the Ed25519 signature of the value (base64url), and
`ce_signaturekid`, the id of the key that made it (gateways/signing.py). The district
signs orders; each utility signs its own receipts, so nobody can forge either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import orjson
from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.records import OrderRecord
from domain.values import LegalBasis, OrderKind, Utility
from gateways.envelope import SOURCE, event_type
from gateways.signing import PublicKey, SigningKey

_FORMAT = JSONFormat()

SIGNATURE_HEADER = "ce_signature"
KID_HEADER = "ce_signaturekid"
ORDER_TYPES = {
    "order_issued": event_type("UtilityOrderIssued"),
    "order_cancelled": event_type("UtilityOrderCancelled"),
}
RECEIPT_TYPE = event_type("UtilityReceipt")


class OrderMessage(BaseModel):
    """One message on a utility's order topic: an order issued, or one cancelled."""

    model_config = ConfigDict(extra="forbid")

    message: Literal["order_issued", "order_cancelled"]
    order_id: str
    case_id: UUID
    utility: Utility
    kind: OrderKind = Field(description="cut, limit, or restore")
    enterprise_name: str
    uscc: str | None
    address: str
    town: str
    account: str | None = Field(description="account or meter number, where known")
    grounds: LegalBasis = Field(description="the legal basis (rule 4)")
    legal_basis: str = Field(default="", description="the law or regulation cited")
    document_number: str = Field(description="the decision document (文号)")
    requested_by: str
    deadline: datetime
    issued_at: datetime
    reason: str | None = Field(default=None, description="why an order was cancelled")
    position: int = Field(description="position of the event in Liandong's log")

    @classmethod
    def issued(
        cls, order: OrderRecord, case_id: UUID, legal_basis: str, position: int
    ) -> OrderMessage:
        return cls(
            message="order_issued",
            case_id=case_id,
            legal_basis=legal_basis,
            position=position,
            **_order_fields(order),
        )

    @classmethod
    def cancelled(
        cls, order: OrderRecord, case_id: UUID, reason: str, position: int
    ) -> OrderMessage:
        return cls(
            message="order_cancelled",
            case_id=case_id,
            reason=reason,
            position=position,
            **_order_fields(order),
        )


def _order_fields(order: OrderRecord) -> dict[str, object]:
    return order.model_dump(
        include={
            "order_id",
            "utility",
            "kind",
            "enterprise_name",
            "uscc",
            "address",
            "town",
            "account",
            "grounds",
            "document_number",
            "requested_by",
            "deadline",
            "issued_at",
        }
    )


class Receipt(BaseModel):
    """What a utility reports back on its receipts topic (or over HTTP)."""

    model_config = ConfigDict(extra="forbid")

    receipt_id: str = Field(
        min_length=1,
        max_length=64,
        description="unique per receipt; a redelivered receipt is a no-op",
    )
    order_id: str = Field(pattern=r"^[0-9a-f-]{36}/O[0-9]+$", max_length=60)
    utility: Utility
    status: Literal["acknowledged", "executed", "refused"]
    person: str | None = Field(default=None, max_length=100)
    meter: str | None = Field(default=None, max_length=64)
    reading: float | None = Field(default=None, ge=0)
    executed_at: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=2000)


class Forged(ValueError):
    """A message whose signature does not verify with a key its sender may use."""


def signed_envelope(
    value: bytes, key: SigningKey, *, ce_id: str, ce_type: str, source: str, subject: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and its CloudEvents binary-mode headers, signed."""
    event = CloudEvent(
        attributes={
            "id": ce_id,
            "source": source,
            "type": ce_type,
            "specversion": "1.0",
            "time": datetime.now(tz=UTC),
            "subject": subject,
            "datacontenttype": "application/json",
            "signature": key.sign(value),
            "signaturekid": key.kid,
        },
        data=value,
    )
    message = to_binary(event, _FORMAT)
    return message.value, list(message.headers.items())


def verified_value(
    value: bytes, headers: list[tuple[str, bytes]], keys: list[PublicKey], *, ce_type: str
) -> bytes:
    """The value, if its envelope is of `ce_type` and its signature verifies with one of
    `keys` (the kid names which); raises Forged otherwise."""
    found = dict(headers)
    kid = found.get(KID_HEADER, b"").decode(errors="replace")
    if found.get("ce_type", b"").decode(errors="replace") != ce_type:
        raise Forged(f"not a {ce_type} CloudEvent")
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        raise Forged(f"signed with an unknown key {kid!r}" if kid else "unsigned")
    if not key.verify(value, found.get(SIGNATURE_HEADER)):
        raise Forged(f"the signature does not verify with key {kid!r}")
    return value


def order_envelope(
    message: OrderMessage, value: bytes, key: SigningKey
) -> tuple[bytes, list[tuple[str, bytes]]]:
    return signed_envelope(
        value,
        key,
        ce_id=f"{message.order_id}/{message.message}",
        ce_type=ORDER_TYPES[message.message],
        source=SOURCE,
        subject=str(message.case_id),
    )


def receipt_envelope(
    receipt: Receipt, value: bytes, key: SigningKey
) -> tuple[bytes, list[tuple[str, bytes]]]:
    return signed_envelope(
        value,
        key,
        ce_id=receipt.receipt_id,
        ce_type=RECEIPT_TYPE,
        source=f"urn:liandong:utility:{receipt.utility.value}",
        subject=receipt.order_id.split("/")[0],
    )


def verified_order(
    value: bytes, headers: list[tuple[str, bytes]], keys: list[PublicKey]
) -> OrderMessage:
    """An order whose envelope and signature verify with the district's keys."""
    ce_type = dict(headers).get("ce_type", b"").decode(errors="replace")
    if ce_type not in ORDER_TYPES.values():
        raise Forged("not a utility order CloudEvent")
    return OrderMessage.model_validate(
        orjson.loads(verified_value(value, headers, keys, ce_type=ce_type))
    )


def verified_receipt(
    value: bytes, headers: list[tuple[str, bytes]], keys: dict[str, list[PublicKey]]
) -> Receipt:
    """A receipt signed by the utility it names, with a key registered for that utility."""
    receipt = Receipt.model_validate(orjson.loads(value))
    source = dict(headers).get("ce_source", b"").decode(errors="replace")
    if source != f"urn:liandong:utility:{receipt.utility.value}":
        raise Forged(f"a receipt of {receipt.utility.value} sent as {source!r}")
    verified_value(value, headers, keys.get(receipt.utility.value, []), ce_type=RECEIPT_TYPE)
    return receipt
