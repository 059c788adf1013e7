from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.settings import store_env
from domain.application import Liandong
from gateways.relay import EventRelay
from gateways.topics import Topics
from projections.audit import AuditProjection
from projections.db import Database
from projections.runner import Projection, ProjectionRunner
from projections.status import StatusProjection
from tests.domain.scenario import FrozenClock, Scenario
from tests.gateways.conftest import wait_until_published

VIEW_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Pipeline:
    """Commands → event store → relay → events topic, ready to be projected."""

    app: Liandong
    relay: EventRelay
    topics: Topics
    scenario: Scenario
    bootstrap: str
    store_url: str

    def published(self, timeout_s: float = 60) -> None:
        wait_until_published(self.relay, self.app, timeout_s)

    def project(self, db: Database, *projections: Projection) -> None:
        self.published()
        for projection in projections or (StatusProjection(), AuditProjection()):
            ProjectionRunner(projection, db, self.bootstrap, self.topics.events.name).catch_up()


@pytest.fixture
def pipeline(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Pipeline]:
    clock = FrozenClock()
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    app = Liandong(env=store_env(url), clock=clock)
    topics = Topics(prefix=f"t{uuid.uuid4().hex[:10]}")
    relay = EventRelay(app, kafka_bootstrap, topics, transactional_id=f"relay-{topics.prefix}")
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    yield Pipeline(app, relay, topics, Scenario(app, clock), kafka_bootstrap, url)
    stop.set()
    thread.join(timeout=15)
    app.close()


def view_store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'views-{uuid.uuid4().hex[:6]}.sqlite'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"v_{uuid.uuid4().hex[:12]}"
    return f"{dsn}?schema={schema}"


@pytest.fixture(params=VIEW_STORES)
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = Database(view_store_url(request.param, request, tmp_path))
    yield db
    db.close()
