"""Truthful health: a stopped broker or store shows as down within seconds, never as ok."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from api.bootstrap import Services
from gateways.kafka_probe import broker_answers, secured_broker_answers

CHECK_TIMEOUT_SECONDS = 4.0
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


class Check(BaseModel):
    status: Literal["up", "down"]
    detail: str
    seconds: float


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, Check]


def _timed(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    started = time.monotonic()
    future = _pool.submit(probe)
    try:
        ok, detail = future.result(timeout=CHECK_TIMEOUT_SECONDS)
    except concurrent.futures.TimeoutError:
        ok, detail = False, f"{name} did not answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # a health check reports every failure, it never raises
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Check(
        status="up" if ok else "down", detail=detail, seconds=round(time.monotonic() - started, 3)
    )


def check_health(services: Services) -> Health:
    def kafka() -> tuple[bool, str]:
        kafka = services.settings.kafka()
        if kafka.plaintext:
            return broker_answers(kafka.bootstrap, timeout=2.0)
        return secured_broker_answers(kafka.bootstrap, kafka.uses_tls, kafka.ssl_cafile, 2.0)

    def event_store() -> tuple[bool, str]:
        count = services.app.event_count()
        return True, f"{count} events recorded"

    checks = {"kafka": _timed("kafka", kafka), "event_store": _timed("event store", event_store)}
    status: Literal["ok", "degraded"] = (
        "ok" if all(c.status == "up" for c in checks.values()) else "degraded"
    )
    return Health(status=status, checks=checks)
