"""The notify projection's outbox (without Kafka: the records the relay would publish):
each subscription gets one delivery per change in its unit's inbox from the moment it
subscribed, of the kinds it wants; replays and rebuilds enqueue nothing twice; a paused
subscription keeps its items and a deleted one drops them."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import orjson
import pytest

from domain import commands as c
from domain.application import Liandong
from domain.notifications import ItemKind, item_changes
from domain.subscriptions import Subscribe
from domain.values import Actor, Utility
from projections.db import Database
from projections.notify import DELIVERIES, NotifyProjection
from projections.runner import setup
from projections.status import EVENT_CLASSES
from tests.domain import parity
from tests.domain.scenario import TOWN, FrozenClock, Scenario


@pytest.fixture
def s() -> Iterator[Scenario]:
    clock = FrozenClock()
    app = Liandong(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    yield Scenario(app, clock)
    app.close()


def subscribe(s: Scenario, unit: str, *kinds: ItemKind) -> str:
    command = Subscribe(url=f"https://hook.example.cn/{unit}", kinds=kinds or tuple(ItemKind))
    return str(s.app.subscribe(Actor(unit=unit), command).aggregate_id)


def campaign(s: Scenario) -> list[UUID]:
    """Two cases through classification, a cut order executed, and a supervision notice."""
    first = s.list(serial=1, connections=(Utility.POWER,))
    s.classify(first, "close")
    second = s.list(serial=2, name="江津某石材厂")
    s.classify(second, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=first, document_number="停1"))
    s.cut(first, Utility.POWER, "economy", "close_classification")
    s.clock.advance(days=40)
    task = s.task_of(second, TOWN, "order_suspension")
    s.act(
        "district-office",
        c.IssueSupervisionNotice(case_id=second, task_id=task, respond_by=s.days(3), note="逾期"),
    )
    return [first, second]


def project(app: Liandong, batch: int = 1, db: Database | None = None) -> Database:
    db = db or Database("sqlite:///:memory:")
    projection = NotifyProjection(cache_size=2)
    setup(db, projection)
    events = parity.records(app)
    for i in range(0, len(events), batch):
        with db.transaction() as tx:
            projection.apply_all(tx, events[i : i + batch])
    return db


def delivered_changes(db: Database, subscription: str) -> list[tuple[str, str, str, str]]:
    rows = db.query(
        f"SELECT unit, case_id, body, change FROM {DELIVERIES} WHERE subscription_id = ? "
        "ORDER BY position, message_id",
        (subscription,),
    )
    return [(u, k, orjson.loads(b)["item"]["task_id"], ch) for u, k, b, ch in rows]


def expected_for(app: Liandong, unit: str, after: int, kinds: set[str]) -> list[tuple[str, ...]]:
    """The unit's inbox changes after log position `after`, of the given kinds, worked out
    from the aggregate's history event by event."""
    out: list[tuple[str, ...]] = []
    for record in parity.records(app):
        if record.position <= after or record.type not in EVENT_CLASSES:
            continue
        case_id, version = UUID(record.case_id), record.version
        before = app.get_case(case_id, version=version - 1).tasks if version > 1 else {}
        now = app.get_case(case_id, version=version).tasks
        out += [
            (x.unit, str(case_id), x.task.task_id, x.change.value)
            for x in item_changes(before, now)
            if x.unit == unit and x.kind.value in kinds
        ]
    return out


def position_of(app: Liandong, aggregate_id: str) -> int:
    return next(r.position for r in parity.records(app) if r.case_id == aggregate_id)


def test_each_subscription_gets_its_units_changes_from_when_it_subscribed(s: Scenario) -> None:
    town_all = subscribe(s, TOWN)
    power_orders = subscribe(s, "power", ItemKind.ORDER)
    campaign(s)
    town_late = subscribe(s, TOWN)  # subscribes after everything so far: gets nothing of it
    db = project(s.app)
    everything = {k.value for k in ItemKind}
    assert delivered_changes(db, town_all) == expected_for(
        s.app, TOWN, position_of(s.app, town_all), everything
    )
    power = delivered_changes(db, power_orders)
    assert power == expected_for(s.app, "power", position_of(s.app, power_orders), {"order"})
    assert power, "the power company was told of the cut order"
    assert delivered_changes(db, town_late) == []
    kinds = db.query(f"SELECT kind FROM {DELIVERIES} WHERE subscription_id = ?", (town_all,))
    assert ("supervision_notice",) in kinds, "the town was told of the notice to answer"


@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_replaying_or_rebatching_enqueues_nothing_twice(s: Scenario, batch: int) -> None:
    sub = subscribe(s, TOWN)
    campaign(s)
    db = project(s.app, batch)
    once = db.query(f"SELECT count(*) FROM {DELIVERIES}")[0][0]
    assert once > 0
    # The same records again (a restarted runner re-reading before its offsets), in a
    # projection that forgot its cache, add nothing.
    projection = NotifyProjection()
    with db.transaction() as tx:
        projection.apply_all(tx, parity.records(s.app))
    assert db.query(f"SELECT count(*) FROM {DELIVERIES}")[0][0] == once
    ids = db.query(f"SELECT message_id FROM {DELIVERIES} WHERE subscription_id = ?", (sub,))
    assert len({i for (i,) in ids}) == len(ids)


def test_a_rebuilt_projection_keeps_its_outbox_and_enqueues_nothing_again(s: Scenario) -> None:
    subscribe(s, TOWN)
    campaign(s)
    db = project(s.app)
    with db.transaction() as tx:
        tx.execute(f"UPDATE {DELIVERIES} SET state = 'delivered'")
    before = db.query(f"SELECT count(*) FROM {DELIVERIES}")[0][0]
    shadow = NotifyProjection().shadow()
    setup(db, shadow)
    with db.transaction() as tx:
        shadow.apply_all(tx, parity.records(s.app))
    assert db.query(f"SELECT count(*), min(state) FROM {DELIVERIES}")[0] == (before, "delivered")


def test_a_deleted_subscription_drops_what_waits_and_gets_nothing_more(s: Scenario) -> None:
    sub = subscribe(s, TOWN)
    first = s.list(serial=9)
    s.classify(first, "close")
    s.app.change_subscription(Actor(unit=TOWN), UUID(sub), "delete")
    s.act(TOWN, c.OrderSuspension(case_id=first, document_number="停9"))
    db = project(s.app)
    states = {state for (state,) in db.query(f"SELECT state FROM {DELIVERIES}")}
    assert states == {"dropped"}
    body = db.query(f"SELECT body FROM {DELIVERIES} LIMIT 1")[0][0]
    assert orjson.loads(body)["item"]["complete_with"]["path"].startswith("/cases/")
