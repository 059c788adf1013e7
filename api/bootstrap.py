"""The composition root: the one place that wires adapters to the domain."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from api.guard import FailedAuthentication
from api.idempotency import IdempotencyStore
from api.keys import KeyStore
from api.settings import Settings
from api.web.sessions import SessionStore
from domain.application import Clock, Liandong, utc_now
from domain.units import UnitsRegistry, default_registry
from gateways.evidence_store import EvidenceStore, open_store
from gateways.receipts import ReceiptGateway
from gateways.relay import EventRelay
from gateways.reminders import Reminders
from gateways.topics import Topics
from gateways.webhooks import Backoff, Webhooks
from projections.audit import AuditProjection
from projections.db import Database
from projections.notify import NotifyProjection
from projections.runner import Projection, ProjectionRunner, setup
from projections.status import StatusProjection
from projections.workers import Beacon, create_worker_status

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    app: Liandong
    _views: Database | None = None

    @property
    def db(self) -> Database:
        """The API's connection to the read models (keys and idempotency live there too)."""
        if self._views is None:
            self._views = Database(self.settings.view_store)
            # The views exist (empty) before any projection has run, so queries answer.
            for projection in self.projections().values():
                setup(self._views, projection)
            with self._views.transaction() as tx:
                create_worker_status(self._views, tx)  # heartbeats /health and /metrics read
        return self._views

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.db, self.app)

    @cached_property
    def auth_failures(self) -> FailedAuthentication:
        return FailedAuthentication()

    @cached_property
    def web_sessions(self) -> SessionStore:
        """The workbench's sign-in sessions (in the view store, beside the keys)."""
        return SessionStore(self.db)

    @cached_property
    def evidence(self) -> EvidenceStore:
        """Where evidence files are kept (a directory, or an S3-compatible object store)."""
        s = self.settings
        secret = s.evidence_s3_secret_access_key
        store: EvidenceStore = open_store(
            s.evidence_store,
            endpoint=s.evidence_s3_endpoint,
            region=s.evidence_s3_region,
            credentials=(s.evidence_s3_access_key_id, secret.get_secret_value())
            if s.evidence_s3_access_key_id and secret
            else None,
        )
        return store

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.db)

    @cached_property
    def command_threads(self) -> ThreadPoolExecutor:
        """The threads the API carries out commands on that touch only the event store
        (`api.direct_commands`). One on SQLite, which has one writer anyway: with two,
        a command cost 1.46 ms of CPU against 1.07 ms with one, the threads contending
        for the GIL and the write lock. Elsewhere `api_threads`, whose round trips
        overlap."""
        sqlite = self.settings.event_store.startswith("sqlite")
        threads = 1 if sqlite else self.settings.api_threads
        return ThreadPoolExecutor(threads, thread_name_prefix="commands")

    @property
    def topics(self) -> Topics:
        return Topics(
            prefix=self.settings.topic_prefix, event_partitions=self.settings.event_partitions
        )

    def relay(self) -> EventRelay:
        return EventRelay(
            self.app,
            self.settings.kafka(),
            self.topics,
            signing_key=self.settings.district_key(),
            transactional_id=self.settings.relay_transactional_id,
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
            idle_seconds=self.settings.relay_idle_seconds,
            beacon=self.beacon("relay"),
        )

    def beacon(self, worker: str, *, member: bool = False) -> Beacon:
        """Where a worker of this deployment tells /health how it fares; `member`: one of
        several processes of a consumer group, each with a row of its own."""
        return Beacon(self.settings.view_store, worker, member=member)

    def receipt_gateway(self, group_id: str | None = None) -> ReceiptGateway:
        return ReceiptGateway(
            self.app,
            self.settings.kafka(),
            self.topics,
            group_id,
            # Any number of receipts processes may share the group's partitions.
            self.beacon("receipts", member=True),
            self.settings.utility_public_keys(),
        )

    def reminders(self) -> Reminders:
        return Reminders(
            self.app,
            self.views(),
            interval_seconds=self.settings.reminders_interval_seconds,
            beacon=self.beacon("reminders"),
        )

    def views(self) -> Database:
        """A connection to the read models' database (one per thread that uses it)."""
        return Database(self.settings.view_store)

    def projections(self) -> dict[str, Projection]:
        """Every projection of the events topic: the views, and the notify gateway's outbox."""
        return {
            "status": StatusProjection(),
            "audit": AuditProjection(),
            "notify": NotifyProjection(),
        }

    def webhooks(self, member: bool = False) -> Webhooks:
        s = self.settings
        return Webhooks(
            self.views(),
            s.webhook_key(),
            backoff=Backoff(
                s.webhook_backoff_base_seconds,
                s.webhook_backoff_cap_seconds,
                s.webhook_max_attempts,
            ),
            timeout_s=s.webhook_timeout_seconds,
            allow_private=s.webhook_allow_private,
            lanes=s.webhook_lanes,
            lease_seconds=s.webhook_lease_seconds,
            beacon=self.beacon("webhooks", member=member),
        )

    def notify(self, in_group: bool = False) -> list[tuple[str, Callable[[threading.Event], None]]]:
        """`liandong notify`: the outbox projection and the webhooks that post it."""
        webhooks, outbox = self.webhooks(in_group), self.projection_runner("notify", in_group)
        outbox.on_applied = webhooks.doorbell.ring  # a new delivery is posted at once
        return [("projection:notify", outbox.run), ("webhooks", webhooks.run)]

    def projection_runner(self, name: str, in_group: bool = False) -> ProjectionRunner:
        """`in_group`: one of several processes sharing out the partitions (not audit)."""
        return ProjectionRunner(
            self.projections()[name],
            self.views(),
            self.settings.kafka(),
            self.topics.events.name,
            feed_backlog=self.settings.projection_feed_backlog,
            batch_records=self.settings.projection_batch_records,
            beacon=self.beacon(f"projection:{name}", member=in_group),
            in_group=in_group,
        )

    def close(self) -> None:
        if "command_threads" in self.__dict__:  # made on the first command
            self.command_threads.shutdown(wait=True)
        self.app.close()
        if self._views is not None:
            self._views.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now) -> Services:
    settings = settings or Settings()
    units = (
        UnitsRegistry.from_file(settings.units_file) if settings.units_file else default_registry()
    )

    def open_app() -> Liandong:
        app = Liandong(
            env=settings.event_store_env(),
            units=units,
            clock=clock,
            follow_up_check=timedelta(days=settings.follow_up_check_days),
            remind_before=timedelta(days=settings.remind_before_days),
        )
        try:
            app.record_registry()  # the registry this process enforces, on the audit trail
        except BaseException:
            app.close()
            raise
        return app

    app = while_store_busy(open_app)
    services = Services(settings=settings, app=app)
    app.evidence_held = lambda sha256: services.evidence.has(sha256)
    return services


STARTUP_PATIENCE_SECONDS = 60.0


def while_store_busy(open_app: Callable[[], Liandong]) -> Liandong:
    """Opens the event store, waiting while a SQLite file is locked by another process.

    Each operation waits 5 s for SQLite's lock, and a command that waits longer fails with
    503. A process starting must wait longer: processes started together race to make a
    new file's tables and journal mode, and a long import may hold the lock. Without this
    a worker died at startup ("database is locked", seen when three projection processes
    started at once); a supervisor would restart it, but nothing needs to fail."""
    deadline = time.monotonic() + STARTUP_PATIENCE_SECONDS
    while True:
        try:
            return open_app()
        except Exception as exc:
            locked = "database is locked" in str(exc) or "database is busy" in str(exc)
            if not locked or time.monotonic() > deadline:
                raise
            log.warning("the event store is locked by another process; waiting: %s", exc)
            time.sleep(0.5)
