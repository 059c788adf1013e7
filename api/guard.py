"""Abuse resistance at the door: failed authentication is slowed per client address and
per key id (the `limits` package's moving windows), and every refusal is counted and
logged with its reason and the unit the presented key belonged to, if any."""

from __future__ import annotations

import logging

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

log = logging.getLogger("liandong.auth")
REFUSED = Counter("liandong_auth_refused_total", "requests refused at authentication", ["reason"])
# Ten failures a minute from one address, or against one key id, then 429 until the
# window moves on. A clerk who mistypes a key is not slowed; a guesser is.
FAILURES_PER_MINUTE = RateLimitItemPerMinute(10)


class FailedAuthentication:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def blocked(self, address: str, key_id: str | None) -> bool:
        """True while this address or key id has used up its failures."""
        return any(
            not self._limiter.test(FAILURES_PER_MINUTE, kind, who)
            for kind, who in (("address", address), ("key", key_id))
            if who
        )

    def record(self, address: str, key_id: str | None, reason: str, unit: str | None) -> None:
        REFUSED.labels(reason).inc()
        log.warning(
            "authentication refused",
            extra={
                "fields": {"reason": reason, "address": address, "key_id": key_id, "unit": unit}
            },
        )
        for kind, who in (("address", address), ("key", key_id)):
            if who:
                self._limiter.hit(FAILURES_PER_MINUTE, kind, who)
