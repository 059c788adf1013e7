"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.bootstrap import Services, bootstrap
from api.routers import health, meta


def create_app(services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or bootstrap()
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    app = FastAPI(
        title="Liandong 联动",
        summary="Inter-agency linkage for rectifying 散乱污 enterprises (Jiangjin, 2021 plan)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(meta.router)
    return app
