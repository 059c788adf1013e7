"""Utilities receive their orders from their own topic and report back."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import pytest
from kafka import KafkaProducer

from domain.values import OrderStatus, SupplyState, Utility
from gateways.agent import UtilityAgent, automatic
from gateways.orders import RECEIPT_TYPE, OrderMessage, order_envelope, signed_envelope
from gateways.receipts import ReceiptGateway
from gateways.signing import development_key
from tests.gateways.conftest import SIGNING_KEY, Relayed
from tests.gateways.kafka_reading import read_topic

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def receipts(relayed: Relayed) -> Iterator[ReceiptGateway]:
    gateway = ReceiptGateway(
        relayed.app, relayed.bootstrap, relayed.topics, group_id=f"receipts-{relayed.topics.prefix}"
    )
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,), daemon=True)
    thread.start()
    yield gateway
    stop.set()
    thread.join(timeout=15)


def power_cut(r: Relayed) -> str:
    s = r.scenario
    case_id = s.list(connections=(Utility.POWER, Utility.WATER))
    s.classify(case_id, "close")
    s.request_order(case_id, Utility.POWER, "economy", document_number="停电2号")
    return s.order_of(case_id, Utility.POWER)


def wait_for(predicate: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_the_reference_agent_acknowledges_and_executes_a_power_cut(
    relayed: Relayed, receipts: ReceiptGateway
) -> None:
    order_id = power_cut(relayed)
    case_id = UUID(order_id.split("/")[0])
    env = {
        **os.environ,
        "LIANDONG_KAFKA_BOOTSTRAP": relayed.bootstrap,
        "LIANDONG_TOPIC_PREFIX": relayed.topics.prefix,
    }
    agent = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "utility-agent",
            "--utility",
            "power",
            "--auto",
            "execute",
            "--meter",
            "M-001",
            "--reading",
            "8812.5",
            "--person",
            "李师傅",
            "--max-orders",
            "1",
            "--group",
            f"agent-{relayed.topics.prefix}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert agent.returncode == 0, agent.stderr
    assert "停电2号" in agent.stdout
    assert "1 order(s) handled" in agent.stdout

    wait_for(lambda: relayed.app.get_case(case_id).orders[order_id].status is OrderStatus.EXECUTED)
    case = relayed.app.get_case(case_id)
    order = case.orders[order_id]
    assert (order.meter, order.reading) == ("M-001", 8812.5)
    assert case.supplies[Utility.POWER].state is SupplyState.CUT
    acted = [
        (type(e).__name__, e.actor.unit, e.actor.person)
        for e in relayed.app.history(case_id)
        if type(e).__name__.startswith("UtilityOrder") and e.actor.unit == "power"
    ]
    assert acted == [
        ("UtilityOrderAcknowledged", "power", "李师傅"),
        ("UtilityOrderExecuted", "power", "李师傅"),
    ]


def signed_by(value: bytes, utility: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A receipt envelope signed with `utility`'s (development) key, as its agent sends."""
    return signed_envelope(
        value,
        development_key(utility),
        ce_id=uuid4().hex,
        ce_type=RECEIPT_TYPE,
        source=f"urn:liandong:utility:{utility}",
        subject="case",
    )


def test_bad_receipts_go_to_the_dead_letter_topic_with_their_reason(
    relayed: Relayed, receipts: ReceiptGateway
) -> None:
    order_id = power_cut(relayed)
    good = {
        "receipt_id": "r-1",
        "order_id": order_id,
        "utility": "power",
        "status": "executed",
        "meter": "M",
        "reading": 1.0,
        "executed_at": "2021-11-01T10:00:00+08:00",
    }
    bad = [
        b"not json",
        orjson.dumps({**good, "receipt_id": "r-2", "utility": "water"}),  # not its order
        orjson.dumps({**good, "receipt_id": "r-3", "order_id": f"{order_id[:-1]}9"}),  # unknown
        orjson.dumps({**good, "receipt_id": "r-4", "meter": None}),  # incomplete
    ]
    producer = KafkaProducer(bootstrap_servers=relayed.bootstrap, acks="all")
    key = order_id.split("/")[0].encode()  # receipts are keyed by case, as the agent does
    for value in [
        orjson.dumps(good),
        *bad,
        orjson.dumps(good),
        orjson.dumps({**good, "receipt_id": "r-5"}),
    ]:  # redelivery, then a 2nd run
        value, headers = signed_by(value, "water" if b'"water"' in value else "power")
        producer.send(relayed.topics.receipts.name, key=key, value=value, headers=headers).get(
            timeout=30
        )
    producer.close()

    dead = read_topic(relayed.bootstrap, relayed.topics.dead_letters.name, expect=5)
    codes = [(r.header("dlq-code"), r.header("dlq-field")) for r in dead]
    assert codes == [
        (b"malformed", b""),
        (b"permission_denied", b"order_id"),
        (b"not_found", b"order_id"),
        (b"invalid_input", b"meter"),
        (b"rule_violation", b"order_id"),  # a second execution, with another receipt id
    ]
    assert dead[0].value == b"not json", "the original message is kept for replay"
    case = relayed.app.get_case(UUID(order_id.split("/")[0]))
    assert case.orders[order_id].status is OrderStatus.EXECUTED
    executed = [
        e for e in relayed.app.history(case.id) if type(e).__name__ == "UtilityOrderExecuted"
    ]
    assert len(executed) == 1


