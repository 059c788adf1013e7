"""Receipts from utilities become domain commands (DOMAIN.md section 8).

A receipt for an unknown order, for another utility's order, or a second execution
is refused by the domain and written with its reason to the dead-letter topic; a
redelivered receipt (same receipt id) records nothing. The consumer never crashes
on bad input and commits offsets only after handling.
"""

from __future__ import annotations

import threading

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from domain import commands as c
from domain.application import Liandong
from domain.values import Actor, Utility
from gateways.consumer_loop import ConsumerLoop, Poison
from gateways.kafka_access import Kafka, access
from gateways.orders import Forged, Receipt, verified_receipt
from gateways.signing import PublicKey, development_key
from gateways.topics import Topics, ensure_topics
from projections.workers import Beacon, supervise


def receipt_command(receipt: Receipt) -> c.OrderCommand:
    if receipt.status == "acknowledged":
        return c.AcknowledgeOrder(order_id=receipt.order_id, receipt_id=receipt.receipt_id)
    if receipt.status == "refused":
        if not receipt.reason:
            raise Poison(
                "invalid_input",
                "a refusal gives its reason",
                field="reason",
                rule="rule 5: refused with a reason",
            )
        return c.RefuseOrder(
            order_id=receipt.order_id, reason=receipt.reason, receipt_id=receipt.receipt_id
        )
    meter, reading, executed_at = receipt.meter, receipt.reading, receipt.executed_at
    if meter is None or reading is None or executed_at is None:
        missing = [f for f in ("meter", "reading", "executed_at") if getattr(receipt, f) is None]
        raise Poison(
            "invalid_input",
            f"an execution reports {', '.join(missing)}",
            field=missing[0],
            rule="rule 5: executed with meter, reading and time",
        )
    return c.ExecuteOrder(
        order_id=receipt.order_id,
        meter=meter,
        reading=reading,
        executed_at=executed_at,
        receipt_id=receipt.receipt_id,
    )


def apply_receipt(app: Liandong, receipt: Receipt) -> int:
    """Applies one receipt as the utility that sent it; returns the events recorded."""
    actor = Actor(unit=receipt.utility.value, person=receipt.person)
    return app.handle(actor, receipt_command(receipt)).events


class ReceiptGateway:
    def __init__(
        self,
        app: Liandong,
        bootstrap: Kafka,
        topics: Topics,
        group_id: str | None = None,
        beacon: Beacon | None = None,
        utility_keys: dict[str, list[PublicKey]] | None = None,
    ) -> None:
        self.app, self.bootstrap, self.topics = app, bootstrap, topics
        self.group_id = group_id or topics.receipts_group
        self.beacon = beacon or Beacon(None, "receipts")
        # Each utility's registered public keys: a receipt must be signed by the utility
        # it speaks for, or it is dead-lettered as forged.
        self.utility_keys = utility_keys or {
            u.value: [development_key(u.value).public()] for u in Utility
        }

    def handle(self, record: ConsumerRecord) -> None:
        try:
            receipt = verified_receipt(record.value, list(record.headers), self.utility_keys)
        except Forged as forged:
            raise Poison(
                "forged", str(forged), rule="receipts are signed by their utility"
            ) from None
        apply_receipt(self.app, receipt)

    def run(self, stop: threading.Event) -> None:
        """Consumes until `stop`; a broker or store outage is waited out (projections.workers)."""
        supervise(self.beacon, self._consume, stop)

    def _consume(self, stop: threading.Event) -> None:
        self.beacon.report("starting")
        ensure_topics(self.bootstrap, self.topics.all())
        consumer = KafkaConsumer(
            self.topics.receipts.name,
            **access(self.bootstrap).options(),
            group_id=self.group_id,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            # A receipt answers a waiting fetch at once; idle, it asks every five seconds.
            fetch_max_wait_ms=5000,
            client_id=self.group_id,
        )

        def dead_letters() -> KafkaProducer:
            return KafkaProducer(
                **access(self.bootstrap).options(),
                acks="all",
                client_id=f"{self.group_id}-dead-letters",
            )

        self.beacon.report("running")
        loop = ConsumerLoop(consumer, self.handle, dead_letters, self.topics.dead_letters.name)
        loop.run(stop, on_poll=lambda: self.beacon.report("running"))
