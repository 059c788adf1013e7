"""Every event on Kafka, once and in order (against the real broker)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from domain.values import ProblemKind, Utility
from gateways.envelope import unwrap
from gateways.relay import EventRelay, RelayMismatchError
from tests.domain.scenario import TOWN, evidence
from tests.gateways.conftest import Relayed
from tests.gateways.kafka_reading import read_topic

pytestmark = pytest.mark.kafka


def drive(r: Relayed, cases: int) -> None:
    s = r.scenario
    for i in range(cases):
        case_id = s.list(serial=i + 1, problems=(ProblemKind.NO_EIA,))
        s.classify(case_id, "close" if i % 2 else "rectify")
        if i % 2:
            s.cut(case_id, Utility.POWER, "economy", "close_classification")
        else:
            s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
            s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))


def test_the_events_topic_holds_each_stored_event_once_in_per_case_order(
    relayed: Relayed,
) -> None:
    drive(relayed, 12)
    stored = relayed.app.recorder.select_notifications(1, 10_000)
    records = read_topic(relayed.bootstrap, relayed.topics.events.name, expect=len(stored))
    assert len(records) == len(stored)

    ids = [r.header("ce_id") for r in records]
    assert len(set(ids)) == len(ids), "an event was delivered twice"
    per_case: dict[bytes, list[int]] = defaultdict(list)
    partition_of: dict[bytes, set[int]] = defaultdict(set)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        envelope = unwrap(record.key, record.value, record.headers)
        assert envelope.attributes["specversion"] == "1.0"
        assert envelope.attributes["subject"] == record.key.decode()  # type: ignore[union-attr]
        assert record.header("content-type") == b"application/json"
        per_case[record.key].append(envelope.data["originator_version"])  # type: ignore[index]
        partition_of[record.key].add(record.partition)  # type: ignore[index]
    expected: dict[bytes, list[int]] = defaultdict(list)
    for n in stored:
        expected[str(n.originator_id).encode()].append(n.originator_version)
    assert per_case == expected, "per-case order differs from the event store"
    assert all(len(p) == 1 for p in partition_of.values()), "a case spread over partitions"


def test_the_value_is_the_events_json_and_survives_a_round_trip(relayed: Relayed) -> None:
    case_id = relayed.scenario.list(serial=99)
    records = read_topic(relayed.bootstrap, relayed.topics.events.name, expect=3)
    [record] = [r for r in records if r.header("ce_id") == f"{case_id}/1".encode()]
    stored = relayed.app.history(case_id)[0]
    assert orjson.loads(record.value) == stored.model_dump(mode="json")
    assert record.header("ce_type") == b"cn.gov.jiangjin.liandong.EnterpriseListed.v1"


def test_a_power_order_reaches_the_power_topic_only(relayed: Relayed) -> None:
    s = relayed.scenario
    case_id = s.list(connections=(Utility.POWER, Utility.WATER))
    s.classify(case_id, "close")
    s.request_order(case_id, Utility.POWER, "economy", document_number="停电1号")
    power = read_topic(relayed.bootstrap, relayed.topics.orders(Utility.POWER).name, expect=1)
    assert len(power) == 1
    message = orjson.loads(power[0].value)
    assert message["message"] == "order_issued"
    assert message["document_number"] == "停电1号"
    case = s.case(case_id)
    assert case.enterprise is not None
    assert (message["enterprise_name"], message["address"], message["account"]) == (
        case.enterprise.name,
        case.enterprise.address,
        "power-001",
    )
    assert (message["grounds"], message["requested_by"]) == ("close_classification", "economy")
    for other in (Utility.WATER, Utility.GAS):
        assert (
            read_topic(relayed.bootstrap, relayed.topics.orders(other).name, expect=0, settle_s=1.0)
            == []
        )


def test_a_relay_refuses_topics_written_from_another_event_store(
    relayed: Relayed, tmp_path: Path
) -> None:
    relayed.scenario.list()
    relayed.relay_caught_up()
    other = Liandong(env=store_env(f"sqlite:///{tmp_path / 'other.sqlite'}"))
    stranger = EventRelay(
        other,
        relayed.bootstrap,
        relayed.topics,
        transactional_id=f"other-{relayed.topics.prefix}",
    )
    with pytest.raises(RelayMismatchError, match="LIANDONG_TOPIC_PREFIX"):
        stranger.connect()
    other.close()
