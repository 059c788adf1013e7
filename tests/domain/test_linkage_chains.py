"""Nothing stalls: every chain one unit's decision starts ends with an owner, a deadline
and a closing event (the plan's 联动). Each test walks a chain that once stalled silently,
or a duty of the plan's section 四 that had no way to be recorded."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain import commands as c
from domain.errors import InvalidInput, PermissionDenied, RuleViolation
from domain.events import (
    AssistanceRecorded,
    ClassificationConcurred,
    ClassificationObjected,
    LicenceRevoked,
    ObjectionDecided,
    RefusalToStopReported,
    SewerWorkRecorded,
    SupplyReconnected,
)
from domain.values import CaseState, IncidentKind, PermitKind, ProblemKind, SupplyState, Utility
from tests.domain.scenario import OTHER_TOWN, TOWN, Scenario, evidence, uscc

PARK = "platform:degan-park"


def suspended(s: Scenario, *problems: ProblemKind, connections: tuple[Utility, ...] = ()) -> UUID:
    case_id = s.list(problems=problems or (ProblemKind.NO_EIA,), connections=connections)
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停1"))
    return case_id


def verify_closure(s: Scenario, case_id: UUID) -> None:
    s.act(
        TOWN,
        c.VerifyClosure(
            case_id=case_id, water_and_power_cut=True, raw_materials_cleared=True,
            products_cleared=True, equipment_cleared=True, evidence=evidence(),
        ),
    )  # fmt: skip


def open_duties(s: Scenario, case_id: UUID) -> set[tuple[str, str]]:
    return {(t.unit, t.completes_on.value) for t in s.case(case_id).open_tasks()}


# ---------------------------------------------------------------- defects


def test_joint_enforcement_names_only_units_that_may_support_it(s: Scenario) -> None:
    case_id = suspended(s, connections=(Utility.POWER, Utility.GAS))
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
    for unit in ("water", "petitions", "district-office", "cyberspace", OTHER_TOWN):
        with pytest.raises(InvalidInput) as refused:
            s.act(
                TOWN,
                c.LaunchJointEnforcement(
                    case_id=case_id, units=(unit,), planned_for=s.days(2), document_number="j"
                ),
            )
        assert refused.value.field == "units"
    # 十四: the power and gas companies support the town's enforcement.
    launched = s.act(
        TOWN,
        c.LaunchJointEnforcement(
            case_id=case_id, units=("power", "gas", "police"), planned_for=s.days(2),
            document_number="联执2号",
        ),
    )  # fmt: skip
    for unit in ("power", "gas", "police"):
        s.act(unit, c.SupportJointEnforcement(case_id=case_id, operation_id=launched.created["id"]))
    assert not {d for d in open_duties(s, case_id) if d[1] == "support_joint_enforcement"}


def test_arbitration_moves_the_acceptance_signer_with_the_task(s: Scenario) -> None:
    case_id = suspended(s, ProblemKind.SEWER_CONNECTION)
    task = s.task_of(case_id, "housing", "sign_acceptance")
    dispute = s.act("housing", c.RaiseDispute(case_id=case_id, task_id=task, reason="属规划"))
    with pytest.raises(InvalidInput) as refused:  # cyberspace cannot sign an acceptance
        s.act(
            "district-office",
            c.ArbitrateDispute(
                case_id=case_id,
                dispute_id=dispute.created["id"],
                responsible_unit="cyberspace",
                reason="r",
            ),
        )
    assert refused.value.field == "responsible_unit"
    s.act(
        "district-office",
        c.ArbitrateDispute(
            case_id=case_id, dispute_id=dispute.created["id"], responsible_unit="planning",
            reason="按职责裁定",
        ),
    )  # fmt: skip
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    required = s.case(case_id).acceptance.required  # type: ignore[union-attr]
    assert "planning" in required
    assert "housing" not in required
    s.act("planning", c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.SignAcceptance(case_id=case_id, passed=True))
    assert s.case(case_id).state is CaseState.ACCEPTED
    assert s.case(case_id).tasks[task].done_at is not None, "planning's task is done"
    s.act(TOWN, c.StrikeOff(case_id=case_id))


def test_arbitration_during_a_round_moves_the_signer_of_that_round(s: Scenario) -> None:
    case_id = suspended(s, ProblemKind.SEWER_CONNECTION)
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    task = s.task_of(case_id, "housing", "sign_acceptance")
    dispute = s.act("housing", c.RaiseDispute(case_id=case_id, task_id=task, reason="r"))
    s.act(
        "district-office",
        c.ArbitrateDispute(
            case_id=case_id, dispute_id=dispute.created["id"], responsible_unit="planning",
            reason="r",
        ),
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        s.act("housing", c.SignAcceptance(case_id=case_id, passed=True))
    s.act("planning", c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.SignAcceptance(case_id=case_id, passed=True))
    assert s.case(case_id).state is CaseState.ACCEPTED


def test_a_moot_order_to_stop_is_closed_with_its_reason_when_closure_is_verified(
    s: Scenario,
) -> None:
    case_id = s.list(serial=3, connections=(Utility.POWER,), licensed=False)
    s.classify(case_id, "close")
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    verify_closure(s, case_id)
    task = s.case(case_id).tasks[
        next(
            t
            for t, r in s.case(case_id).tasks.items()
            if r.completes_on.value == "order_suspension"
        )
    ]
    assert task.cancelled_at is not None
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    assert open_duties(s, case_id) == {(TOWN, "record_follow_up")}


@pytest.mark.parametrize("ending", ["refused", "cancelled"])
def test_an_order_that_ends_unexecuted_tasks_its_requester_to_reissue(
    s: Scenario, ending: str
) -> None:
    case_id = s.list(connections=(Utility.WATER,))
    s.classify(case_id, "close")
    order_id = s.request_order(case_id, Utility.WATER, "housing")
    if ending == "refused":
        s.act("water", c.RefuseOrder(order_id=order_id, reason="户号有误"))
    else:
        s.act("housing", c.CancelUtilityOrder(order_id=order_id, reason="文号有误"))
    task = s.case(case_id).tasks[s.task_of(case_id, "housing", "request_water_order")]
    assert task.ref == order_id
    assert task.deadline == s.days(5)
    s.cut(case_id, Utility.WATER, "housing", "close_classification")  # re-issued and done
    assert s.case(case_id).tasks[task.task_id].done_at is not None


def test_a_refused_restoration_is_requested_again_on_passed_acceptance(s: Scenario) -> None:
    case_id = suspended(s, connections=(Utility.POWER,))
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    s.act("ecology", c.SignAcceptance(case_id=case_id, passed=False, reasons=("未环评",)))
    s.cut(case_id, Utility.POWER, "economy", "failed_acceptance")
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence("2")))
    for unit in ("ecology", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    restore = s.order_of(case_id, Utility.POWER, "restore")
    s.act("power", c.RefuseOrder(order_id=restore, reason="欠费"))
    assert s.task_of(case_id, "economy", "request_power_order")
    again = s.request_order(
        case_id, Utility.POWER, "economy", grounds="acceptance_passed", kind="restore"
    )
    s.execute(again, Utility.POWER)
    assert s.case(case_id).supplies[Utility.POWER].state is SupplyState.ON
    s.act(TOWN, c.StrikeOff(case_id=case_id))


def test_reconnection_after_strike_off_reopens_the_case_and_allows_a_new_cut(
    s: Scenario,
) -> None:
    case_id = s.list(serial=5, connections=(Utility.POWER,), licensed=False)
    s.classify(case_id, "close")
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    verify_closure(s, case_id)
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    s.clock.advance(days=40)
    s.act("power", c.ReportReconnection(case_id=case_id, evidence=evidence("meter-turning")))
    case = s.case(case_id)
    assert case.state is CaseState.REOPENED
    assert case.relapses == 1
    assert case.unauthorized_resumption
    assert case.supplies[Utility.POWER].state is SupplyState.ON
    assert [type(e) for e in s.app.history(case_id)].count(SupplyReconnected) == 1
    assert {(TOWN, "launch_joint_enforcement"), ("economy", "classify")} <= open_duties(s, case_id)
    assert (TOWN, "record_follow_up") not in open_duties(s, case_id), "the re-check happened"
    # The power can be cut again, on the recorded resumption.
    s.cut(case_id, Utility.POWER, "economy", "unauthorized_resumption")


def test_a_town_finding_production_resumed_after_strike_off_reopens_the_case(
    s: Scenario,
) -> None:
    case_id = suspended(s, ProblemKind.FIRE_HAZARD)
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("fire", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence("night")))
    assert s.case(case_id).state is CaseState.REOPENED


def test_an_unanswered_notice_past_its_date_is_overdue_and_answered_ones_are_not(
    s: Scenario,
) -> None:
    case_id = suspended(s)
    task = s.task_of(case_id, "ecology", "sign_acceptance")
    notice = s.act(
        "district-office",
        c.IssueSupervisionNotice(case_id=case_id, task_id=task, respond_by=s.days(3), note="n"),
    )
    recorded = s.case(case_id).notices[notice.created["id"]]
    assert recorded.respond_by == s.days(3)
    # The accountability view counts it (tests/projections/test_views.py); here: its date
    # is kept with the notice, and answering it records the answer.
    s.clock.advance(days=4)
    s.act(
        "ecology",
        c.AnswerSupervisionNotice(case_id=case_id, notice_id=notice.created["id"], answer="a"),
    )
    assert s.case(case_id).notices[notice.created["id"]].answered_at == s.clock.now


def test_revoking_twice_says_already_revoked(s: Scenario) -> None:
    case_id = s.list(serial=9)
    s.classify(case_id, "close")
    revoke = c.RevokeLicence(case_id=case_id, document_number="d", legal_basis="l")
    s.act("market", revoke)
    with pytest.raises(RuleViolation, match="already revoked"):
        s.act("market", revoke)


# ---------------------------------------------------------------- duties of section 四


def test_duty_03_classification_needs_the_towns_concurrence_or_is_reconsidered(
    s: Scenario,
) -> None:
    case_id = s.list()
    s.classify(case_id, "close", concur=False)
    assert (TOWN, "concur_classification") in open_duties(s, case_id)
    with pytest.raises(PermissionDenied):
        s.act("ecology", c.ConcurClassification(case_id=case_id, agree=True))
    with pytest.raises(InvalidInput):
        s.act(TOWN, c.ConcurClassification(case_id=case_id, agree=False))  # no reason
    s.act(TOWN, c.ConcurClassification(case_id=case_id, agree=False, reason="可整治"))
    assert ("economy", "classify") in open_duties(s, case_id), "economy reconsiders"
    s.classify(case_id, "rectify", concur=False)
    s.act(TOWN, c.ConcurClassification(case_id=case_id, agree=True))
    case = s.case(case_id)
    assert (case.classified_by, case.concurred_by) == ("economy", TOWN)
    kinds = [type(e) for e in s.app.history(case_id)]
    assert ClassificationObjected in kinds
    assert ClassificationConcurred in kinds
    # A classification by the town is concurred by economy (a joint classification).
    other = s.list()
    s.classify(other, "rectify", unit=TOWN, concur=False)
    assert ("economy", "concur_classification") in open_duties(s, other)


@pytest.mark.parametrize(
    ("unit", "permit"),
    [
        ("economy", PermitKind.PROJECT_FILING),
        ("housing", PermitKind.DRAINAGE_PERMIT),
        ("forestry", PermitKind.FOREST_LAND_USE),
        ("planning", PermitKind.PLANNING_PERMIT),
        ("market", PermitKind.BUSINESS_LICENCE),
        ("ecology", PermitKind.EIA),
    ],
)
def test_duties_03_to_08_each_department_records_what_it_grants_a_compliant_enterprise(
    s: Scenario, unit: str, permit: PermitKind
) -> None:
    case_id = suspended(s)
    s.act(unit, c.GrantPermit(case_id=case_id, permit=permit, document_number="许可1号"))
    assert permit in s.case(case_id).permits
    wrong = "ecology" if unit != "ecology" else "planning"
    with pytest.raises(PermissionDenied):
        s.act(wrong, c.GrantPermit(case_id=case_id, permit=permit, document_number="x"))


def test_duty_07_revocation_at_the_district_governments_request_on_any_unlawful_enterprise(
    s: Scenario,
) -> None:
    case_id = suspended(s)  # rectify: no revocation task from classification
    revoke = c.RevokeLicence(case_id=case_id, document_number="d", legal_basis="l")
    with pytest.raises(RuleViolation):
        s.act("market", revoke)
    s.act(
        "district-office",
        c.RequestLicenceRevocation(case_id=case_id, reason="无证排污", document_number="江津府1号"),
    )
    task = s.case(case_id).tasks[s.task_of(case_id, "market", "revoke_licence")]
    assert task.deadline == s.days(15)
    s.act("market", revoke)
    assert s.case(case_id).licence_revoked
    assert any(isinstance(e, LicenceRevoked) for e in s.app.history(case_id))


def test_duty_05_housing_assists_on_illegal_structures_and_records_sewer_work(
    s: Scenario,
) -> None:
    case_id = suspended(s, ProblemKind.ILLEGAL_STRUCTURE)
    duties = open_duties(s, case_id)
    assert ("planning", "sign_acceptance") in duties, "the competent authority leads"
    assert ("housing", "record_assistance") in duties, "housing assists (配合)"
    assert ("housing", "sign_acceptance") not in duties
    with pytest.raises(PermissionDenied):
        s.act("forestry", c.RecordAssistance(case_id=case_id, problem_id="P1", description="d"))
    s.act("housing", c.RecordAssistance(case_id=case_id, problem_id="P1", description="督促拆除"))
    s.act("housing", c.RecordSewerWork(case_id=case_id, description="接入管网", completed=True))
    kinds = [type(e) for e in s.app.history(case_id)]
    assert AssistanceRecorded in kinds
    assert SewerWorkRecorded in kinds
    assert ("housing", "record_assistance") not in open_duties(s, case_id)


def test_duty_12_referral_to_police_and_an_investigation_end_with_an_outcome(
    s: Scenario,
) -> None:
    case_id = s.list()
    referral = s.act(
        "ecology",
        c.RecordIncident(case_id=case_id, kind=IncidentKind.REFERRAL, summary="涉嫌污染环境罪"),
    )
    assert ("police", "close_referral") in open_duties(s, case_id)
    investigation = s.act(
        "police",
        c.RecordIncident(
            case_id=case_id, kind=IncidentKind.CRIMINAL_INVESTIGATION, summary="立案侦查"
        ),
    )
    s.act(
        "police",
        c.CloseIncident(
            case_id=case_id, kind=IncidentKind.REFERRAL, incident_id=referral.created["id"],
            resolution=f"已立案（{investigation.created['id']}）",
        ),
    )  # fmt: skip
    with pytest.raises(PermissionDenied):  # only the police close their investigation
        s.act(
            "ecology",
            c.CloseIncident(
                case_id=case_id, kind=IncidentKind.CRIMINAL_INVESTIGATION,
                incident_id=investigation.created["id"], resolution="r",
            ),
        )  # fmt: skip
    s.act(
        "police",
        c.CloseIncident(
            case_id=case_id, kind=IncidentKind.CRIMINAL_INVESTIGATION,
            incident_id=investigation.created["id"], resolution="移送起诉",
        ),
    )  # fmt: skip
    incidents = s.case(case_id).incidents
    assert incidents[investigation.created["id"]].outcome == "移送起诉"
    assert not [d for d in open_duties(s, case_id) if d[0] == "police"]


@pytest.mark.parametrize(
    ("unit", "kind", "closer", "days"),
    [
        ("cyberspace", IncidentKind.PUBLIC_OPINION, "cyberspace", 7),
        ("petitions", IncidentKind.PETITION, "petitions", 30),
        ("transport", IncidentKind.VEHICLE_RESTRICTION, "transport", 30),
        ("police", IncidentKind.CRIMINAL_INVESTIGATION, "police", 60),
        (TOWN, IncidentKind.REFERRAL, "police", 10),
    ],
)
def test_incidents_have_an_owner_and_a_deadline(
    s: Scenario, unit: str, kind: IncidentKind, closer: str, days: int
) -> None:
    case_id = s.list()
    opened = s.act(unit, c.RecordIncident(case_id=case_id, kind=kind, summary="s"))
    incident = s.case(case_id).incidents[opened.created["id"]]
    assert incident.deadline == s.days(days)
    [task] = [t for t in s.case(case_id).open_tasks() if t.ref == incident.incident_id]
    assert (task.unit, task.deadline) == (closer, s.days(days))


def test_duty_15_refusal_to_stop_is_its_own_ground_for_joint_enforcement(s: Scenario) -> None:
    case_id = suspended(s)
    launch = c.LaunchJointEnforcement(
        case_id=case_id, units=("police",), planned_for=s.days(1), document_number="j"
    )
    with pytest.raises(RuleViolation):
        s.act(TOWN, launch)
    s.act(TOWN, c.ReportRefusalToStop(case_id=case_id, evidence=evidence("still-working")))
    case = s.case(case_id)
    assert case.refused_to_stop
    assert not case.unauthorized_resumption, "refusing to stop is not resuming"
    assert any(isinstance(e, RefusalToStopReported) for e in s.app.history(case_id))
    s.act(TOWN, launch)
    assert (TOWN, "launch_joint_enforcement") not in open_duties(s, case_id)


def test_relocation_records_its_destination_and_the_park_admits_it(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.INDUSTRIAL_POLICY,))
    s.classify(case_id, "relocate")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="迁1"))
    with pytest.raises(InvalidInput):  # a park platform, not a town
        s.act("economy", c.SetRelocationDestination(case_id=case_id, park=OTHER_TOWN, address="a"))
    s.act("economy", c.SetRelocationDestination(case_id=case_id, park=PARK, address="园区7号"))
    assert (PARK, "confirm_park_entry") in open_duties(s, case_id)
    with pytest.raises(PermissionDenied):  # the park only admits; it does not run the case
        s.act(PARK, c.OrderSuspension(case_id=case_id, document_number="x"))
    s.act(PARK, c.ConfirmParkEntry(case_id=case_id, evidence=evidence("lease")))
    case = s.case(case_id)
    assert case.destination is not None
    assert (case.destination.park, case.destination.address) == (PARK, "园区7号")
    assert case.park_entry_confirmed
    assert s.app.may_see(PARK, case)


def test_a_relocation_is_not_accepted_before_the_park_admits_it(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.INDUSTRIAL_POLICY,))
    s.classify(case_id, "relocate")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="迁1"))
    s.act(TOWN, c.VerifyOldSite(case_id=case_id, evidence=evidence()))
    for permit in (PermitKind.EIA, PermitKind.DISCHARGE_PERMIT):
        s.act("ecology", c.GrantPermit(case_id=case_id, permit=permit, document_number="p"))
    with pytest.raises(RuleViolation) as refused:
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    assert refused.value.details["missing"] == ["destination park not named"]


def test_after_strike_off_a_follow_up_check_is_scheduled_for_the_town(s: Scenario) -> None:
    case_id = suspended(s, ProblemKind.FIRE_HAZARD)
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("fire", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    [task] = s.case(case_id).open_tasks()
    assert (task.unit, task.completes_on.value, task.deadline) == (
        TOWN,
        "record_follow_up",
        s.clock.now + timedelta(days=90),
    )
    s.clock.advance(days=80)
    s.act(
        "district-office",
        c.RecordFollowUp(case_id=case_id, relapse=False, findings="未复产", evidence=evidence()),
    )
    assert s.case(case_id).open_tasks() == [], "the check done by the district office counts"


def test_the_follow_up_interval_is_a_setting(s: Scenario) -> None:
    s.app.follow_up_check = timedelta(days=30)  # LIANDONG_FOLLOW_UP_CHECK_DAYS in settings
    case_id = suspended(s, ProblemKind.FIRE_HAZARD)
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in ("fire", TOWN):
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    [task] = s.case(case_id).open_tasks()
    assert task.deadline == s.clock.now + timedelta(days=30)


def test_the_enterprise_is_served_notice_and_its_objection_is_heard(s: Scenario) -> None:
    case_id = s.list()
    s.classify(case_id, "close")
    served = s.act(
        TOWN,
        c.ServeEnterpriseNotice(
            case_id=case_id, kind="关停取缔告知书", document_number="德感〔2021〕告1号",
            respond_by=s.days(3),
        ),
    )  # fmt: skip
    served_id = served.created["id"]
    notice = s.case(case_id).served[served_id]
    assert (notice.served_on, notice.respond_by) == (s.clock.now, s.days(3))
    s.act(
        TOWN,
        c.RecordObjection(
            case_id=case_id, served_id=served_id, statement="已整改，请求听证",
            hearing_requested=True,
        ),
    )  # fmt: skip
    assert ("economy", "decide_objection") in open_duties(s, case_id), "who decided, hears it"
    with pytest.raises(PermissionDenied):
        s.act(
            TOWN, c.DecideObjection(case_id=case_id, served_id=served_id, upheld=True, outcome="o")
        )
    s.act(
        "economy",
        c.DecideObjection(case_id=case_id, served_id=served_id, upheld=False, outcome="改为整治"),
    )
    assert s.case(case_id).served[served_id].outcome == "改为整治"
    assert any(isinstance(e, ObjectionDecided) for e in s.app.history(case_id))


def test_a_mistaken_listing_is_withdrawn_its_work_cancelled_and_supplies_restored(
    s: Scenario,
) -> None:
    case_id = s.list(serial=21, connections=(Utility.POWER,))
    s.classify(case_id, "close")
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    with pytest.raises(PermissionDenied):
        s.act("ecology", c.WithdrawListing(case_id=case_id, reason="r"))
    s.act(TOWN, c.WithdrawListing(case_id=case_id, reason="误列：系合法企业"))
    case = s.case(case_id)
    assert case.state is CaseState.WITHDRAWN
    assert not case.approval_lock
    assert open_duties(s, case_id) == {("power", "execute_order")}, "only the restoration waits"
    s.execute(s.order_of(case_id, Utility.POWER, "restore"), Utility.POWER)
    assert s.case(case_id).supplies[Utility.POWER].state is SupplyState.ON
    with pytest.raises(RuleViolation):
        s.act(TOWN, c.WithdrawListing(case_id=case_id, reason="again"))


def test_a_uscc_is_added_when_a_workshop_registers_and_stays_unique(s: Scenario) -> None:
    case_id = s.list(licensed=False)
    taken = s.list(serial=31)
    with pytest.raises(InvalidInput):
        s.act("market", c.AddUscc(case_id=case_id, uscc=uscc(32)[:-1] + "0"))
    with pytest.raises(Exception, match="already listed"):
        s.act("market", c.AddUscc(case_id=case_id, uscc=uscc(31)))
    s.act("market", c.AddUscc(case_id=case_id, uscc=uscc(33)))
    enterprise = s.case(case_id).enterprise
    assert enterprise is not None
    assert (enterprise.uscc, enterprise.licensed) == (uscc(33), True)
    assert s.app.case_for_uscc(uscc(33)) == case_id
    assert taken != case_id


def test_listing_the_same_unlicensed_workshop_again_warns_and_names_the_case(
    s: Scenario,
) -> None:
    first = s.list(licensed=False, name="江津某木材加工点", address="德感街道 某村3组")
    again = s.act(
        TOWN,
        c.ListEnterprise(
            name="江津某木材加工点", address="德感街道某村３组", town=TOWN, licensed=False
        ),
    )
    [warning] = again.created["warnings"]
    assert str(first) in warning
    elsewhere = s.act(
        OTHER_TOWN,
        c.ListEnterprise(name="江津某木材加工点", address="德感街道某村3组", town=OTHER_TOWN),
    )
    assert "warnings" not in elsewhere.created, "another town's yard is another workshop"


def test_duty_07_four_mountains_areas_are_data_and_new_applicants_inside_are_refused(
    s: Scenario,
) -> None:
    define = c.DefineControlArea(name="四面山管制区", town="town:simianshan", places=("飞龙村",))
    with pytest.raises(PermissionDenied):
        s.act("market", define)
    s.act("district-office", define)
    areas = s.app.control_areas()
    assert areas is not None
    assert areas.area_for("town:simianshan", "四面山镇飞龙村2组") is not None
    assert areas.area_for("town:simianshan", "四面山镇土城村") is None
    assert areas.area_for(TOWN, "飞龙村") is None, "an area belongs to its town"
    refuse = c.RefuseRegistration(
        applicant="某新办厂", address="四面山镇飞龙村2组", town="town:simianshan",
        document_number="江津市监〔2021〕不予登记1号", reason="四山管制区内新建生产型企业",
    )  # fmt: skip
    s.act("market", refuse)
    with pytest.raises(InvalidInput):  # outside every area: nothing to refuse on
        s.act("market", refuse.model_copy(update={"address": "四面山镇土城村"}))
    s.act("district-office", c.RemoveControlArea(area_id="A1", reason="划界调整"))
    areas = s.app.control_areas()
    assert areas is not None
    assert areas.area_for("town:simianshan", "四面山镇飞龙村2组") is None
