"""Pushed notifications, end to end over the real broker and real HTTP receivers: every
item reaches every live subscriber at least once, in order per case, signed so that it
verifies with the published public key; one slow endpoint delays no one else; a dead
endpoint's deliveries are dead-lettered and can be replayed; a `liandong notify` killed
mid-delivery loses nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from api.settings import Settings
from domain import commands as c
from domain.values import Actor, ProblemKind, Utility
from gateways.topics import ensure_topics
from gateways.webhook_signing import verify
from tests.api.conftest import Api, make_api
from tests.domain import parity
from tests.gateways.receivers import Receiver

pytestmark = pytest.mark.kafka
TOWN = "town:degan"
CLI = str(Path(sys.executable).with_name("liandong"))
WEBHOOK_SETTINGS: dict[str, Any] = {
    "webhook_allow_private": True,  # the receivers listen on loopback
    "webhook_allow_http": True,
    "webhook_backoff_base_seconds": 0.05,
    "webhook_backoff_cap_seconds": 0.5,
    "webhook_timeout_seconds": 3.0,
    "webhook_lease_seconds": 2.0,
    "webhook_max_attempts": 6,
}


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def settings(kafka_bootstrap: str, tmp_path: Path, **extra: Any) -> Settings:
    prefix = f"w{uuid.uuid4().hex[:10]}"
    values: dict[str, Any] = {
        "event_store": f"sqlite:///{tmp_path / 'events.sqlite'}",
        "view_store": f"sqlite:///{tmp_path / 'views.sqlite'}",
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": prefix,
        "relay_transactional_id": f"relay-{prefix}",
        **WEBHOOK_SETTINGS,
    }
    return Settings(**{**values, **extra})


def running(api: Api, kafka_bootstrap: str, *, notify: bool = True) -> Iterator[Api]:
    """The relay, the status view and (unless told not to) `notify`, in threads."""
    services, stop = api.services, threading.Event()
    workers: list[Callable[[threading.Event], None]] = [
        services.relay().run,
        services.projection_runner("status").run,
    ]
    if notify:
        workers += [target for _, target in services.notify()]
    ensure_topics(kafka_bootstrap, services.topics.all())
    threads = [threading.Thread(target=w, args=(stop,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        yield api
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def system(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Api]:
    """The relay, the status view and notify in threads; views on SQLite or PostgreSQL."""
    extra = {}
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        extra["view_store"] = f"{dsn}?schema=wh_{uuid.uuid4().hex[:10]}"
    for api in make_api(settings(kafka_bootstrap, tmp_path, **extra)):
        yield from running(api, kafka_bootstrap)


def subscribe(api: Api, receiver: Receiver, unit: str = TOWN) -> str:
    response = api.post(unit, "/subscriptions", {"url": receiver.url, "description": "test"})
    assert response.status_code == 201, response.text
    sid: str = response.json()["subscription_id"]
    wait_for(
        lambda: api.get(unit, f"/subscriptions/{sid}").json()["seen_by_notify"],
        "notify has read the subscription",
    )
    return sid


def campaign(api: Api, cases: int = 4) -> list[str]:
    """Cases listed and classified by the town and economy: each opens tasks for the town."""
    app, later = api.services.app, datetime.now(tz=UTC) + timedelta(days=30)
    ids = []
    for n in range(cases):
        listed = app.handle(
            Actor(unit=TOWN),
            c.ListEnterprise(
                name=f"德感某厂{n}",
                address=f"德感某村{n}组",
                town=TOWN,
                problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
                connections=(c.Connection(utility=Utility.POWER, account=f"P-{n}"),),
            ),
        )
        case_id = listed.aggregate_id
        disposition = "close" if n % 2 else "rectify"
        app.handle(
            Actor(unit="economy"),
            c.Classify(case_id=case_id, disposition=disposition, reason="r", deadline=later),
        )
        app.handle(Actor(unit=TOWN), c.ConcurClassification(case_id=case_id, agree=True))
        app.handle(Actor(unit=TOWN), c.OrderSuspension(case_id=case_id, document_number=f"停{n}"))
        ids.append(str(case_id))
    return ids


def deliveries(
    api: Api, sid: str, unit: str = TOWN, state: str | None = None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        page = api.get(unit, f"/subscriptions/{sid}/deliveries", **params).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def campaign_deliveries(api: Api, unit: str = TOWN) -> int:
    """How many deliveries a subscriber of `unit` that subscribed before the campaign gets
    (every kind): one per change in the unit's inbox, worked out from the aggregates'
    history, so that a test waits for all of them, not for what notify has enqueued so
    far (on a busy machine it may still be enqueueing)."""
    return sum(1 for change in parity.expected_inbox_changes(api.services.app) if change[0] == unit)


def all_delivered(api: Api, sid: str, at_least: int) -> bool:
    counts = api.get(TOWN, f"/subscriptions/{sid}").json()["deliveries"]
    return bool(counts["delivered"] >= at_least and counts["pending"] == counts["dead"] == 0)


def check_received(api: Api, sid: str, receiver: Receiver) -> None:
    """Every delivery arrived at least once; duplicates carry the same webhook-id and the
    same body; per case, first arrivals follow the log's order; every signature verifies
    with the published key; the CloudEvent attributes are those of the item."""
    public = api.client.get("/webhooks/public-key").json()["public_key"]
    expected = deliveries(api, sid)
    got = receiver.snapshot()
    assert {d["message_id"] for d in expected} <= receiver.ids()
    bodies: dict[str, bytes] = {}
    first: list[str] = []
    for r in got:
        assert verify(public, r.headers, r.body), r.headers
        message_id = r.headers["webhook-id"]
        assert r.headers["ce-id"] == message_id
        assert r.headers["ce-specversion"] == "1.0"
        assert r.headers["ce-type"].startswith("cn.gov.jiangjin.liandong.inbox.")
        assert r.headers["content-type"] == "application/json"
        body = orjson.loads(r.body)
        assert r.headers["ce-subject"] == body["item"]["case_id"]
        assert body["unit"] == TOWN
        if message_id in bodies:
            assert bodies[message_id] == r.body, "a duplicate is the same message"
        else:
            bodies[message_id] = r.body
            first.append(message_id)
    order = {d["message_id"]: i for i, d in enumerate(expected)}
    per_case: dict[str, list[int]] = {}
    for message_id in first:
        case_id = orjson.loads(bodies[message_id])["item"]["case_id"]
        per_case.setdefault(case_id, []).append(order[message_id])
    for case_id, positions in per_case.items():
        assert positions == sorted(positions), f"case {case_id} arrived out of order"


def counted(outcome: str) -> float:
    """The notify gateway's Prometheus counter of deliveries with that outcome."""
    return (
        REGISTRY.get_sample_value("liandong_webhook_deliveries_total", {"outcome": outcome}) or 0.0
    )