def test_forged_orders_are_rejected_by_the_agent(relayed: Relayed) -> None:
    """Unsigned; signed by another utility's key (a utility forging an order to another);
    signed by the district but altered afterwards: the agent acts on none of them."""
    topic = relayed.topics.orders(Utility.GAS)
    order = OrderMessage.model_validate(
        {
            "message": "order_issued",
            "order_id": f"{uuid4()}/O1",
            "case_id": str(uuid4()),
            "utility": "gas",
            "kind": "cut",
            "enterprise_name": "伪造",
            "uscc": None,
            "address": "a",
            "town": "town:degan",
            "account": None,
            "grounds": "close_classification",
            "document_number": "假",
            "requested_by": "town:degan",
            "deadline": "2030-01-01T00:00:00Z",
            "issued_at": "2026-01-01T00:00:00Z",
            "position": 1,
        }
    )
    value = topic.serialize(order)
    by_water = order_envelope(order, value, development_key("water"))
    genuine_value, genuine_headers = order_envelope(order, value, SIGNING_KEY)
    altered = genuine_value.replace(b"\xe4\xbc\xaa\xe9\x80\xa0", b"\xe7\x9c\x9f\xe7\x9a\x84")
    producer = KafkaProducer(bootstrap_servers=relayed.bootstrap, acks="all")
    for forged_value, headers in [
        (b'{"message": "order_issued"}', [("liandong-signature", b"0" * 64)]),
        by_water,
        (altered, genuine_headers),
    ]:
        producer.send(topic.name, value=forged_value, headers=headers).get(timeout=30)
    producer.close()
    assert altered != genuine_value
    out = io.StringIO()
    agent = UtilityAgent(
        relayed.bootstrap,
        relayed.topics,
        Utility.GAS,
        [SIGNING_KEY.public()],
        development_key("gas"),
        out=out,
        group_id=f"agent-{relayed.topics.prefix}",
    )
    agent.run(automatic("execute", None, 0), threading.Event(), max_orders=3)
    assert out.getvalue().count("REJECTED") == 3, out.getvalue()
    assert "unknown key 'dev-water'" in out.getvalue()
    assert "does not verify" in out.getvalue()
    assert read_topic(relayed.bootstrap, relayed.topics.receipts.name, expect=0, settle_s=1) == []


def test_forged_receipts_are_dead_lettered_and_change_nothing(
    relayed: Relayed, receipts: ReceiptGateway
) -> None:
    """No client without the power company's key can mark its order executed: not an
    unsigned receipt, not one signed by the water company, not one whose signature was
    made for other bytes."""
    order_id = power_cut(relayed)
    receipt = {
        "receipt_id": "forged-1",
        "order_id": order_id,
        "utility": "power",
        "status": "executed",
        "meter": "M",
        "reading": 1.0,
        "executed_at": "2021-11-01T10:00:00+08:00",
    }
    value = orjson.dumps(receipt)
    genuine_value, genuine_headers = signed_by(value, "power")
    by_water = signed_envelope(
        value,
        development_key("water"),
        ce_id="x",
        ce_type=RECEIPT_TYPE,
        source="urn:liandong:utility:power",
        subject="case",
    )
    forgeries = [
        (value, []),
        by_water,
        signed_by(value, "water"),  # the water company's own envelope, for power's order
        (genuine_value.replace(b"M", b"N"), genuine_headers),
    ]
    producer = KafkaProducer(bootstrap_servers=relayed.bootstrap, acks="all")
    for forged, headers in forgeries:
        producer.send(relayed.topics.receipts.name, value=forged, headers=headers).get(timeout=30)
    producer.close()
    dead = read_topic(relayed.bootstrap, relayed.topics.dead_letters.name, expect=4)
    assert [r.header("dlq-code") for r in dead] == [b"forged"] * 4
    case = relayed.app.get_case(UUID(order_id.split("/")[0]))
    assert case.orders[order_id].status is OrderStatus.ISSUED
