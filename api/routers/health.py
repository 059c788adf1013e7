from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import ServicesDep
from api.health import Health, check_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(services: ServicesDep, response: Response) -> Health:
    """The broker and the event store, checked now. 503 when either is down."""
    result = check_health(services)
    if result.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result
