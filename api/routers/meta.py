"""Documents and metrics: the AsyncAPI document of the topics, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ServicesDep
from gateways.asyncapi import document

router = APIRouter(tags=["meta"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every Kafka topic")
def asyncapi(services: ServicesDep) -> dict[str, Any]:
    return document(services.topics, services.settings.kafka())


@router.get(
    "/metrics", summary="Prometheus metrics (relay lag among them)", response_class=Response
)
def metrics(services: ServicesDep) -> Response:
    from gateways.relay import STORED

    # The stored position is read now, so lag shows even when no relay runs in this process.
    STORED.set(services.app.event_count())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
