"""The status view applies what the domain decided (over the real broker): after a
relapse it says what the event store says; patrols have a view of their own; a
supervision notice left unanswered past its date counts as overdue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import commands as c
from domain.values import ProblemKind, Utility
from projections.db import Database
from projections.queries import accountability, enterprise, patrols, wait_for_patrol
from projections.status import StatusProjection
from tests.domain.scenario import TOWN, evidence
from tests.projections.conftest import Pipeline

pytestmark = pytest.mark.kafka


def test_after_a_relapse_the_view_and_the_event_store_agree(
    pipeline: Pipeline, views: Database
) -> None:
    s = pipeline.scenario
    case_id = s.list(serial=61, problems=(ProblemKind.FIRE_HAZARD,), connections=())
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停1"))
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
    s.act(TOWN, c.ReportRefusalToStop(case_id=case_id, evidence=evidence()))
    s.act(
        TOWN,
        c.LaunchJointEnforcement(
            case_id=case_id, units=("fire",), planned_for=s.days(1), document_number="j"
        ),
    )
    operation = next(iter(s.case(case_id).operations))
    s.act("fire", c.SupportJointEnforcement(case_id=case_id, operation_id=operation))
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("fire", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    # 回头看 finds production resumed: the case reopens as a relapse, on recorded resumption.
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence("again")))
    pipeline.project(views, StatusProjection())
    case = s.case(case_id)
    row = enterprise(views, str(case_id), s.clock.now)
    assert row is not None
    assert case.unauthorized_resumption
    assert case.relapses == 1
    assert (row["state"], row["unauthorized_resumption"], row["relapses"]) == (
        case.state.value,
        case.unauthorized_resumption,
        case.relapses,
    )
    assert row["refused_to_stop"] == case.refused_to_stop
    assert row["version"] == case.version
    assert {t["task_id"] for t in row["open_tasks"]} == {t.task_id for t in case.open_tasks()}


def test_patrols_have_a_view_with_what_each_found(pipeline: Pipeline, views: Database) -> None:
    s = pipeline.scenario
    patrol = s.act(
        TOWN,
        c.RecordPatrol(
            town=TOWN, patrol_date=date(2021, 11, 1), area="德感街道工业园周边", findings="新增一处"
        ),
    )
    found = s.act(
        TOWN,
        c.ListEnterprise(
            name="新增木材加工点",
            address="德感某村",
            town=TOWN,
            found_by_patrol=patrol.aggregate_id,
        ),
    )
    s.act(
        "town:baisha",
        c.RecordPatrol(town="town:baisha", patrol_date=date(2021, 11, 2), area="a", findings="无"),
    )
    pipeline.project(views, StatusProjection())
    assert wait_for_patrol(views, str(patrol.aggregate_id), timeout_s=0)
    page = patrols(views, town=TOWN)
    [item] = page.items
    assert (item["area"], item["findings"]) == ("德感街道工业园周边", "新增一处")
    assert [x["case_id"] for x in item["listed"]] == [str(found.aggregate_id)]
    assert len(patrols(views).items) == 2


def test_an_unanswered_notice_past_its_date_is_overdue_in_accountability(
    pipeline: Pipeline, views: Database
) -> None:
    s = pipeline.scenario
    case_id = s.list(problems=(ProblemKind.NO_EIA,), connections=(Utility.POWER,))
    s.classify(case_id, "rectify")
    task = s.task_of(case_id, "ecology", "sign_acceptance")
    s.act(
        "district-office",
        c.IssueSupervisionNotice(case_id=case_id, task_id=task, respond_by=s.days(3), note="n"),
    )
    pipeline.project(views, StatusProjection())
    before = {a.unit: a for a in accountability(views, s.clock.now + timedelta(days=2))}
    after = {a.unit: a for a in accountability(views, s.clock.now + timedelta(days=4))}
    assert before["ecology"].notices_overdue_now == 0
    assert after["ecology"].notices_overdue_now == 1
    assert after["ecology"].escalation["red"] == before["ecology"].escalation["red"] + 1
