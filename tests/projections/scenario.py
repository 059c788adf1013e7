"""A small campaign with known deadlines, used by several projection tests."""

from __future__ import annotations

from uuid import UUID

from domain import commands as c
from domain.values import ProblemKind, Utility
from tests.domain.scenario import OTHER_TOWN, TOWN, Scenario, evidence


def campaign(s: Scenario) -> dict[str, UUID]:
    """Four cases in two towns. Day 0: listing and classification (deadlines day 30)."""
    ids: dict[str, UUID] = {}
    ids["rectify"] = s.list(serial=1, problems=(ProblemKind.NO_EIA, ProblemKind.FIRE_HAZARD))
    ids["close"] = s.list(serial=2, connections=(Utility.POWER, Utility.WATER))
    ids["listed"] = s.list(serial=3, town=OTHER_TOWN)
    ids["struck"] = s.list(serial=4, problems=(ProblemKind.LAND_USE_PLAN,), connections=())
    s.classify(ids["rectify"], "rectify")
    s.classify(ids["close"], "close")
    s.classify(ids["struck"], "rectify")
    s.clock.advance(days=10)  # day 10: the town suspends both rectify cases on time
    s.act(TOWN, c.OrderSuspension(case_id=ids["rectify"], document_number="停1"))
    s.act(TOWN, c.OrderSuspension(case_id=ids["struck"], document_number="停2"))
    s.act(
        "market", c.RevokeLicence(case_id=ids["close"], document_number="吊1", legal_basis="依法")
    )
    s.clock.advance(days=25)  # day 35: past the deadlines
    s.act(TOWN, c.RequestAcceptance(case_id=ids["struck"], evidence=evidence()))
    s.act("planning", c.SignAcceptance(case_id=ids["struck"], passed=True))  # late
    s.act(TOWN, c.SignAcceptance(case_id=ids["struck"], passed=True))  # late
    s.act(TOWN, c.StrikeOff(case_id=ids["struck"]))
    task = s.task_of(ids["close"], "economy", "request_power_order")
    s.act(
        "district-office",
        c.IssueSupervisionNotice(
            case_id=ids["close"], task_id=task, respond_by=s.days(3), note="督办"
        ),
    )
    return ids
