"""Utilities over HTTP: their open orders, and receipts (as on their Kafka topic)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Request

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES, ApiError
from api.routers.commands import CommandResponse, IdempotencyKey, execute
from domain.records import OrderRecord
from gateways.consumer_loop import Poison
from gateways.orders import Receipt
from gateways.receipts import receipt_command
from projections.status import StatusProjection

router = APIRouter(prefix="/utilities", tags=["utilities"], responses=PROBLEM_RESPONSES)
UTILITIES = ("power", "water", "gas")


def _utility(actor_unit: str) -> str:
    if actor_unit not in UTILITIES:
        raise ApiError(
            403,
            "permission_denied",
            "only utilities have orders",
            "只有供电、供水、供气单位有指令",
            field="unit",
            rule="rule 5: a utility acts only on orders addressed to it",
        )
    return actor_unit


class OpenOrder(OrderRecord):
    """An order still to carry out (issued or acknowledged), as the domain records it:
    all a utility needs to act on it alone, and its case."""

    case_id: UUID


@router.get(
    "/orders",
    response_model=list[OpenOrder],
    summary="The calling utility's open orders (issued or acknowledged)",
)
def open_orders(actor: ActorDep, services: ServicesDep) -> list[OpenOrder]:
    return orders_of(services, _utility(actor.unit))


def orders_of(services: Any, utility: str) -> list[OpenOrder]:
    """A utility's open orders (issued or acknowledged), oldest first."""
    t = StatusProjection().t("orders")
    rows = services.db.query(
        f"SELECT message, case_id FROM {t} WHERE utility = ? AND status IN "
        "('issued', 'acknowledged') ORDER BY issued_at",
        (utility,),
    )
    # The row's message is the order's record as the domain keeps it.
    return [
        OpenOrder.model_validate({**orjson.loads(record), "case_id": case_id})
        for record, case_id in rows
    ]


@router.post(
    "/receipts",
    response_model=CommandResponse,
    summary="Report an order acknowledged, executed (meter, reading, time) or refused",
)
def post_receipt(
    receipt: Receipt,
    request: Request,
    actor: ActorDep,
    services: ServicesDep,
    key: IdempotencyKey = None,
) -> Any:
    if receipt.utility.value != _utility(actor.unit):
        raise ApiError(
            403,
            "permission_denied",
            "a utility reports only on its own orders",
            "只能回执本单位的指令",
            field="utility",
            rule="rule 5: a utility acts only on orders addressed to it",
        )
    try:
        command = receipt_command(receipt)
    except Poison as bad:
        raise ApiError(
            422, bad.code, bad.message, bad.message, field=bad.field, rule=bad.rule
        ) from None
    return execute(request, services, actor, command, key, False)
