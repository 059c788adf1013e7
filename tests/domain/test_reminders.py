"""Reminders (DOMAIN.md 12): before a deadline, on its day, and past it an automatic
supervision notice from the district office; each once per task and threshold, however
many reminders processes run and however often they restart. Time is moved, not slept."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain import commands as c
from domain.application import Liandong
from domain.deadlines import Threshold, reminder_due
from domain.errors import RuleViolation
from domain.events import SupervisionNoticeIssued, TaskReminded
from domain.values import Actor, ProblemKind
from gateways.reminders import ACTOR, Reminders
from projections.db import Database
from projections.runner import setup
from projections.status import StatusProjection
from projections.workers import is_transient
from tests.domain import parity
from tests.domain.scenario import TOWN, FrozenClock, Scenario

DAY = timedelta(days=1)
THREE = 3 * DAY


def test_the_reminder_a_deadline_calls_for() -> None:
    deadline = datetime(2021, 11, 30, 9, 0, tzinfo=UTC)  # 17:00 in Jiangjin
    assert reminder_due(deadline, deadline - 4 * DAY, THREE, ()) is None
    assert reminder_due(deadline, deadline - 2 * DAY, THREE, ()) is Threshold.DUE_SOON
    assert reminder_due(deadline, deadline - 2 * DAY, THREE, ("due_soon",)) is None
    # On the day in Asia/Shanghai: 00:30 on the 30th there is 16:30 UTC on the 29th.
    just_after_midnight = datetime(2021, 11, 29, 16, 30, tzinfo=UTC)
    assert reminder_due(deadline, just_after_midnight, THREE, ("due_soon",)) is Threshold.DUE_TODAY
    assert reminder_due(deadline, deadline + timedelta(minutes=1), THREE, ()) is Threshold.OVERDUE
    # Found late, a task gets the latest reminder only, and nothing once that is sent.
    assert reminder_due(deadline, deadline + DAY, THREE, ("overdue",)) is None
    assert reminder_due(deadline, deadline - 2 * DAY, THREE, ("due_today",)) is None


def classified(s: Scenario) -> tuple[UUID, str]:
    case_id = s.list(problems=(ProblemKind.NO_EIA,))
    s.classify(case_id, "rectify")  # deadline in 30 days
    return case_id, s.task_of(case_id, "ecology", "sign_acceptance")


def remind(s: Scenario, case_id: UUID, task_id: str, threshold: Threshold) -> None:
    s.app.handle(ACTOR, c.RemindTask(case_id=case_id, task_id=task_id, threshold=threshold))


def test_each_reminder_once_and_only_when_its_time_has_come(s: Scenario) -> None:
    case_id, task_id = classified(s)
    with pytest.raises(RuleViolation):
        remind(s, case_id, task_id, Threshold.DUE_SOON)  # 30 days early
    s.clock.advance(days=28)
    remind(s, case_id, task_id, Threshold.DUE_SOON)
    before = s.app.event_count()
    with pytest.raises(RuleViolation):
        remind(s, case_id, task_id, Threshold.DUE_SOON)
    assert s.app.event_count() == before, "a second reminder records nothing"
    assert s.case(case_id).tasks[task_id].reminded == ("due_soon",)


def test_an_overdue_task_brings_one_automatic_supervision_notice(s: Scenario) -> None:
    case_id, task_id = classified(s)
    s.clock.advance(days=31)
    remind(s, case_id, task_id, Threshold.OVERDUE)
    case = s.case(case_id)
    [notice] = case.notices.values()
    assert (notice.task_id, notice.unit) == (task_id, "ecology")
    issued = [e for e in s.app.history(case_id) if isinstance(e, SupervisionNoticeIssued)]
    assert issued[0].actor == ACTOR
    assert "自动督办" in issued[0].note
    answer = s.task_of(case_id, "ecology", "answer_supervision_notice")
    # The answer, overdue in turn, is reminded but not escalated into a chain of notices.
    s.clock.advance(days=4)
    remind(s, case_id, answer, Threshold.OVERDUE)
    assert len(s.case(case_id).notices) == 1


def views_of(app: Liandong, path: Path) -> Database:
    """The status view as the projection would hold it, fed without a broker."""
    db = Database(f"sqlite:///{path}")
    setup(db, StatusProjection())
    with db.transaction() as tx:
        for table in ("cases", "tasks"):
            tx.execute(f"DELETE FROM {StatusProjection().t(table)}")
        StatusProjection().apply_all(tx, parity.records(app))
    return db


def test_two_processes_and_a_restart_send_each_reminder_exactly_once(tmp_path: Path) -> None:
    clock = FrozenClock()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    first = Liandong(env=env, clock=clock)
    s = Scenario(first, clock)
    cases = [classified(s)[0] for _ in range(3)]
    s.act(
        "district-office",
        c.ExtendDeadline(
            case_id=cases[0],
            task_id=s.task_of(cases[0], "ecology", "sign_acceptance"),
            new_deadline=clock.now + 60 * DAY,
            reason="雨季",
        ),
    )

    def both_tick(apps: list[Liandong]) -> None:
        db = views_of(apps[0], tmp_path / "views.sqlite")
        failures: list[BaseException] = []

        def tick(worker: Reminders) -> None:
            while True:  # a store busy with the other process is waited out, as in run()
                try:
                    worker.tick()
                    return
                except Exception as exc:
                    if not is_transient(exc):
                        failures.append(exc)
                        return

        threads = [threading.Thread(target=tick, args=(Reminders(a, db),)) for a in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        db.close()
        assert failures == []

    processes = [first, Liandong(env=env, clock=clock)]
    # Deadlines fall on 1 December, 17:00 in Jiangjin. Due soon (28 Nov); on the day (just
    # after midnight there); the same day again; overdue.
    for days in (27.5, 1.8, 0.1, 3):
        clock.advance(days=days)
        both_tick(processes)
        both_tick(processes)  # the view has caught up: still nothing twice
    processes = [Liandong(env=env, clock=clock), Liandong(env=env, clock=clock)]  # restarted
    both_tick(processes)
    sent: Counter[tuple[str, str, str]] = Counter()
    notices: Counter[str] = Counter()
    for case_id in cases:
        for event in first.history(case_id):
            if isinstance(event, TaskReminded):
                sent[(str(case_id), event.task_id, event.threshold)] += 1
            if isinstance(event, SupervisionNoticeIssued) and event.action is None:
                notices[f"{case_id}/{event.notice.task_id}"] += 1
    assert set(sent.values()) == {1}, sent  # nothing twice
    by_task: dict[tuple[str, str], set[str]] = {}
    for case, task, threshold in sent:
        by_task.setdefault((case, task), set()).add(threshold)
    extended = s.task_of(cases[0], "ecology", "sign_acceptance")
    assert (str(cases[0]), extended) not in by_task, "its deadline is a month away"
    for case, task in by_task:
        duty = first.get_case(UUID(case)).tasks[task].duty
        if duty.startswith("answer supervision notice"):
            # Notices issued on 3 December, due on the 6th: reminded once, as due soon.
            assert by_task[(case, task)] == {"due_soon"}
        else:
            assert by_task[(case, task)] == {"due_soon", "due_today", "overdue"}
            assert notices[f"{case}/{task}"] == 1, "one automatic 督办 per overdue task"
    assert set(notices.values()) == {1}


def test_the_reminders_actor_is_the_district_office(s: Scenario) -> None:
    case_id, task_id = classified(s)
    s.clock.advance(days=28)
    with pytest.raises(Exception, match="may not"):
        s.act(TOWN, c.RemindTask(case_id=case_id, task_id=task_id, threshold=Threshold.DUE_SOON))
    assert Actor(unit="district-office", person="reminders") == ACTOR
