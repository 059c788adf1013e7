"""The FastAPI application: routers per area, one error mapping, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api import errors, middleware
from api.bootstrap import Services, bootstrap
from api.deps import query_at_the_edge
from api.routers import (
    audit,
    commands,
    documents,
    enterprises,
    evidence,
    health,
    inbox,
    inbox_stream,
    ledger,
    meta,
    patrols,
    reports,
    subscriptions,
    supervision,
    utilities,
)
from api.web import acting, dossier, files, overview, pages
from api.web import audit as web_audit
from api.web import ledger as web_ledger
from api.web import orders as web_orders

DESCRIPTION = """
Every action of the units taking part in Jiangjin's 散乱污 campaign, recorded as an
immutable event; the district office's views of status, accountability and the audit
trail. Authenticate with the unit's API key (`Authorization: Bearer ld_...`). Every
POST takes `Idempotency-Key`. Errors are RFC 9457 problems with a stable `code`, the
`field` and the `rule`; `Accept-Language: zh` gives them in Chinese.
"""


def create_app(services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or bootstrap()
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = app.state.services.settings.api_threads
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    settings = services.settings if services else None
    app = FastAPI(
        title="Liandong 联动",
        summary="Inter-agency linkage for rectifying 散乱污 enterprises (Jiangjin, 2021 plan)",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(query_at_the_edge)],
        # Liandong's metrics are Prometheus (`/metrics`); it configures no OpenTelemetry
        # provider, and FastAPI would otherwise look for one on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    middleware.install(
        app,
        body_limit=settings.max_body_bytes if settings else 1_048_576,
        read_timeout=settings.request_read_timeout_seconds if settings else 10.0,
        # Evidence files stream past the JSON bodies' limit, up to their own (plus the
        # multipart envelope's few headers).
        streamed=dict.fromkeys(
            ("/evidence", "/app/evidence"),
            (settings.evidence_max_bytes if settings else 25 << 20) + 65_536,
        ),
    )
    if settings and settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        )
    routers = (
        health,
        meta,
        commands,
        enterprises,
        inbox,
        inbox_stream,
        subscriptions,
        patrols,
        supervision,
        audit,
        utilities,
        ledger,
        evidence,
        reports,
        documents,
    )
    for module in routers:
        app.include_router(module.router)
    for page in (pages, overview, web_ledger, dossier, web_orders, web_audit, acting, files):
        app.include_router(page.router)
    # The workbench's scripts and styles, from the package itself (the intranet has no CDN).
    app.mount("/app/static", StaticFiles(packages=[("api.web", "static")]), name="static")
    if services is not None:
        app.state.services = services  # usable without a lifespan (tests, schemathesis)
    install_openapi(app)
    return app


def install_openapi(app: FastAPI) -> None:
    """Problems are served as application/problem+json: say so in the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if errors.PROBLEM_JSON in content and "application/json" in content:
                            content[errors.PROBLEM_JSON] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_served_app() -> FastAPI:
    """The app of each process `liandong serve --processes N` starts: a process of its
    own, so it sets up its own logging (JSON lines, the access log among them)."""
    middleware.configure_json_logging()
    return create_app()
