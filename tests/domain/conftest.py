"""Domain tests run the same behaviour on every event store: in memory, SQLite and
PostgreSQL (the real server; see tests/infra_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import store_env
from domain.application import Liandong
from tests.domain.scenario import FrozenClock, Scenario

STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make_app(
    store: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> Liandong:
    if store == "memory":
        url = "memory://"
    elif store == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_store_url")
    return Liandong(env=store_env(url), clock=clock)


@pytest.fixture(params=STORES)
def app(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Liandong]:
    application = make_app(request.param, request, tmp_path, clock)
    yield application
    application.close()


@pytest.fixture
def s(app: Liandong, clock: FrozenClock) -> Scenario:
    return Scenario(app, clock)
