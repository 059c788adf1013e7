"""Each disposition from listing to 销号, and a relapse found by 回头看 that reopens a case."""

from __future__ import annotations

from uuid import UUID

from domain import commands as c
from domain.events import (
    AcceptancePassed,
    ApprovalLockLifted,
    CaseReopened,
    UtilityOrderCancelled,
    UtilityOrderIssued,
)
from domain.values import CaseState, OrderKind, ProblemKind, SupplyState, Utility
from tests.domain.scenario import TOWN, Scenario, evidence

PARK = "platform:degan-park"


def events_of(s: Scenario, case_id: UUID, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in s.app.history(case_id) if isinstance(e, kind)]


def test_close_from_listing_to_strike_off(s: Scenario) -> None:
    case_id = s.list(serial=11, connections=(Utility.POWER, Utility.WATER, Utility.GAS))
    s.classify(case_id, "close")
    duties = {(t.unit, t.completes_on.value) for t in s.case(case_id).open_tasks()}
    assert duties == {
        ("market", "revoke_licence"),
        ("economy", "request_power_order"),
        ("housing", "request_water_order"),
        (TOWN, "request_gas_order"),
        (TOWN, "order_suspension"),
        (TOWN, "verify_closure"),
    }
    s.clock.advance(days=1)
    s.act(
        "market",
        c.RevokeLicence(
            case_id=case_id,
            document_number="江津市监〔2021〕9号",
            legal_basis="《无证无照经营查处办法》",
        ),
    )
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕停字2号"))
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    s.cut(case_id, Utility.WATER, "housing", "close_classification")
    s.cut(case_id, Utility.GAS, TOWN, "close_classification")
    s.clock.advance(days=2)
    s.act(
        TOWN,
        c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence("cleared-site"),
        ),
    )
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    case = s.case(case_id)
    assert case.state is CaseState.STRUCK_OFF
    assert case.approval_lock, "a closed enterprise stays under the approval lock"
    assert all(s.state is SupplyState.CUT for s in case.supplies.values())
    follow_up = [(t.unit, t.completes_on.value, t.deadline) for t in case.open_tasks()]
    assert follow_up == [(TOWN, "record_follow_up", s.days(90))], "回头看 is scheduled"


