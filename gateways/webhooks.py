"""The delivering half of `liandong notify`: posts the outbox the notify projection fills
(projections/notify.py) to each subscriber's endpoint.

- Each delivery is a CloudEvent in HTTP binary mode (`ce-*` headers, the JSON item as
  the body), signed with Standard Webhooks `v1a` headers (gateways/webhook_signing.py).
- At least once: a delivery is marked delivered only after a 2xx; a process killed in
  between sends it again, with the same `webhook-id`.
- In order per case and subscription: one lane per subscription posts its deliveries one
  at a time, by position; a case whose delivery failed waits for its retry before any
  later delivery of that case goes out, while the subscription's other cases go on.
- Retried with exponential backoff and jitter; after `max_attempts` failures a delivery is
  dead-lettered (state `dead`), shown at GET /subscriptions/{id}/deliveries and replayable.
- One slow or dead endpoint delays no one else: lanes run side by side, each request has
  a timeout, and a lane is owned by one notify process at a time (a lease in the view
  store), so two copies share the work without sending in parallel to one endpoint.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from prometheus_client import Counter, Histogram

from domain.subscriptions import address_problem
from gateways.doorbell import Doorbell
from gateways.signing import SigningKey
from gateways.webhook_signing import sign_headers
from projections.db import Database, parse_utc, utc_text
from projections.notify import DELIVERIES, DELIVERY_CHANNEL, NotifyProjection
from projections.workers import Beacon, supervise

log = logging.getLogger(__name__)
LANES = """CREATE TABLE IF NOT EXISTS notify_lanes (
    subscription_id TEXT PRIMARY KEY, owner TEXT NOT NULL, lease_until TEXT NOT NULL)"""
_METRICS: dict[str, Any] = {}
IDLE_POLL_SECONDS = 0.05  # how soon an idle process looks again at first
# The longest it waits between looks at an empty outbox: deliveries written in this
# process, or on PostgreSQL in any, ring its doorbell at once; a retry comes due within
# this much of its time.
IDLE_SECONDS = 1.0
FLUSH_EVERY = 20  # a lane records its outcomes at least every this many posts...
FLUSH_SECONDS = 0.5  # ...or this often (a crash re-sends at most that much)


def metrics() -> dict[str, Any]:
    if not _METRICS:
        _METRICS["deliveries"] = Counter(
            "liandong_webhook_deliveries_total",
            "webhook delivery attempts, by outcome (sent, retried, dead_lettered)",
            ["outcome"],
        )
        _METRICS["latency"] = Histogram(
            "liandong_webhook_latency_seconds",
            "from the event that changed an inbox to its webhook's 2xx",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )
    return _METRICS


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter: attempt n waits between half and all of
    min(cap, base·2^(n-1)), so retries of many deliveries do not arrive together."""

    base_seconds: float = 1.0
    cap_seconds: float = 600.0
    max_attempts: int = 8

    def delay(self, attempts: int, rng: random.Random) -> float:
        full = min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempts - 1, 0))
        return full / 2 + rng.uniform(0, full / 2)


@dataclass(frozen=True)
class Delivery:
    subscription_id: str
    message_id: str
    case_id: str
    attributes: dict[str, Any]
    body: bytes
    attempts: int
    next_attempt_at: str


@dataclass(frozen=True)
class Lane:
    subscription_id: str
    url: str
    deliveries: list[Delivery]


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    status: int | None
    error: str | None  # None: delivered
    at: datetime


class EndpointRefused(Exception):
    """The endpoint's host resolves to an address Liandong must not post to."""


