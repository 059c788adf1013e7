"""The relay: every stored event onto Kafka, once and in order.

It reads the event store's notification log in order and publishes each event to
the events topic (keyed by case, so one case stays on one partition, in order),
and utility orders to their utility's topic. Each batch is one Kafka transaction
that also writes the relay's new position to a compacted topic; a crash at any
instant therefore leaves either the whole batch and its position, or neither, for
`read_committed` consumers. On start the transactional producer fences and aborts
any previous instance, then the relay resumes from the last committed position.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from prometheus_client import Counter, Gauge

from domain.application import Liandong
from domain.values import Utility
from gateways.doorbell import Doorbell
from gateways.envelope import wrap_state
from gateways.kafka_access import Kafka, access
from gateways.orders import OrderMessage, order_envelope
from gateways.relay_lock import relay_lock
from gateways.relay_position import (
    POSITION_KEY,
    RelayPosition,
    fence,
    read_committed_position,
    read_relay_position,
)
from gateways.signing import SigningKey, development_key
from gateways.topics import Topics, ensure_topics
from projections.workers import Beacon, describe, is_transient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayMetrics:
    """Registered only in a process that runs a relay: elsewhere (an API process whose
    relay runs on its own) a lag of 0 would be a lie; /metrics there reads the relay's
    heartbeat instead (api.routers.meta)."""

    stored: Gauge
    published: Gauge
    lag: Gauge
    relayed: Counter
    failures: Counter


@functools.cache
def relay_metrics() -> RelayMetrics:
    return RelayMetrics(
        Gauge("liandong_relay_stored_position", "newest event position in the event store"),
        Gauge("liandong_relay_published_position", "newest position committed to Kafka"),
        Gauge("liandong_relay_lag_events", "events stored but not yet committed to Kafka"),
        Counter("liandong_relay_events_total", "events committed to Kafka by the relay"),
        Counter("liandong_relay_failures_total", "relay batches that failed and were retried"),
    )


ORDER_EVENTS = ("UtilityOrderIssued", "UtilityOrderCancelled")


STANDBY_POLL_SECONDS = 1.0
# The longest the relay waits for its sends to be written, or for the broker to confirm
# a commit, before it starts again on a fresh producer (a broker or the transaction
# coordinator died); a third of the transaction timeout (kafka-python's 60 s default).
TRANSACTION_WAIT_SECONDS = 20


class RelayMismatchError(RuntimeError):
    """The topics already hold more than this event store: another store's topics."""


class RelayStandby(Exception):
    """Another relay is active on this event store; this one waits to take over."""


class LockLost(Exception):
    """The relay lock's connection died: another relay may already have taken over."""


