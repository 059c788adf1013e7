"""The 工单 page: a utility's own open orders (as GET /utilities/orders gives them), each
to acknowledge, execute or refuse with a reason."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.routers.utilities import orders_of
from api.web.pages import render, signed_in

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/orders")
def orders_page(request: Request, services: ServicesDep) -> Response:
    reader = signed_in(request, services, utility=True)
    if isinstance(reader, Response):
        return reader
    session, unit = reader
    return render(
        request, "orders.html", session=session, unit=unit, orders=orders_of(services, unit.id)
    )