class Webhooks:
    def __init__(
        self,
        db: Database,
        key: SigningKey,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        allow_private: bool = False,
        lanes: int = 32,
        lease_seconds: float = 30.0,
        batch: int = 50,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        beacon: Beacon | None = None,
    ) -> None:
        self.db, self.key = db, key
        self.backoff = backoff or Backoff()
        self.allow_private = allow_private
        self.lease = timedelta(seconds=lease_seconds)
        self.batch, self.clock = batch, clock
        self.owner = f"{socket.gethostname()}/{uuid.uuid4().hex[:12]}"
        self.beacon = beacon or Beacon(None, "webhooks")
        self._lanes = lanes
        self._held: dict[str, float] = {}  # lanes whose lease we hold: when to renew it
        self._rng = random.Random()
        self._subscriptions = NotifyProjection().t("subscriptions")
        # Rung by the notify projection in this process; on PostgreSQL by any process.
        self.doorbell = Doorbell(
            IDLE_POLL_SECONDS, min(IDLE_SECONDS, max(self.backoff.base_seconds, IDLE_POLL_SECONDS))
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=lanes * 2, max_keepalive_connections=lanes),
            follow_redirects=False,
            trust_env=False,
        )
        with db.transaction() as tx:
            tx.execute(LANES)

    # ------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        supervise(self.beacon, self._loop, stop)

    def _loop(self, stop: threading.Event) -> None:
        channel = self.db.channel(DELIVERY_CHANNEL)
        if channel is not None:
            self.doorbell.listen(*channel, stop)
        in_flight: dict[str, Future[int]] = {}
        report_at = 0.0
        with ThreadPoolExecutor(self._lanes, thread_name_prefix="webhook-lane") as pool:
            try:
                while not stop.is_set():
                    for sid in [s for s, f in in_flight.items() if f.done()]:
                        in_flight.pop(sid).result()  # a lane's database error ends the loop
                    started = 0
                    for lane in self.lanes_due(exclude=set(in_flight)):
                        in_flight[lane.subscription_id] = pool.submit(self.deliver_lane, lane)
                        started += 1
                    if time.monotonic() >= report_at:  # the count is not free: once a second
                        self.beacon.report("running", lag=self.pending())
                        report_at = time.monotonic() + 1.0
                    if started or in_flight:
                        stop.wait(0.02)
                    else:
                        self.doorbell.wait()
            finally:
                for future in in_flight.values():
                    future.cancel()  # lanes already posting finish their current request
        self._release()

    def _release(self) -> None:
        """Gives up this process's lanes on a clean stop, so that another (or this one,
        restarted) takes them over at once instead of after the lease."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM notify_lanes WHERE owner = ?", (self.owner,))
        self._held.clear()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ choosing work

    def pending(self) -> int:
        rows = self.db.query(f"SELECT count(*) FROM {DELIVERIES} WHERE state = 'pending'")
        return int(rows[0][0])

    def lanes_due(self, exclude: set[str] | None = None) -> list[Lane]:
        """The lanes with a delivery due now that this process could claim, each with the
        deliveries it may send, in order."""
        now = utc_text(self.clock())
        rows = self.db.query(
            f"SELECT DISTINCT d.subscription_id, s.url FROM {DELIVERIES} d "
            f"JOIN {self._subscriptions} s ON s.subscription_id = d.subscription_id "
            "WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.state = 'active'",
            (now,),
        )
        lanes = []
        for subscription_id, url in rows:
            if subscription_id in (exclude or ()) or not self._claim(subscription_id):
                continue
            deliveries = self._deliverable(subscription_id)
            if deliveries:
                lanes.append(Lane(subscription_id, url, deliveries))
        return lanes

    def _claim(self, subscription_id: str) -> bool:
        """Holds the lane's lease: renews it in the store once half of it has passed
        (not at every request); False when another process holds it."""
        renew_at = self._held.get(subscription_id)
        if renew_at is not None and time.monotonic() < renew_at:
            return True
        now = self.clock()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO notify_lanes (subscription_id, owner, lease_until) VALUES (?, ?, ?) "
                "ON CONFLICT (subscription_id) DO UPDATE SET owner = excluded.owner, "
                "lease_until = excluded.lease_until "
                "WHERE notify_lanes.owner = excluded.owner OR notify_lanes.lease_until < ?",
                (subscription_id, self.owner, utc_text(now + self.lease), utc_text(now)),
            )
            row = tx.execute(
                "SELECT owner FROM notify_lanes WHERE subscription_id = ?", (subscription_id,)
            ).fetchone()
        if row is None or row[0] != self.owner:
            self._held.pop(subscription_id, None)
            return False
        self._held[subscription_id] = time.monotonic() + self.lease.total_seconds() / 2
        return True

    def _deliverable(self, subscription_id: str) -> list[Delivery]:
        """The lane's next deliveries: by position, skipping every case whose earliest
        pending delivery is not due yet (so no later item of it overtakes it)."""
        now = utc_text(self.clock())
        rows = self.db.query(
            f"SELECT message_id, case_id, attributes, body, attempts, next_attempt_at "
            f"FROM {DELIVERIES} WHERE subscription_id = ? AND state = 'pending' "
            "ORDER BY position, message_id LIMIT ?",
            (subscription_id, self.batch * 10),
        )
        waiting: set[str] = set()
        chosen: list[Delivery] = []
        for message_id, case_id, attributes, body, attempts, next_at in rows:
            if case_id in waiting:
                continue
            if str(next_at) > str(now):
                waiting.add(case_id)
                continue
            chosen.append(
                Delivery(
                    subscription_id,
                    message_id,
                    case_id,
                    orjson.loads(attributes),
                    str(body).encode(),
                    int(attempts),
                    str(next_at),
                )
            )
            if len(chosen) >= self.batch:
                break
        return chosen

    # ------------------------------------------------------------ delivering

    def deliver_lane(self, lane: Lane) -> int:
        """Posts a lane's deliveries one at a time; returns how many were delivered.
        Outcomes are recorded in batches (every FLUSH_EVERY posts or FLUSH_SECONDS), and
        always before the lane is given up: a delivery is marked delivered only after its
        2xx, so a crash in between sends it again (at least once)."""
        delivered = 0
        failed_cases: set[str] = set()
        outcomes: list[Outcome] = []
        flushed_at = time.monotonic()
        try:
            for delivery in lane.deliveries:
                if delivery.case_id in failed_cases:
                    continue  # its case waits for the failed one's retry
                if not self._claim(lane.subscription_id):
                    break  # the lease went to another process (this one was too slow)
                status, error = self._post(lane.url, delivery)
                ok = status is not None and 200 <= status < 300
                outcomes.append(Outcome(delivery, status, None if ok else error, self.clock()))
                if ok:
                    delivered += 1
                else:
                    failed_cases.add(delivery.case_id)
                if len(outcomes) >= FLUSH_EVERY or time.monotonic() - flushed_at > FLUSH_SECONDS:
                    self._record(outcomes)
                    outcomes, flushed_at = [], time.monotonic()
        finally:
            self._record(outcomes)
        return delivered

    def _post(self, url: str, delivery: Delivery) -> tuple[int | None, str | None]:
        try:
            if not self.allow_private:
                self._require_public(url)
            headers = {
                **{
                    f"ce-{k}": str(v)
                    for k, v in delivery.attributes.items()
                    if k != "datacontenttype"
                },
                "content-type": "application/json",
                "user-agent": "liandong-notify/1",
                **sign_headers(self.key, delivery.message_id, delivery.body),
            }
            response = self._http.post(url, content=delivery.body, headers=headers)
        except (httpx.HTTPError, EndpointRefused, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"

    @staticmethod
    def _require_public(url: str) -> None:
        """Refuses a host that resolves to this machine or a private network (a name
        that passed the check at subscription time may point there since)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            problem = address_problem(ipaddress.ip_address(sockaddr[0]))
            if problem:
                raise EndpointRefused(f"{host} resolves to {problem}")

    def _record(self, outcomes: list[Outcome]) -> None:
        """Writes the outcomes of some posts in one transaction: delivered, to be retried
        after a backoff, or dead-lettered after the last attempt."""
        if not outcomes:
            return
        rows = []
        m = metrics()
        for o in outcomes:
            attempts = o.delivery.attempts + 1
            if o.error is None:
                state, retry_at = "delivered", o.at
                m["deliveries"].labels("sent").inc()
                since_event = o.at - parse_utc(o.delivery.attributes["time"])
                m["latency"].observe(max(0.0, since_event.total_seconds()))
            else:
                dead = attempts >= self.backoff.max_attempts
                state = "dead" if dead else "pending"
                retry_at = o.at + timedelta(seconds=self.backoff.delay(attempts, self._rng))
                m["deliveries"].labels("dead_lettered" if dead else "retried").inc()
                log.info(
                    "webhook %s to subscription %s failed (attempt %d%s): %s",
                    o.delivery.message_id,
                    o.delivery.subscription_id,
                    attempts,
                    ", dead-lettered" if dead else "",
                    o.error,
                )
            rows.append(
                (
                    state,
                    attempts,
                    utc_text(retry_at),
                    o.status,
                    o.error,
                    utc_text(o.at) if o.error is None else None,
                    o.delivery.subscription_id,
                    o.delivery.message_id,
                )
            )
        with self.db.transaction() as tx:
            tx.executemany(
                f"UPDATE {DELIVERIES} SET state = ?, attempts = ?, next_attempt_at = ?, "
                "last_status = ?, last_error = ?, delivered_at = ? "
                "WHERE subscription_id = ? AND message_id = ? AND state = 'pending'",
                rows,
            )


def replay(db: Database, subscription_id: str, message_id: str | None, now: datetime) -> int:
    """Puts dead-lettered deliveries of a subscription (or one of them) back in its lane,
    to be tried afresh; returns how many."""
    where, params = "subscription_id = ? AND state = 'dead'", [subscription_id]
    if message_id is not None:
        where += " AND message_id = ?"
        params.append(message_id)
    with db.transaction() as tx:
        tx.execute(
            f"UPDATE {DELIVERIES} SET state = 'pending', attempts = 0, next_attempt_at = ? "
            f"WHERE {where}",
            (utc_text(now), *params),
        )
        return tx.rowcount
