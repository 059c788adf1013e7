"""What utilities receive and send back (DOMAIN.md section 8).

An order message is self-contained: a utility acts on it without asking us
anything. It is signed (HMAC-SHA256 over the value, header `liandong-signature`)
so that a utility can tell it came from Liandong; on a secured cluster, Kafka
ACLs also restrict who may write the order topics.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.records import OrderRecord
from domain.values import LegalBasis, OrderKind, Utility

SIGNATURE_HEADER = "liandong-signature"


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


def sign(value: bytes, key: bytes) -> bytes:
    return hmac.new(key, value, hashlib.sha256).hexdigest().encode()


def verify(value: bytes, signature: bytes | None, key: bytes) -> bool:
    return signature is not None and hmac.compare_digest(sign(value, key), signature)
