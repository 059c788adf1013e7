from __future__ import annotations

import pytest

from domain.application import Liandong
from tests.domain.scenario import FrozenClock, Scenario


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app(clock: FrozenClock) -> Liandong:
    return Liandong(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


@pytest.fixture
def s(app: Liandong, clock: FrozenClock) -> Scenario:
    return Scenario(app, clock)
