"""Documents and metrics: the AsyncAPI document of the topics, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from api.deps import ServicesDep
from gateways.asyncapi import document
from projections.workers import worker_rows

router = APIRouter(tags=["meta"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every Kafka topic")
def asyncapi(services: ServicesDep) -> dict[str, Any]:
    return document(services.topics, services.settings.kafka())


@router.get(
    "/metrics",
    summary="Prometheus metrics (every worker's lag among them)",
    response_class=Response,
)
def metrics(services: ServicesDep) -> Response:
    # Each worker's lag as the worker itself last reported it (the relay: its committed
    # position against the store), with the report's age, wherever that worker runs.
    WORKER_LAG.clear()
    WORKER_AGE.clear()
    WORKER_UP.clear()
    for row in worker_rows(services.db).values():
        if row.lag is not None:
            WORKER_LAG.labels(row.worker).set(row.lag)
        WORKER_AGE.labels(row.worker).set(row.beat_age_seconds)
        WORKER_UP.labels(row.worker).set(1 if row.alive else 0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


WORKER_LAG = Gauge(
    "liandong_worker_lag", "records or events a worker last reported behind", ["worker"]
)
WORKER_AGE = Gauge(
    "liandong_worker_heartbeat_age_seconds", "age of a worker's last report", ["worker"]
)
WORKER_UP = Gauge("liandong_worker_up", "1 when a worker reports running recently", ["worker"])
