"""Overdue is a pure function of the recorded tasks and a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import commands as c
from domain.deadlines import Deadline
from domain.linkage import YELLOW_WHEN_LEFT
from domain.values import Escalation, ProblemKind
from tests.domain.scenario import TOWN, Scenario

T = datetime(2021, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_an_open_task_is_overdue_by_the_time_past_its_deadline() -> None:
    d = Deadline(assigned_at=T, deadline=T + 10 * DAY)
    assert d.overdue_by(T + 10 * DAY) is None
    assert d.overdue_by(T + 13 * DAY) == 3 * DAY


def test_a_done_task_is_never_overdue_but_may_have_been_late() -> None:
    late = Deadline(assigned_at=T, deadline=T + DAY, done_at=T + 2 * DAY)
    assert late.overdue_by(T + 30 * DAY) is None
    assert late.done_late()
    assert not Deadline(assigned_at=T, deadline=T + DAY, done_at=T).done_late()


def test_escalation_colours_green_yellow_red() -> None:
    d = Deadline(assigned_at=T, deadline=T + 10 * DAY)
    assert d.escalation(T + DAY) is Escalation.GREEN
    assert d.escalation(T + 8.5 * DAY) is Escalation.YELLOW  # 15% of the time left
    assert d.escalation(T + 11 * DAY) is Escalation.RED
    assert Deadline(T, T + DAY, done_at=T).escalation(T + 5 * DAY) is Escalation.DONE


def test_a_cases_overdue_tasks_follow_the_injected_clock(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.NO_EIA,))
    s.classify(case_id, "rectify")  # deadline in 30 days
    tasks = s.case(case_id).open_tasks()
    assert all(t.clock.overdue_by(s.clock.now) is None for t in tasks)
    s.clock.advance(days=20)
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))  # on time
    s.clock.advance(days=12)
    case = s.case(case_id)
    overdue = {t.unit: t.clock.overdue_by(s.clock.now) for t in case.open_tasks()}
    assert overdue == {"ecology": 2 * DAY, TOWN: 2 * DAY}
    suspension = next(t for t in case.tasks.values() if t.completes_on.value == "order_suspension")
    assert suspension.done_at is not None
    assert not suspension.clock.done_late()


@given(
    given_hours=st.integers(0, 24 * 120),
    at_hours=st.integers(0, 24 * 130),
)
def test_an_open_task_turns_yellow_when_a_share_of_its_time_or_a_day_is_left(
    given_hours: int, at_hours: int
) -> None:
    """DOMAIN.md 9, spelled out here apart from the code: red past the deadline; yellow
    with YELLOW_WHEN_LEFT of the time or one day left (or no time given); else green."""
    d = Deadline(assigned_at=T, deadline=T + timedelta(hours=given_hours))
    now = T + timedelta(hours=at_hours)
    span = (d.deadline - d.assigned_at).total_seconds()
    left = (d.deadline - now).total_seconds()
    if now > d.deadline:
        expected = Escalation.RED
    elif span <= 0 or left <= span * YELLOW_WHEN_LEFT or left <= 86400:
        expected = Escalation.YELLOW
    else:
        expected = Escalation.GREEN
    assert d.escalation(now) is expected
    assert (now >= d.yellow_from()) == (expected is not Escalation.GREEN)
