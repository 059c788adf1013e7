"""A part that cannot do its work says so loudly: /health names it and why, a worker that
cannot go on exits non-zero, and one that waits out an outage recovers by itself.

Against the real broker and stores: a poisoned record on the events topic stops the status
projection with its position; a full disk under the view store gives 503 and a degraded
/health until space returns, then everything catches up with nobody's help.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from api.app import create_app
from api.bootstrap import bootstrap
from api.settings import Settings
from gateways.envelope import wrap_state
from gateways.topics import Topics, ensure_topics
from tests.api.conftest import Api, fill, make_api
from tests.api.test_bad_input import TOWN, listing

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def publish_poisoned_listing(bootstrap_servers: str, topics: Topics) -> None:
    """A record another producer wrote: an EnterpriseListed without its enterprise."""
    ensure_topics(bootstrap_servers, topics.all())
    case = str(uuid.uuid4())
    envelope = wrap_state(
        "EnterpriseListed",
        {"originator_id": case, "originator_version": 1, "timestamp": "2026-11-01T00:00:00Z"},
        position=1,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers)
    producer.send(
        topics.events.name, key=envelope.key, value=envelope.value, headers=envelope.headers
    ).get(timeout=30)
    producer.close()


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_projection_that_cannot_apply_an_event_exits_non_zero_and_health_says_where(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path: Path, store: str
) -> None:
    views = (
        f"sqlite:///{tmp_path / 'views.sqlite'}"
        if store == "sqlite"
        else f"{request.getfixturevalue('postgres_dsn')}?schema=h_{uuid.uuid4().hex[:10]}"
    )
    topics = Topics(prefix=f"t{uuid.uuid4().hex[:10]}")
    publish_poisoned_listing(kafka_bootstrap, topics)
    env = {
        **os.environ,
        "LIANDONG_EVENT_STORE": f"sqlite:///{tmp_path / 'events.sqlite'}",
        "LIANDONG_VIEW_STORE": views,
        "LIANDONG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIANDONG_TOPIC_PREFIX": topics.prefix,
    }
    finished = subprocess.run(
        [sys.executable, "-m", "api.cli", "projections", "run", "status"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 1, finished.stderr[-2000:]
    assert "cannot apply the event at position 1 (EnterpriseListed" in finished.stderr
    settings = Settings(
        event_store="memory://",
        view_store=views,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topics.prefix,
        expected_workers=["projection:status"],
    )
    with TestClient(create_app(bootstrap(settings))) as client:
        health = client.get("/health")
    assert health.status_code == 503
    check = health.json()["checks"]["projection:status"]
    assert check["status"] == "down"
    assert check["detail"].startswith("failed")
    assert "position 1 (EnterpriseListed" in check["detail"]


def test_a_full_view_store_disk_gives_503_and_degraded_health_then_recovers_by_itself(
    kafka_bootstrap: str, tmp_path: Path, small_disk: Path
) -> None:
    settings = Settings(
        event_store=f"sqlite:///{tmp_path / 'events.sqlite'}",
        view_store=f"sqlite:///{small_disk / 'views.sqlite'}",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        expected_workers=["relay", "projection:status"],
    )
    for api in make_api(settings):
        stop = threading.Event()
        workers = [api.services.relay().run, api.services.projection_runner("status").run]
        threads = [threading.Thread(target=w, args=(stop,), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        try:
            exercise_a_full_disk(api, small_disk)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)


def visible(api: Api, case_id: str) -> bool:
    return bool(
        api.get("district-office", f"/enterprises/{case_id}").json().get("source") == "view"
    )


def exercise_a_full_disk(api: Api, disk: Path) -> None:
    api.key("district-office")
    before = api.post(TOWN, "/cases", listing(name="满盘之前"))
    assert before.status_code == 201, before.text
    wait_for(lambda: visible(api, before.json()["created"]["case_id"]), "the view showed it")
    wait_for(lambda: api.client.get("/health").status_code == 200, "healthy before the outage")

    filler = fill(disk)
    events = api.events
    keyed = api.post(TOWN, "/cases", listing(name="满盘"), **{"Idempotency-Key": "disk-full-1"})
    assert keyed.status_code == 503, keyed.text
    assert keyed.json()["code"] == "store_unavailable"
    assert keyed.headers["Retry-After"]
    assert api.events == events, "a refused request recorded events"
    health = api.client.get("/health")
    assert health.status_code == 503
    assert health.json()["checks"]["view_store"]["status"] == "down"
    # The event store is elsewhere: a command without a key is still taken, and shown
    # once the view store has room again.
    during = api.post(TOWN, "/cases", listing(name="满盘期间"))
    assert during.status_code == 201, during.text

    filler.unlink()
    case_id = during.json()["created"]["case_id"]
    wait_for(lambda: visible(api, case_id), "the projection recovered by itself", timeout_s=120)
    wait_for(lambda: api.client.get("/health").status_code == 200, "healthy again")
    again = api.post(TOWN, "/cases", listing(name="满盘"), **{"Idempotency-Key": "disk-full-1"})
    assert again.status_code == 201, again.text


def test_metrics_show_the_relays_own_report_not_a_lag_of_zero(tmp_path: Path) -> None:
    """An API process whose relay runs elsewhere (finding 8): no relay gauges of its own,
    which would read 0, but the lag the relay last reported, with that report's age."""
    from projections.workers import Beacon
    from tests.faults.system import free_port

    views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    Beacon(views, "relay").report("running", position=120, lag=37)
    port = free_port()
    env = {
        **os.environ,
        "LIANDONG_EVENT_STORE": "memory://",
        "LIANDONG_VIEW_STORE": views,
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        def scrape() -> str | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return None

        wait_for(scrape, "the API answered")
        text = scrape() or ""
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "liandong_relay_lag_events" not in text
    assert 'liandong_worker_lag{process="",worker="relay"} 37.0' in text
    assert 'liandong_worker_up{process="",worker="relay"} 1.0' in text
