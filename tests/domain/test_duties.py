"""The plan's section 四, duty by duty: each unit can post what its duty names, and the
linkage carries the result to the units that must act on it."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from domain import commands as c
from domain.consumption import Reading
from domain.errors import PermissionDenied, RuleViolation
from domain.events import ApprovalDenied, IncidentClosed, IncidentOpened
from domain.patrol import PatrolRecorded
from domain.values import CaseState, IncidentKind, ProblemKind, SupplyState, Utility
from tests.domain.scenario import TOWN, Scenario, evidence


def suspended_rectify(s: Scenario, problems: tuple[ProblemKind, ...]) -> UUID:
    case_id = s.list(problems=problems)
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕停字9号"))
    return case_id


def sign_all(s: Scenario, case_id: UUID) -> None:
    s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
    for unit in s.case(case_id).acceptance.required:  # type: ignore[union-attr]
        s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))


def test_duty_01_district_office_supervises_extends_arbitrates_and_reopens(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.SEWER_CONNECTION,))
    task_id = s.task_of(case_id, "housing", "sign_acceptance")
    s.clock.advance(days=31)  # past the 30-day deadline
    task = s.case(case_id).tasks[task_id]
    assert task.clock.overdue_by(s.clock.now) is not None
    notice = s.act(
        "district-office",
        c.IssueSupervisionNotice(
            case_id=case_id, task_id=task_id, respond_by=s.days(3), note="请于3日内说明进度"
        ),
    )
    s.act(
        "housing",
        c.AnswerSupervisionNotice(
            case_id=case_id, notice_id=notice.created["id"], answer="已督促拆除"
        ),
    )
    assert s.case(case_id).notices[notice.created["id"]].answered_at == s.clock.now
    s.act(
        "district-office",
        c.ExtendDeadline(
            case_id=case_id, task_id=task_id, new_deadline=s.days(15), reason="雨季施工困难"
        ),
    )
    assert s.case(case_id).tasks[task_id].clock.overdue_by(s.clock.now) is None
    dispute = s.act(
        "housing",
        c.RaiseDispute(
            case_id=case_id, task_id=task_id, reason="违建查处属规划职责", suggested_unit="planning"
        ),
    )
    s.act(
        "district-office",
        c.ArbitrateDispute(
            case_id=case_id,
            dispute_id=dispute.created["id"],
            responsible_unit="planning",
            reason="按职责裁定",
        ),
    )
    assert s.case(case_id).tasks[task_id].unit == "planning"


def test_duty_01_district_office_reopens_a_struck_off_case(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.FIRE_HAZARD,))
    sign_all(s, case_id)
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    s.act("district-office", c.ReopenCase(case_id=case_id, reason="群众举报复产"))
    assert s.case(case_id).state is CaseState.REOPENED


@pytest.mark.parametrize(
    ("unit", "kind"),
    [("cyberspace", IncidentKind.PUBLIC_OPINION), ("petitions", IncidentKind.PETITION)],
)
def test_duty_02_and_11_public_opinion_and_petitions_are_recorded_and_closed(
    s: Scenario, unit: str, kind: IncidentKind
) -> None:
    case_id = s.list()
    opened = s.act(unit, c.RecordIncident(case_id=case_id, kind=kind, summary="网民反映噪声扰民"))
    s.act(
        unit,
        c.CloseIncident(
            case_id=case_id,
            kind=kind,
            incident_id=opened.created["id"],
            resolution="已回应并公开整治进展",
        ),
    )
    history = s.app.history(case_id)
    opening = [e for e in history if isinstance(e, IncidentOpened)]
    closing = [e for e in history if isinstance(e, IncidentClosed)]
    assert [e.incident.kind for e in opening] == [kind]
    assert [e.resolution for e in closing] == ["已回应并公开整治进展"]
    assert not [t for t in s.case(case_id).open_tasks() if t.ref == opened.created["id"]]
    other = "petitions" if unit == "cyberspace" else "cyberspace"
    with pytest.raises(PermissionDenied):
        s.act(other, c.RecordIncident(case_id=case_id, kind=kind, summary="x"))


@pytest.mark.parametrize(
    "unit", ["economy", "ecology", "housing", "forestry", "planning", "market"]
)
def test_duties_03_to_08_departments_deny_approvals_to_listed_enterprises(
    s: Scenario, unit: str
) -> None:
    case_id = s.list()
    assert s.case(case_id).approval_lock
    kind = "registration" if unit == "market" else "filing"
    s.act(
        unit,
        c.DenyApproval(
            case_id=case_id, approval_kind=kind, application_ref="2021-117", reason="列入散乱污台账"
        ),
    )
    denied = s.app.history(case_id)[-1]
    assert isinstance(denied, ApprovalDenied)
    assert denied.actor.unit == unit


def test_duty_03_economy_classifies_and_requests_power_cut_for_closure(s: Scenario) -> None:
    case_id = s.list(problems=(ProblemKind.INDUSTRIAL_POLICY,))
    s.classify(case_id, "close", unit="economy")
    order_id = s.cut(case_id, Utility.POWER, "economy", "close_classification")
    assert s.case(case_id).orders[order_id].requested_by == "economy"
    assert s.case(case_id).supplies[Utility.POWER].state is SupplyState.CUT


def test_duty_04_ecology_records_problems_grants_permits_and_signs_off(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.NO_EIA,))
    s.act(
        "ecology",
        c.RecordProblem(
            case_id=case_id,
            kind=ProblemKind.NO_DISCHARGE_PERMIT,
            description="未申领排污许可证",
            evidence=evidence(),
        ),
    )
    s.act("ecology", c.GrantPermit(case_id=case_id, permit="eia", document_number="渝(津)环准9号"))
    s.act(
        "ecology",
        c.GrantPermit(
            case_id=case_id, permit="discharge_permit", document_number="91500116MA0001XXXX002Q"
        ),
    )
    sign_all(s, case_id)
    assert s.case(case_id).state is CaseState.ACCEPTED


def test_duty_05_housing_records_illegal_structure_and_requests_water_cut(s: Scenario) -> None:
    case_id = s.list(problems=())
    s.act(
        "housing",
        c.RecordProblem(
            case_id=case_id, kind=ProblemKind.ILLEGAL_STRUCTURE, description="违章搭建彩钢棚"
        ),
    )
    s.classify(case_id, "close")
    s.cut(case_id, Utility.WATER, "housing", "close_classification")
    assert s.case(case_id).supplies[Utility.WATER].state is SupplyState.CUT


def test_duty_06_forestry_leads_and_signs_off_protected_zone_problems(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.PROTECTED_ZONE,))
    assert s.task_of(case_id, "forestry", "sign_acceptance")
    sign_all(s, case_id)
    assert s.case(case_id).state is CaseState.ACCEPTED


def test_duty_07_market_revokes_licence_and_opens_food_safety_case(s: Scenario) -> None:
    case_id = s.list(serial=77)
    s.act(
        "market",
        c.RecordProblem(
            case_id=case_id, kind=ProblemKind.FOOD_DRUG_SAFETY, description="无证生产豆制品"
        ),
    )
    s.classify(case_id, "close")
    s.act(
        "market",
        c.RevokeLicence(
            case_id=case_id,
            document_number="江津市监〔2021〕1号",
            legal_basis="按区政府要求依法吊销",
        ),
    )
    assert s.case(case_id).licence_revoked


def test_duty_08_planning_signs_off_land_use_problems(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.LAND_USE_PLAN,))
    sign_all(s, case_id)
    assert s.case(case_id).state is CaseState.ACCEPTED


def test_duty_09_a_major_hazard_is_ordered_removed_coordinated_and_closed(s: Scenario) -> None:
    case_id = s.list(problems=())
    s.act(
        "emergency",
        c.RecordProblem(
            case_id=case_id, kind=ProblemKind.PRODUCTION_SAFETY, description="粉尘涉爆", major=True
        ),
    )
    assert s.task_of(case_id, "emergency", "order_hazard_removal"), "a major hazard has a sequel"
    order = s.act(
        "emergency",
        c.RecordIncident(
            case_id=case_id,
            kind=IncidentKind.HAZARD_REMOVAL_ORDER,
            summary="限期消除粉尘涉爆隐患",
            document_number="津应急1号",
            deadline=s.days(10),
            units=(TOWN, "fire"),
        ),
    )
    incident_id = order.created["id"]
    # Emergency coordinates: each named unit and emergency itself hold a task to the deadline.
    waiting = {
        (t.unit, t.completes_on.value, t.deadline)
        for t in s.case(case_id).open_tasks()
        if t.ref == incident_id
    }
    assert waiting == {
        (TOWN, "report_hazard_removed", s.days(10)),
        ("fire", "report_hazard_removed", s.days(10)),
        ("emergency", "close_hazard_removal", s.days(10)),
    }
    close = c.CloseIncident(
        case_id=case_id,
        kind=IncidentKind.HAZARD_REMOVAL_ORDER,
        incident_id=incident_id,
        resolution="隐患已消除",
    )
    s.act(
        TOWN, c.ReportHazardRemoved(case_id=case_id, incident_id=incident_id, evidence=evidence())
    )
    with pytest.raises(RuleViolation, match="fire"):
        s.act("emergency", close)
    s.act(
        "fire", c.ReportHazardRemoved(case_id=case_id, incident_id=incident_id, evidence=evidence())
    )
    s.act("emergency", close)
    case = s.case(case_id)
    assert case.incidents[incident_id].closed
    assert case.incidents[incident_id].outcome == "隐患已消除"
    assert [t for t in case.open_tasks() if t.ref in (incident_id, "hazard")] == []


def test_duty_10_transport_records_violation_and_restricts_vehicles(s: Scenario) -> None:
    case_id = s.list(problems=())
    s.act(
        "transport",
        c.RecordProblem(
            case_id=case_id, kind=ProblemKind.TRANSPORT_VIOLATION, description="超载运输"
        ),
    )
    s.act(
        "transport",
        c.RecordIncident(
            case_id=case_id, kind=IncidentKind.VEHICLE_RESTRICTION, summary="渝A12345 限制通行"
        ),
    )
    assert len(s.case(case_id).incidents) == 1


def test_duty_12_police_record_obstruction_investigate_and_support_enforcement(
    s: Scenario,
) -> None:
    case_id = suspended_rectify(s, (ProblemKind.POLLUTION_CONTROL,))
    s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
    op = s.act(
        TOWN,
        c.LaunchJointEnforcement(
            case_id=case_id, units=("police",), planned_for=s.days(1), document_number="联执2号"
        ),
    )
    s.act("police", c.SupportJointEnforcement(case_id=case_id, operation_id=op.created["id"]))
    s.act(
        "police",
        c.RecordIncident(case_id=case_id, kind=IncidentKind.OBSTRUCTION, summary="业主阻挠执法"),
    )
    s.act(
        "police",
        c.RecordIncident(
            case_id=case_id,
            kind=IncidentKind.CRIMINAL_INVESTIGATION,
            summary="涉嫌污染环境罪",
            document_number="津公立字1号",
        ),
    )
    case = s.case(case_id)
    assert case.operations[op.created["id"]].supported_by == ("police",)
    assert len(case.incidents) == 2


def test_duty_13_fire_records_fire_hazard_and_signs_off(s: Scenario) -> None:
    case_id = suspended_rectify(s, ())
    s.act(
        "fire",
        c.RecordProblem(case_id=case_id, kind=ProblemKind.FIRE_HAZARD, description="消防通道堵塞"),
    )
    assert s.task_of(case_id, "fire", "sign_acceptance")
    sign_all(s, case_id)
    assert "fire" in s.case(case_id).acceptance.signed  # type: ignore[union-attr]


def test_duty_14_power_and_gas_acknowledge_execute_or_refuse(s: Scenario) -> None:
    case_id = s.list(connections=(Utility.POWER, Utility.GAS, Utility.WATER))
    s.classify(case_id, "close")
    for utility, unit in ((Utility.POWER, "economy"), (Utility.GAS, TOWN)):
        s.act(
            unit,
            c.RequestUtilityOrder(
                case_id=case_id,
                utility=utility,
                kind="cut",
                grounds="close_classification",
                document_number="停字1号",
                deadline=s.days(5),
            ),
        )
    power, gas = s.order_of(case_id, Utility.POWER), s.order_of(case_id, Utility.GAS)
    s.act("power", c.AcknowledgeOrder(order_id=power))
    s.execute(power, Utility.POWER)
    s.act("gas", c.RefuseOrder(order_id=gas, reason="该户已于上月销户"))
    case = s.case(case_id)
    assert (case.orders[power].status, case.orders[gas].status) == ("executed", "refused")
    assert case.orders[power].meter == "power-001"


def test_duty_05_water_supplier_executes_water_orders(s: Scenario) -> None:
    case_id = s.list()
    s.classify(case_id, "close")
    s.request_order(
        case_id,
        Utility.WATER,
        "housing",
        "close_classification",
        kind="limit",
        document_number="限水1号",
    )
    order_id = s.order_of(case_id, Utility.WATER, "limit")
    s.act("water", c.AcknowledgeOrder(order_id=order_id))
    s.execute(order_id, Utility.WATER)
    assert s.case(case_id).supplies[Utility.WATER].state is SupplyState.LIMITED


def test_duty_14_power_readings_flag_resumption_for_the_town_to_verify(s: Scenario) -> None:
    case_id = suspended_rectify(s, (ProblemKind.POLLUTION_CONTROL,))
    readings = [Reading(day=date(2021, 10, d), day_kwh=10, night_kwh=2) for d in range(1, 11)]
    s.act("power", c.ReportConsumption(case_id=case_id, readings=tuple(readings)))
    assert s.case(case_id).flags == {}
    result = s.act(
        "power",
        c.ReportConsumption(
            case_id=case_id, readings=(Reading(day=date(2021, 10, 11), day_kwh=5, night_kwh=40),)
        ),
    )
    [flag_id] = result.created["ids"]
    case = s.case(case_id)
    assert case.flags[flag_id].rule == "night_over_day"
    assert not case.unauthorized_resumption, "a flag is never a penalty by itself"
    s.act(
        TOWN,
        c.VerifyConsumptionFlag(
            case_id=case_id, flag_id=flag_id, resumed=True, evidence=evidence("night-shift")
        ),
    )
    case = s.case(case_id)
    assert case.unauthorized_resumption
    assert s.task_of(case_id, TOWN, "launch_joint_enforcement")


def test_duty_15_town_patrols_and_lists_what_it_finds(s: Scenario) -> None:
    patrol = s.act(
        TOWN,
        c.RecordPatrol(
            town=TOWN,
            patrol_date=date(2021, 11, 1),
            area="德感工业园周边",
            findings="发现1家无证木材加工点",
            evidence=evidence("patrol"),
        ),
    )
    patrol_id = UUID(patrol.created["patrol_id"])
    case_id = s.list(licensed=False, found_by_patrol=patrol_id)
    assert s.app.history(case_id)[0].found_by_patrol == patrol_id  # type: ignore[attr-defined]
    recorded = list(s.app.events.get(patrol_id))
    assert isinstance(recorded[0], PatrolRecorded)


def test_duty_15_town_runs_a_closure_and_strikes_it_off(s: Scenario) -> None:
    case_id = s.list(licensed=False, connections=(Utility.POWER, Utility.GAS))
    s.classify(case_id, "close", unit=TOWN)
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停产1号"))
    s.cut(case_id, Utility.GAS, TOWN, "close_classification")
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    s.act(
        TOWN,
        c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence(),
        ),
    )
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    assert s.case(case_id).state is CaseState.STRUCK_OFF