def test_rectify_from_listing_to_strike_off_with_restoration(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.POLLUTION_CONTROL, ProblemKind.PRODUCTION_SAFETY))
    s.classify(case_id, "rectify")
    duties = {(t.unit, t.completes_on.value) for t in s.case(case_id).open_tasks()}
    assert duties == {
        (TOWN, "order_suspension"),
        ("ecology", "sign_acceptance"),
        ("emergency", "sign_acceptance"),
        (TOWN, "request_acceptance"),
    }
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕停字3号"))
    # Production resumed before acceptance: power is cut on that ground.
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence("night")))
    s.cut(case_id, Utility.POWER, "economy", "unauthorized_resumption")
    launched = s.act(
        TOWN,
        c.LaunchJointEnforcement(
            case_id=case_id,
            units=("police", "ecology"),
            planned_for=s.days(1),
            document_number="联执1号",
        ),
    )
    for unit in ("police", "ecology"):
        s.act(unit, c.SupportJointEnforcement(case_id=case_id, operation_id=launched.created["id"]))
    s.clock.advance(days=10)
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence("rectified")))
    for unit in ("ecology", "emergency", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    case = s.case(case_id)
    assert case.state is CaseState.ACCEPTED
    assert events_of(s, case_id, AcceptancePassed)
    assert events_of(s, case_id, ApprovalLockLifted)
    restores = [
        e.order
        for e in events_of(s, case_id, UtilityOrderIssued)
        if e.order.kind is OrderKind.RESTORE
    ]
    assert [(o.utility, o.requested_by) for o in restores] == [(Utility.POWER, "economy")]
    s.execute(restores[0].order_id, Utility.POWER)
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    assert s.case(case_id).state is CaseState.STRUCK_OFF


def test_relocate_from_listing_to_strike_off(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.INDUSTRIAL_POLICY, ProblemKind.NO_DISCHARGE_PERMIT))
    s.classify(case_id, "relocate", unit=TOWN)
    duties = {(t.unit, t.completes_on.value) for t in s.case(case_id).open_tasks()}
    assert duties == {
        (TOWN, "order_suspension"),
        ("economy", "sign_acceptance"),
        ("planning", "sign_acceptance"),
        ("ecology", "grant_permit"),
        ("ecology", "sign_acceptance"),
        (TOWN, "verify_old_site"),
        ("economy", "set_relocation_destination"),
        (TOWN, "request_acceptance"),
    }
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕迁字1号"))
    s.act(
        "economy",
        c.SetRelocationDestination(case_id=case_id, park=PARK, address="德感工业园区标准厂房7号"),
    )
    s.act(PARK, c.ConfirmParkEntry(case_id=case_id, evidence=evidence("park-lease")))
    s.act(TOWN, c.VerifyOldSite(case_id=case_id, evidence=evidence("old-site-empty")))
    s.act("ecology", c.GrantPermit(case_id=case_id, permit="eia", document_number="渝(津)环准1号"))
    s.act(
        "ecology",
        c.GrantPermit(
            case_id=case_id, permit="discharge_permit", document_number="91500116MA0001XXXX001Q"
        ),
    )
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence("new-site")))
    required = s.case(case_id).acceptance.required  # type: ignore[union-attr]
    assert set(required) == {"economy", "ecology", "planning", TOWN}
    for unit in required:
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    case = s.case(case_id)
    assert case.state is CaseState.STRUCK_OFF
    assert not case.approval_lock
    assert case.destination is not None
    assert case.destination.park == PARK
    assert [t.completes_on.value for t in case.open_tasks()] == ["record_follow_up"]


def test_a_relapse_found_by_follow_up_reopens_the_case(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.FIRE_HAZARD,), connections=())
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("fire", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    s.clock.advance(days=90)
    s.act(
        TOWN,
        c.RecordFollowUp(
            case_id=case_id, relapse=True, findings="消防通道再次堵塞", evidence=evidence("relapse")
        ),
    )
    case = s.case(case_id)
    assert case.state is CaseState.REOPENED
    assert case.relapses == 1
    assert case.approval_lock
    reopened = events_of(s, case_id, CaseReopened)
    assert reopened[0].relapse
    assert [(t.unit, t.completes_on.value) for t in case.open_tasks()] == [("economy", "classify")]
    # The reopened case is classified again, which is a re-classification.
    s.classify(case_id, "close")
    case = s.case(case_id)
    assert case.state is CaseState.CLASSIFIED
    open_duties = {(t.unit, t.completes_on.value) for t in case.open_tasks()}
    assert ("economy", "classify") not in open_duties, "classifying fulfilled economy's task"
    assert (TOWN, "verify_closure") in open_duties


def test_acceptance_passing_cancels_pending_cuts(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.NO_EIA,))
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    s.act("ecology", c.SignAcceptance(case_id=case_id, passed=False, reasons=("未验收",)))
    s.request_order(
        case_id,
        Utility.POWER,
        "economy",
        "failed_acceptance",
        kind="limit",
        document_number="限电1号",
        days=3,
    )
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence("2")))
    s.act("ecology", c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.SignAcceptance(case_id=case_id, passed=True))
    cancelled = events_of(s, case_id, UtilityOrderCancelled)
    assert [e.reason for e in cancelled] == ["acceptance passed"]
    assert not [
        e for e in events_of(s, case_id, UtilityOrderIssued) if e.order.kind is OrderKind.RESTORE
    ], "nothing was cut, nothing to restore"
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    assert s.case(case_id).state is CaseState.STRUCK_OFF
