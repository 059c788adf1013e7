"""Documents and metrics: the AsyncAPI document of the topics, Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from api.bootstrap import Services
from api.deps import ServicesDep
from api.errors import ApiError
from gateways.asyncapi import document
from gateways.signing import key_set
from projections.workers import worker_rows

router = APIRouter(tags=["meta"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every Kafka topic")
def asyncapi(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    return document(services.topics, settings.kafka(), settings.district_public_keys())


@router.get(
    "/.well-known/liandong-signing-keys.json",
    summary="The district's public keys that sign utility orders (JWK Set, Ed25519)",
)
def signing_keys(services: ServicesDep) -> dict[str, list[dict[str, str]]]:
    return key_set(services.settings.district_public_keys())


@router.get(
    "/metrics",
    summary="Prometheus metrics (every worker's lag among them)",
    response_class=Response,
)
def metrics(services: ServicesDep, request: Request) -> Response:
    allow_metrics(services, request)
    # Each worker's lag as the worker itself last reported it (the relay: its committed
    # position against the store), with the report's age, wherever that worker runs.
    WORKER_LAG.clear()
    WORKER_AGE.clear()
    WORKER_UP.clear()
    for row in worker_rows(services.db).values():
        # A process of a group is labelled by its worker and itself, so that a rule such
        # as max by (worker) (liandong_worker_up) holds however many processes run.
        if row.lag is not None:
            WORKER_LAG.labels(row.group, row.process).set(row.lag)
        WORKER_AGE.labels(row.group, row.process).set(row.beat_age_seconds)
        WORKER_UP.labels(row.group, row.process).set(1 if row.alive else 0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


LOOPBACK = ("127.0.0.1", "::1", "testclient")


def may_read_operations(services: Services, request: Request) -> bool:
    """How busy each unit is, how far each worker lags, where each process runs and why
    one failed are for the monitoring system (the metrics token) or, when no token is
    set, a client on this machine."""
    token = services.settings.metrics_token
    presented = request.headers.get("authorization", "")
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        return hmac.compare_digest(presented.encode(), expected.encode())
    return request.client is not None and request.client.host in LOOPBACK


def allow_metrics(services: Services, request: Request) -> None:
    if may_read_operations(services, request):
        return
    raise ApiError(
        403,
        "permission_denied",
        "metrics are for the monitoring system (LIANDONG_METRICS_TOKEN) or this machine",
        "监控指标仅供监控系统（需令牌）或本机访问",
        field="Authorization",
        rule="metrics token",
    )


# `process`: host:pid of one process of a consumer group, empty for a worker run once.
WORKER_LAG = Gauge(
    "liandong_worker_lag",
    "records or events a worker last reported behind",
    ["worker", "process"],
)
WORKER_AGE = Gauge(
    "liandong_worker_heartbeat_age_seconds",
    "age of a worker's last report",
    ["worker", "process"],
)
WORKER_UP = Gauge(
    "liandong_worker_up", "1 when a worker reports running recently", ["worker", "process"]
)
