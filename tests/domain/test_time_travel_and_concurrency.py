"""A case as of any past time or version; two writers on one case."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain import commands as c
from domain.application import Liandong
from domain.errors import ConcurrencyConflict, NotFound
from domain.values import CaseState, Disposition
from tests.domain.scenario import T0, TOWN, FrozenClock, Scenario


def test_the_state_of_a_case_as_of_any_past_time(s: Scenario) -> None:
    case_id = s.list()
    s.clock.advance(days=1)
    s.classify(case_id, "rectify")
    s.clock.advance(days=1)
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))

    assert s.app.case_as_of(case_id, T0).state is CaseState.LISTED
    day_one = s.app.case_as_of(case_id, T0.replace(hour=23))
    assert day_one.state is CaseState.LISTED
    assert s.app.case_as_of(case_id, s.days(-1)).disposition is Disposition.RECTIFY
    assert s.app.case_as_of(case_id, s.days(-1)).state is CaseState.CLASSIFIED
    assert s.app.case_as_of(case_id, s.clock.now).state is CaseState.SUSPENDED
    with pytest.raises(NotFound):
        s.app.case_as_of(case_id, s.days(-10))


def test_the_state_of_a_case_at_any_version(s: Scenario) -> None:
    case_id = s.list()
    s.classify(case_id, "close")
    assert s.app.get_case(case_id, version=1).state is CaseState.LISTED
    assert s.app.get_case(case_id, version=3).state is CaseState.CLASSIFIED


def test_two_concurrent_commands_on_one_case_one_wins_the_other_conflicts(
    app: Liandong, s: Scenario, clock: FrozenClock
) -> None:
    case_id = s.list()
    s.classify(case_id, "rectify")
    suspension = c.OrderSuspension(case_id=case_id, document_number="d-1")
    denial = c.DenyApproval(
        case_id=case_id, approval_kind="permit", application_ref="a-1", reason="listed"
    )

    # The town's command has loaded the case when ecology's command runs to completion:
    # the application reads its clock after loading, so the clock interleaves them.
    interleaved: list[bool] = []

    def clock_that_lets_ecology_in() -> datetime:
        if not interleaved:
            interleaved.append(True)
            s.act("ecology", denial)
        return clock()

    app.clock = clock_that_lets_ecology_in
    before = app.event_count()
    with pytest.raises(ConcurrencyConflict) as conflict:
        s.act(TOWN, suspension)
    assert conflict.value.code == "concurrency_conflict"
    assert app.event_count() == before + 1, "only the winner's event was recorded"
    assert type(app.history(case_id)[-1]).__name__ == "ApprovalDenied"

    # Nothing is lost: the loser retries on the new version and succeeds.
    app.clock = clock
    s.act(TOWN, suspension)
    names = [type(e).__name__ for e in app.history(case_id)[-3:]]
    assert names == ["ApprovalDenied", "SuspensionOrdered", "TaskCompleted"]
