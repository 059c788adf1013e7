"""The reference client for utilities' IT staff: `liandong utility-agent --utility power`.

It consumes the utility's own order topic in a consumer group, checks each order's
signature, shows it, and (by prompt or automatically) acknowledges, executes or
refuses it by sending a receipt. The offset is committed only after the receipt is
acknowledged by the broker, so an order is never silently skipped.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, TextIO

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from domain.values import Utility
from gateways.kafka_access import Kafka, access
from gateways.orders import (
    Forged,
    OrderMessage,
    Receipt,
    receipt_envelope,
    verified_order,
)
from gateways.signing import PublicKey, SigningKey
from gateways.topics import Topics

Decision = Literal["acknowledge", "execute", "refuse", "skip", "quit"]
Decide = Callable[[OrderMessage], tuple[Decision, dict[str, object]]]


def describe(order: OrderMessage) -> str:
    verb = {"cut": "CUT", "limit": "LIMIT", "restore": "RESTORE"}[order.kind.value]
    lines = [
        f"{order.message.upper()}  {verb} {order.utility.value}  order {order.order_id}",
        f"  enterprise  {order.enterprise_name}  USCC {order.uscc or '-'}",
        f"  address     {order.address} ({order.town})  account {order.account or '-'}",
        f"  basis       {order.grounds.value}  {order.legal_basis}  文号 {order.document_number}",
        f"  requested   by {order.requested_by}, due {order.deadline.isoformat()}",
    ]
    if order.reason:
        lines.append(f"  reason      {order.reason}")
    return "\n".join(lines)


def prompt_decision(stdin: TextIO, stdout: TextIO) -> Decide:
    def decide(order: OrderMessage) -> tuple[Decision, dict[str, object]]:
        if order.message == "order_cancelled":
            stdout.write("(cancelled: nothing to do)\n")
            return "skip", {}
        stdout.write("[a]cknowledge, [e]xecute, [r]efuse, [s]kip, [q]uit? ")
        stdout.flush()
        answer = (stdin.readline().strip() or "s")[0].lower()
        if answer == "e":
            stdout.write("meter number: ")
            stdout.flush()
            meter = stdin.readline().strip() or (order.account or "")
            stdout.write("reading: ")
            stdout.flush()
            reading = float(stdin.readline().strip() or 0)
            return "execute", {"meter": meter, "reading": reading}
        if answer == "r":
            stdout.write("reason: ")
            stdout.flush()
            return "refuse", {"reason": stdin.readline().strip()}
        return {"a": "acknowledge", "q": "quit"}.get(answer, "skip"), {}  # type: ignore[return-value]

    return decide


def automatic(decision: Decision, meter: str | None, reading: float) -> Decide:
    def decide(order: OrderMessage) -> tuple[Decision, dict[str, object]]:
        if order.message == "order_cancelled":
            return "skip", {}
        if decision == "execute":
            return "execute", {"meter": meter or order.account or "unknown", "reading": reading}
        return decision, {}

    return decide


class UtilityAgent:
    def __init__(
        self,
        bootstrap: Kafka,
        topics: Topics,
        utility: Utility,
        district_keys: list[PublicKey],
        receipt_key: SigningKey,
        *,
        person: str | None = None,
        out: TextIO = sys.stdout,
        group_id: str | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.utility = bootstrap, topics, utility
        # Orders verify with the district's published keys; receipts are signed with
        # this utility's own key, whose public half the district has registered.
        self.district_keys, self.receipt_key = district_keys, receipt_key
        self.person, self.out = person, out
        self.consumer = KafkaConsumer(
            topics.orders(utility).name,
            **access(bootstrap).options(),
            group_id=group_id or f"utility-{utility.value}",
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        )
        self.producer = KafkaProducer(**access(bootstrap).options(), acks="all")

    def run(self, decide: Decide, stop: threading.Event, max_orders: int | None = None) -> int:
        """Handles orders until stopped, told to quit, or `max_orders` were handled."""
        handled = 0
        try:
            while not stop.is_set() and (max_orders is None or handled < max_orders):
                for records in self.consumer.poll(timeout_ms=500).values():
                    for record in records:
                        if self.handle(record, decide) == "quit":
                            return handled
                        handled += 1
                        if max_orders is not None and handled >= max_orders:
                            return handled
            return handled
        finally:
            self.consumer.close()
            self.producer.close(timeout=5)

    def handle(self, record: ConsumerRecord, decide: Decide) -> Decision:
        try:
            order = verified_order(record.value, list(record.headers), self.district_keys)
        except (Forged, ValueError) as bad:
            self.out.write(f"REJECTED message at offset {record.offset}: {bad}\n")
            self._commit(record)
            return "skip"
        if order.utility is not self.utility:
            self.out.write(f"REJECTED order for {order.utility.value} at offset {record.offset}\n")
            self._commit(record)
            return "skip"
        self.out.write(describe(order) + "\n")
        decision, details = decide(order)
        if decision == "quit":
            return decision
        if decision == "execute":
            # Received, then done: the district office sees both moments.
            self.send_receipt(order, "acknowledge", {})
        if decision != "skip":
            self.send_receipt(order, decision, details)
            self.out.write(f"  -> {decision} sent\n")
        self._commit(record)
        return decision

    def send_receipt(
        self, order: OrderMessage, decision: Decision, details: dict[str, object]
    ) -> None:
        status = {"acknowledge": "acknowledged", "execute": "executed", "refuse": "refused"}
        receipt = Receipt.model_validate(
            {
                "receipt_id": f"{self.utility.value}-{uuid.uuid4().hex}",
                "order_id": order.order_id,
                "utility": self.utility,
                "status": status[decision],
                "person": self.person,
                "executed_at": datetime.now(tz=UTC) if decision == "execute" else None,
                **details,
            }
        )
        topic = self.topics.receipts
        value, headers = receipt_envelope(receipt, topic.serialize(receipt), self.receipt_key)
        self.producer.send(
            topic.name, key=str(order.case_id).encode(), value=value, headers=headers
        ).get(timeout=30)

    def _commit(self, record: ConsumerRecord) -> None:
        partition = TopicPartition(record.topic, record.partition)
        self.consumer.commit({partition: OffsetAndMetadata(record.offset + 1, "", -1)})