class EventRelay:
    def __init__(
        self,
        app: Liandong,
        bootstrap: Kafka,
        topics: Topics,
        *,
        signing_key: SigningKey | None = None,
        transactional_id: str = "liandong-relay",
        batch_size: int = 500,
        poll_seconds: float = 0.02,
        idle_seconds: float = 1.0,
        beacon: Beacon | None = None,
    ) -> None:
        self.app = app
        self.bootstrap = bootstrap
        self.topics = topics
        # The district's key: every utility verifies its orders with the public half.
        self.signing_key = signing_key or development_key("district")
        self.transactional_id = transactional_id
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.doorbell = Doorbell(poll_seconds, idle_seconds)
        app.on_recorded.append(self.doorbell.ring)
        self.position = 0
        self._producer: KafkaProducer | None = None
        self.lock = relay_lock(app.env, app.recorder)
        self.beacon = beacon or Beacon(None, "relay")
        # A relay waiting for the lock reports apart, so the active relay's row stays true.
        self.standby_beacon = Beacon(self.beacon.view_store, f"{self.beacon.worker}:standby")
        self.metrics = relay_metrics()
        self.standing_by = False
        self.last_error: str | None = None

    # ------------------------------------------------------------ lifecycle

    def connect(self) -> None:
        """Creates topics, fences any previous relay, and reads the committed position.
        Raises RelayStandby while another relay holds this event store's relay lock."""
        if not self.lock.try_acquire():
            raise RelayStandby(
                f"another relay is active on this event store ({self.lock.description}); "
                "this one stands by and takes over when it stops"
            )
        ensure_topics(self.bootstrap, self.topics.all())
        self._fence_previous_relay()
        self._producer = KafkaProducer(
            **access(self.bootstrap).options(),
            transactional_id=self.transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_block_ms=30_000,
            client_id=self.transactional_id,
        )
        self._producer.init_transactions()
        self.position = read_committed_position(self.bootstrap, self.topics)
        stored = self.app.recorder.max_notification_id() or 0
        if self.position > stored:
            self.close()
            raise RelayMismatchError(
                f"the topics under prefix {self.topics.prefix!r} were written up to position "
                f"{self.position}, but this event store holds only {stored} events: they "
                "belong to another event store. Give each deployment its own "
                "LIANDONG_TOPIC_PREFIX (and LIANDONG_RELAY_TRANSACTIONAL_ID)."
            )
        self._claim(self._producer)
        self.metrics.published.set(self.position)
        log.info("relay %s resumes after position %d", self.transactional_id, self.position)

    def _fence_previous_relay(self) -> None:
        """A relay with another transactional id may have died in a transaction: fence it,
        so the broker aborts that transaction now rather than when it times out."""
        previous = read_relay_position(self.bootstrap, self.topics).relay
        if previous is None or previous == self.transactional_id:
            return  # our own init_transactions fences our own id
        try:
            fence(self.bootstrap, previous)
        except Exception as exc:  # e.g. ACLs that grant this relay only its own id
            log.warning(
                "could not fence the previous relay %s (%s): a transaction it left open "
                "holds back read_committed readers until the broker times it out",
                previous,
                describe(exc),
            )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
        self.lock.release()

    def run(self, stop: threading.Event) -> None:
        """Relays until `stop` is set; a failed batch is retried on a fresh producer, after
        re-reading the committed position (the commit may have succeeded before the error).
        While another relay is active on the same event store, this one stands by."""
        backoff = 0.5
        self.doorbell.listen_to(self.app.recorder, stop)
        while not stop.is_set():
            try:
                if self._producer is None:
                    self.connect()
                    if self.standing_by:
                        self.standby_beacon.report("stopped")  # it is the active one now
                    self.standing_by = False
                if self.relay_batch() == 0:
                    self.doorbell.wait()
                else:
                    self.doorbell.busy()
                backoff = 0.5
            except RelayStandby as exc:
                if not self.standing_by:
                    log.warning("%s", exc)
                    self.standing_by = True
                self.standby_beacon.report("standby", error=str(exc))
                stop.wait(STANDBY_POLL_SECONDS)
            except Exception as exc:
                self.last_error = describe(exc)
                if not (is_transient(exc) or isinstance(exc, LockLost)):
                    # Another store's topics, a bug: retrying cannot help. Say so and stop.
                    self.beacon.report("failed", position=self.position, error=self.last_error)
                    self.close()
                    raise
                self.metrics.failures.inc()
                self.beacon.report("retrying", position=self.position, error=self.last_error)
                log.warning("relay batch failed (%s); reconnecting in %.1f s", exc, backoff)
                self._discard_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.beacon.report("stopped", position=self.position)
        self.close()

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:
                log.debug("closing a failed producer raised", exc_info=True)

    # ------------------------------------------------------------ one batch

    def relay_batch(self) -> int:
        """Publishes the next batch of stored events in one transaction; returns its size."""
        assert self._producer is not None
        stored = self.app.recorder.max_notification_id() or 0
        self.metrics.stored.set(stored)
        self.metrics.lag.set(max(stored - self.position, 0))
        self.beacon.report("running", position=self.position, lag=max(stored - self.position, 0))
        if stored <= self.position:
            return 0
        notifications = self.app.recorder.select_notifications(
            start=self.position + 1, limit=self.batch_size
        )
        if not notifications:
            return 0
        if not self.lock.still_held():
            raise LockLost(f"the relay lock was lost ({self.lock.description})")
        producer = self._producer
        producer.begin_transaction()
        previous = self.position
        sent: list[Any] = []
        try:
            for notification in notifications:
                sent += self._publish(producer, notification, previous)
                previous = notification.id
            last = notifications[-1].id
            sent.append(self._send_position(producer, last))
        except BaseException:
            self._abort(producer)
            raise
        self._commit(producer, sent)
        self.position = last
        self.metrics.published.set(last)
        self.metrics.lag.set(max(stored - last, 0))
        self.metrics.relayed.inc(len(notifications))
        return len(notifications)

    def _claim(self, producer: KafkaProducer) -> None:
        """Commits the position as it stands under this relay's id, before any batch: if
        this relay dies in its first batch, the next one still learns whom to fence."""
        producer.begin_transaction()
        try:
            sent = [self._send_position(producer, self.position)]
        except BaseException:
            self._abort(producer)
            raise
        self._commit(producer, sent)

    def _send_position(self, producer: KafkaProducer, position: int) -> Any:
        """The transaction's last record: how far it publishes, and which relay wrote it
        (the next relay fences that id if it is not its own)."""
        record = RelayPosition(position, self.transactional_id)
        return producer.send(
            self.topics.relay_position.name, key=POSITION_KEY, value=record.encode()
        )

    def _commit(self, producer: KafkaProducer, sent: list[Any]) -> None:
        """Commits the open transaction once every send in it is written."""
        try:
            # Every send must have been written before the commit: kafka-python can drop a
            # failed batch, bump its epoch and go on, and committing then would publish the
            # position without the events it covers (events lost for good).
            producer.flush(timeout=TRANSACTION_WAIT_SECONDS)
            for future in sent:
                future.get(timeout=0)
        except BaseException:
            self._abort(producer)
            raise
        # A commit not confirmed in time raises, and the relay starts again on a fresh
        # producer: its init_transactions waits for this transaction to end either way,
        # then the committed position says whether the batch is published.
        finished(producer, producer._transaction_manager.begin_commit(), "commit")

    @staticmethod
    def _abort(producer: KafkaProducer) -> None:
        try:
            finished(producer, producer._transaction_manager.begin_abort(), "abort")
        except Exception:  # fenced or disconnected: the broker aborts it on its own
            log.debug("aborting the relay's transaction raised", exc_info=True)

    def _publish(
        self, producer: KafkaProducer, notification: Notification, previous: int
    ) -> list[Any]:
        """Sends one event (and its utility order); returns the sends' futures."""
        state = self.app.decode_state(notification.state)
        state = {
            "originator_id": str(notification.originator_id),
            "originator_version": notification.originator_version,
            **state,
        }
        class_name = notification.topic.rpartition(":")[2]
        envelope = wrap_state(class_name, state, notification.id, previous)
        futures = [
            producer.send(
                self.topics.events.name,
                key=envelope.key,
                value=envelope.value,
                headers=envelope.headers,
            )
        ]
        if class_name in ORDER_EVENTS:
            futures.append(self._publish_order(producer, class_name, state, notification.id))
        return futures

    def _publish_order(
        self, producer: KafkaProducer, class_name: str, state: dict[str, Any], position: int
    ) -> Any:
        case_id = UUID(state["originator_id"])
        if class_name == "UtilityOrderIssued":
            from domain.records import OrderRecord

            order = OrderRecord.model_validate(state["order"])
            message = OrderMessage.issued(order, case_id, state.get("legal_basis", ""), position)
        else:
            order = self.app.get_case(case_id).orders[state["order_id"]]
            message = OrderMessage.cancelled(order, case_id, state["reason"], position)
        topic = self.topics.orders(Utility(order.utility))
        value, headers = order_envelope(message, topic.serialize(message), self.signing_key)
        return producer.send(topic.name, key=str(case_id).encode(), value=value, headers=headers)


def finished(producer: KafkaProducer, result: Any, what: str) -> None:
    """Waits for a transaction's commit or abort at most TRANSACTION_WAIT_SECONDS.

    kafka-python's commit_transaction and abort_transaction (3.0) wait without a limit,
    and after a broker is killed that wait was seen to last minutes; this is their body
    with a bounded wait."""
    producer._sender.wakeup()
    if not result.wait(timeout_ms=TRANSACTION_WAIT_SECONDS * 1000):
        raise KafkaTimeoutError(
            f"the relay's transaction {what} was not confirmed within {TRANSACTION_WAIT_SECONDS} s"
        )