def test_every_live_subscriber_gets_every_item_signed_and_in_order_per_case(
    system: Api,
) -> None:
    api = system
    sent, retried = counted("sent"), counted("retried")
    receivers = {
        "ok": Receiver().start(),
        "flaky": Receiver(lambda n: "500" if n < 3 else "ok").start(),
        "closes": Receiver(lambda n: "close" if n < 2 else "ok").start(),
        "slow": Receiver(lambda n: 1.0).start(),  # every answer takes a second
    }
    sids = {name: subscribe(api, r) for name, r in receivers.items()}
    campaign(api)
    total = campaign_deliveries(api)
    wait_for(lambda: all_delivered(api, sids["ok"], total), "the healthy receiver has all")
    # One slow endpoint delays no one else: the healthy receiver has everything while the
    # slow one (a second per delivery) is still being served.
    slow = api.get(TOWN, f"/subscriptions/{sids['slow']}").json()["deliveries"]
    assert slow["pending"] > 0, slow
    for name, receiver in receivers.items():
        sid = sids[name]
        wait_for(lambda: all_delivered(api, sid, total), f"{name} has all")  # noqa: B023
        check_received(api, sids[name], receiver)
    assert receivers["flaky"].requests > len(receivers["flaky"].snapshot()), "it was retried"
    assert receivers["closes"].requests > len(receivers["closes"].snapshot())
    assert counted("sent") - sent >= 4 * total  # the metrics say so too
    assert counted("retried") - retried >= 5
    for r in receivers.values():
        r.stop()


def test_a_dead_endpoint_is_dead_lettered_then_replayed_when_it_is_back(system: Api) -> None:
    api = system
    down = Receiver(port=free_port())  # nothing listens there yet
    healthy = Receiver().start()
    sid, other = subscribe(api, down), subscribe(api, healthy)
    campaign(api, cases=2)
    total = campaign_deliveries(api)
    wait_for(lambda: all_delivered(api, other, total), "the healthy receiver has all")
    wait_for(
        lambda: (
            len(deliveries(api, sid, state="dead")) > 0
            and not deliveries(api, sid, state="pending")
        ),
        "the dead endpoint's deliveries are dead-lettered",
    )
    dead = deliveries(api, sid, state="dead")
    assert counted("dead_lettered") >= len(dead)
    assert all(d["attempts"] == WEBHOOK_SETTINGS["webhook_max_attempts"] for d in dead)
    assert all("ConnectError" in (d["last_error"] or "") for d in dead), dead[0]
    # Another unit cannot see or replay them.
    assert api.get("economy", f"/subscriptions/{sid}/deliveries").status_code == 404
    assert api.post("economy", f"/subscriptions/{sid}/replay", {}).status_code == 404
    down.start()
    one = dead[0]["message_id"]
    replayed = api.post(TOWN, f"/subscriptions/{sid}/replay", {"message_id": one}).json()
    assert replayed == {"replayed": 1}
    wait_for(lambda: one in down.ids(), "the one replayed delivery arrived")
    rest = api.post(TOWN, f"/subscriptions/{sid}/replay", {}).json()
    assert rest["replayed"] == len(dead) - 1
    wait_for(lambda: all_delivered(api, sid, total), "every dead letter was delivered")
    check_received(api, sid, down)
    down.stop()
    healthy.stop()


