from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.deps import ServicesDep
from api.health import Health, check_health
from api.routers.meta import may_read_operations

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(services: ServicesDep, request: Request, response: Response) -> Health:
    """The broker, the stores and every worker, checked now. 503 when one is down. Anyone
    (a load balancer) learns what is up and what is down; why, and each process's host,
    lag and last error, only the monitoring system or this machine (as /metrics)."""
    result = check_health(services)
    if result.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result if may_read_operations(services, request) else result.without_details()