def test_a_paused_subscription_keeps_its_items_and_sends_them_when_resumed(system: Api) -> None:
    api = system
    receiver = Receiver().start()
    sid = subscribe(api, receiver)
    assert (
        api.client.post(f"/subscriptions/{sid}/pause", headers=api.headers(TOWN)).status_code == 200
    )
    campaign(api, cases=1)
    wait_for(lambda: len(deliveries(api, sid)) >= 2, "notify has enqueued while paused")
    assert receiver.snapshot() == []
    assert (
        api.client.post(f"/subscriptions/{sid}/resume", headers=api.headers(TOWN)).status_code
        == 200
    )
    total = campaign_deliveries(api)
    wait_for(lambda: all_delivered(api, sid, total), "what waited was sent")
    check_received(api, sid, receiver)
    receiver.stop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def without_notify(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Api]:
    """The relay and the status view in threads; `liandong notify` is left to the test."""
    for api in make_api(settings(kafka_bootstrap, tmp_path)):
        yield from running(api, kafka_bootstrap, notify=False)


def test_a_notify_process_killed_mid_delivery_loses_nothing(
    without_notify: Api, tmp_path: Path
) -> None:
    api, config = without_notify, without_notify.services.settings
    names = ("event_store", "view_store", "kafka_bootstrap", "topic_prefix", *WEBHOOK_SETTINGS)
    env = {
        **os.environ,
        **{f"LIANDONG_{name.upper()}": str(getattr(config, name)) for name in names},
        "LIANDONG_DATA_DIR": str(tmp_path / "data"),
    }

    def notify() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [CLI, "notify"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    receiver = Receiver(lambda n: 0.2).start()  # slow enough to be killed mid-delivery
    first = notify()
    try:
        sid = subscribe(api, receiver)
        campaign(api, cases=4)
        wait_for(lambda: receiver.requests >= 3, "deliveries are under way")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        total = campaign_deliveries(api)
        assert len(receiver.snapshot()) < total, "killed before the end"
    finally:
        if first.poll() is None:
            first.kill()
    second = notify()
    try:
        wait_for(lambda: all_delivered(api, sid, total), "all delivered after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=60)
    assert code == 0, second.stderr.read() if second.stderr else ""
    check_received(api, sid, receiver)
    receiver.stop()


ASSIGNED = re.compile(r"notify: assigned partitions \[([0-9, ]*)\]")


def last_assignment(log: Path) -> set[int] | None:
    """The outbox partitions a `notify --in-group` process was last given, from its log."""
    found = ASSIGNED.findall(log.read_text(errors="replace")) if log.exists() else []
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else None


def test_two_notify_processes_in_a_group_share_the_outbox_and_one_killed_loses_nothing(
    without_notify: Api, tmp_path: Path
) -> None:
    """`liandong notify --in-group` twice: the outbox's partitions are split between them;
    one is SIGKILLed mid-delivery; the other is given its partitions and its leases run
    out, and every delivery arrives (a duplicate only as the same message)."""
    api, config = without_notify, without_notify.services.settings
    names = ("event_store", "view_store", "kafka_bootstrap", "topic_prefix", *WEBHOOK_SETTINGS)
    env = {
        **os.environ,
        **{f"LIANDONG_{name.upper()}": str(getattr(config, name)) for name in names},
        "LIANDONG_DATA_DIR": str(tmp_path / "data"),
    }
    logs = [tmp_path / "notify-1.log", tmp_path / "notify-2.log"]
    members = [
        subprocess.Popen(
            [CLI, "notify", "--in-group"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        for log in logs
    ]
    everything = set(range(api.services.topics.event_partitions))
    receiver = Receiver(lambda n: 0.2).start()  # slow enough to be killed mid-delivery
    try:

        def split() -> bool:
            first, second = (last_assignment(log) or set() for log in logs)
            return bool(first and second) and not first & second and first | second == everything

        wait_for(split, "the two processes split the outbox's partitions")
        sid = subscribe(api, receiver)
        campaign(api, cases=8)
        wait_for(lambda: receiver.requests >= 3, "deliveries are under way")
        members[0].send_signal(signal.SIGKILL)
        members[0].wait(timeout=30)
        total = campaign_deliveries(api)
        assert len(receiver.snapshot()) < total, "killed before the end"
        wait_for(lambda: last_assignment(logs[1]) == everything, "the survivor took over")
        wait_for(lambda: all_delivered(api, sid, total), "all delivered by the survivor")
    finally:
        for member in members:
            if member.poll() is None:
                member.send_signal(signal.SIGTERM)
        codes = [member.wait(timeout=60) for member in members]
    assert codes[1] == 0, logs[1].read_text()[-2000:]
    check_received(api, sid, receiver)
    receiver.stop()
