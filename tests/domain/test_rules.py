"""DOMAIN.md section 7: every rule, and a test that tries to break it.

Each refusal names the rule and the field, and records nothing: the event count
is the same before and after.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.errors import (
    DomainError,
    DuplicateListing,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from domain.events import (
    AcceptanceRequested,
    EnterpriseListed,
    Reclassified,
    RecordCorrected,
    TaskCancelled,
)
from domain.values import (
    CaseState,
    Evidence,
    LegalBasis,
    OrderKind,
    ProblemKind,
    SupplyState,
    Utility,
)
from tests.domain.scenario import OTHER_TOWN, TOWN, Scenario, evidence, uscc


def refused(
    s: Scenario, unit: str, command: c.Command, error: type[DomainError], field: str
) -> DomainError:
    before = s.app.event_count()
    with pytest.raises(error) as info:
        s.act(unit, command)
    assert info.value.field == field, info.value
    assert s.app.event_count() == before, "a refused command recorded events"
    return info.value


def closing_case(s: Scenario) -> UUID:
    case_id = s.list(serial=7)
    s.classify(case_id, "close")
    return case_id


def rectify_case(s: Scenario, problems: tuple[ProblemKind, ...] = (ProblemKind.NO_EIA,)) -> UUID:
    case_id = s.list(problems=problems)
    s.classify(case_id, "rectify")
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕1号"))
    return case_id


# ---------------------------------------------------------------- rule 1


class TestRule1OnlyTheNamedUnitMayPost:
    def test_a_department_cannot_post_another_departments_action(self, s: Scenario) -> None:
        case_id = closing_case(s)
        error = refused(
            s,
            "forestry",
            c.RevokeLicence(case_id=case_id, document_number="x", legal_basis="y"),
            PermissionDenied,
            "unit",
        )
        assert "rule 1" in error.rule

    def test_a_utility_cannot_classify(self, s: Scenario) -> None:
        case_id = s.list()
        refused(
            s,
            "power",
            c.Classify(case_id=case_id, disposition="close", reason="r", deadline=s.days(9)),
            PermissionDenied,
            "unit",
        )

    def test_an_unknown_unit_cannot_post_anything(self, s: Scenario) -> None:
        case_id = s.list()
        refused(
            s,
            "mystery-bureau",
            c.Classify(case_id=case_id, disposition="close", reason="r", deadline=s.days(9)),
            PermissionDenied,
            "unit",
        )

    def test_a_town_cannot_act_on_a_case_outside_its_territory(self, s: Scenario) -> None:
        """And the refusal is the one for a case that does not exist (DOMAIN.md 12): a
        town cannot probe which case ids exist elsewhere."""
        case_id = s.list()
        s.classify(case_id, "rectify")
        command = c.OrderSuspension(case_id=case_id, document_number="白沙〔2021〕1号")
        before = s.app.event_count()
        with pytest.raises(NotFound) as outside:
            s.act(OTHER_TOWN, command)
        with pytest.raises(NotFound) as missing:
            s.act(OTHER_TOWN, command.model_copy(update={"case_id": uuid4()}))
        assert str(outside.value).replace(str(case_id), "ID") == str(missing.value).replace(
            str(missing.value).split("no case ")[1], "ID"
        )
        assert s.app.event_count() == before

    def test_a_town_cannot_list_in_another_territory(self, s: Scenario) -> None:
        refused(
            s,
            OTHER_TOWN,
            c.ListEnterprise(name="x", address="y", town=TOWN),
            PermissionDenied,
            "town",
        )

    def test_a_listing_names_a_registered_territory(self, s: Scenario) -> None:
        refused(
            s,
            TOWN,
            c.ListEnterprise(name="x", address="y", town="town:atlantis"),
            InvalidInput,
            "town",
        )

    def test_problems_are_recorded_by_their_lead_unit(self, s: Scenario) -> None:
        case_id = s.list()
        refused(
            s,
            "ecology",
            c.RecordProblem(
                case_id=case_id, kind=ProblemKind.FIRE_HAZARD, description="no extinguishers"
            ),
            PermissionDenied,
            "unit",
        )

    def test_only_named_units_support_a_joint_enforcement(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
        result = s.act(
            TOWN,
            c.LaunchJointEnforcement(
                case_id=case_id, units=("police",), planned_for=s.days(1), document_number="J1"
            ),
        )
        operation_id = result.created["id"]
        refused(
            s,
            "market",
            c.SupportJointEnforcement(case_id=case_id, operation_id=operation_id),
            PermissionDenied,
            "unit",
        )


# ---------------------------------------------------------------- rule 2


class TestRule2Uscc:
    def test_a_wrong_check_character_is_refused(self, s: Scenario) -> None:
        bad = uscc(1)[:-1] + ("0" if uscc(1)[-1] != "0" else "1")
        error = refused(
            s,
            TOWN,
            c.ListEnterprise(name="x", address="y", town=TOWN, uscc=bad),
            InvalidInput,
            "uscc",
        )
        assert "GB 32100-2015" in error.message

    @pytest.mark.parametrize(
        "code", ["91350100M000100Y4", "91350100M000100YI3", "9135010OM000100Y43"]
    )
    def test_malformed_codes_are_refused_even_with_an_override(
        self, s: Scenario, code: str
    ) -> None:
        refused(
            s,
            TOWN,
            c.ListEnterprise(
                name="x", address="y", town=TOWN, uscc=code, uscc_override_reason="pilot code"
            ),
            InvalidInput,
            "uscc",
        )

    def test_an_early_pilot_code_is_accepted_only_with_a_recorded_override(
        self, s: Scenario
    ) -> None:
        pilot = "91350100M000100Y44"  # fails only the checksum
        refused(
            s,
            TOWN,
            c.ListEnterprise(name="x", address="y", town=TOWN, uscc=pilot),
            InvalidInput,
            "uscc",
        )
        result = s.act(
            TOWN,
            c.ListEnterprise(
                name="x",
                address="y",
                town=TOWN,
                uscc=pilot,
                uscc_override_reason="2015 pilot code, 工商 letter",
            ),
        )
        listed = s.app.history(result.aggregate_id)[0]
        assert isinstance(listed, EnterpriseListed)
        assert listed.enterprise.uscc_override_reason == "2015 pilot code, 工商 letter"

    def test_a_blank_override_reason_is_no_reason(self, s: Scenario) -> None:
        refused(
            s,
            TOWN,
            c.ListEnterprise(
                name="x",
                address="y",
                town=TOWN,
                uscc="91350100M000100Y44",
                uscc_override_reason=" ",
            ),
            InvalidInput,
            "uscc_override_reason",
        )

    def test_an_override_reason_without_a_uscc_is_refused(self, s: Scenario) -> None:
        refused(
            s,
            TOWN,
            c.ListEnterprise(name="x", address="y", town=TOWN, uscc_override_reason="pilot code"),
            InvalidInput,
            "uscc_override_reason",
        )

    def test_an_enterprise_with_a_uscc_is_listed_once_and_the_refusal_points_to_it(
        self, s: Scenario
    ) -> None:
        first = s.list(serial=42)
        error = refused(
            s,
            OTHER_TOWN,
            c.ListEnterprise(name="same", address="y", town=OTHER_TOWN, uscc=uscc(42)),
            DuplicateListing,
            "uscc",
        )
        assert error.details["existing_case_id"] == str(first)
        assert "rule 2" in error.rule

    def test_unlicensed_workshops_without_a_uscc_are_listable(self, s: Scenario) -> None:
        first, second = s.list(licensed=False), s.list(licensed=False)
        assert first != second


# ---------------------------------------------------------------- rule 3


class TestRule3Classification:
    def test_a_classification_needs_a_reason(self, s: Scenario) -> None:
        case_id = s.list()
        blank: dict[str, Any] = {
            "case_id": case_id,
            "disposition": "close",
            "reason": "   ",
            "deadline": s.days(9),
        }
        # The aggregate refuses a blank reason itself, not only the command model at the edge.
        refused(s, "economy", c.Classify.model_construct(**blank), InvalidInput, "reason")
        for reason in ("", "   ", "\u200b"):
            with pytest.raises(ValidationError, match="reason"):
                c.Classify(**{**blank, "reason": reason})

    def test_a_classification_needs_a_deadline_in_the_future(self, s: Scenario) -> None:
        case_id = s.list()
        with pytest.raises(ValidationError, match="deadline"):
            c.Classify.model_validate({"case_id": case_id, "disposition": "close", "reason": "r"})
        refused(
            s,
            "economy",
            c.Classify(case_id=case_id, disposition="close", reason="r", deadline=s.days(-1)),
            InvalidInput,
            "deadline",
        )

    def test_reclassification_is_its_own_event_with_its_reason(self, s: Scenario) -> None:
        case_id = s.list()
        s.classify(case_id, "rectify")
        s.act(
            "economy",
            c.Classify(
                case_id=case_id, disposition="close", reason="整改无望", deadline=s.days(20)
            ),
        )
        last = [e for e in s.app.history(case_id) if isinstance(e, Reclassified)]
        assert len(last) == 1
        assert last[0].previous_disposition == "rectify"
        assert last[0].reason == "整改无望"
        case = s.case(case_id)
        assert case.disposition == "close"
        open_duties = {(t.unit, t.completes_on.value) for t in case.open_tasks()}
        assert ("ecology", "sign_acceptance") not in open_duties  # the rectify tasks are cancelled
        assert ("market", "revoke_licence") in open_duties

    def test_a_case_past_acceptance_cannot_be_reclassified(self, s: Scenario) -> None:
        case_id = s.list()
        s.classify(case_id, "close")
        for utility, unit in ((Utility.POWER, "economy"), (Utility.WATER, "housing")):
            s.cut(case_id, utility, unit, "close_classification")
        s.act("market", c.RevokeLicence(case_id=case_id, document_number="d", legal_basis="l"))
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
        refused(
            s,
            "economy",
            c.Classify(case_id=case_id, disposition="rectify", reason="r", deadline=s.days(9)),
            RuleViolation,
            "state",
        )


# ---------------------------------------------------------------- rule 4


class TestRule4UtilityOrdersNeedALegalBasis:
    def order(
        self,
        s: Scenario,
        case_id: UUID,
        utility: Utility = Utility.POWER,
        grounds: str = "close_classification",
        kind: str = "cut",
    ) -> c.RequestUtilityOrder:
        return c.RequestUtilityOrder(
            case_id=case_id,
            utility=utility,
            kind=kind,
            grounds=grounds,
            document_number="江津经信〔2021〕停电1号",
            deadline=s.days(5),
        )

    def test_no_blanket_orders_without_the_grounds_holding(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        error = refused(s, "economy", self.order(s, case_id), RuleViolation, "grounds")
        assert "一刀切" in error.message
        refused(
            s,
            "economy",
            self.order(s, case_id, grounds="failed_acceptance"),
            RuleViolation,
            "grounds",
        )

    @pytest.mark.parametrize("utility", [Utility.POWER, Utility.GAS])
    def test_resumption_is_no_ground_until_it_is_recorded(
        self, s: Scenario, utility: Utility
    ) -> None:
        case_id = s.list(problems=(ProblemKind.NO_EIA,), connections=(utility,))
        s.classify(case_id, "rectify")
        s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="停1"))
        requester = "economy" if utility is Utility.POWER else TOWN
        order = self.order(s, case_id, utility, grounds="unauthorized_resumption")
        refused(s, requester, order, RuleViolation, "grounds")  # no 一刀切
        s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
        s.act(requester, order)

    def test_an_order_names_its_document_number(self, s: Scenario) -> None:
        case_id = closing_case(s)
        with pytest.raises(ValidationError, match="document_number"):
            c.RequestUtilityOrder(
                case_id=case_id,
                utility="power",
                kind="cut",
                grounds="close_classification",
                document_number="",
                deadline=s.days(5),
            )
        refused(
            s,
            "economy",
            c.RequestUtilityOrder.model_construct(  # past the edge: the aggregate's own rule
                case_id=case_id,
                utility=Utility.POWER,
                kind=OrderKind.CUT,
                grounds=LegalBasis.CLOSE_CLASSIFICATION,
                document_number="  ",
                deadline=s.days(5),
                legal_basis="",
            ),
            InvalidInput,
            "document_number",
        )

    def test_water_is_cut_only_for_closed_enterprises(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        refused(
            s,
            "housing",
            self.order(s, case_id, Utility.WATER, "failed_acceptance"),
            InvalidInput,
            "grounds",
        )

    def test_restoration_is_requested_only_on_passed_acceptance(self, s: Scenario) -> None:
        case_id = closing_case(s)
        refused(s, "economy", self.order(s, case_id, kind="restore"), InvalidInput, "grounds")
        refused(
            s,
            "economy",
            self.order(s, case_id, kind="restore", grounds="acceptance_passed"),
            RuleViolation,
            "grounds",
        )

    def test_gas_is_cut_never_limited(self, s: Scenario) -> None:
        case_id = s.list(connections=(Utility.GAS,))
        s.classify(case_id, "close")
        refused(s, TOWN, self.order(s, case_id, Utility.GAS, kind="limit"), InvalidInput, "kind")

    def test_no_order_for_a_supply_the_enterprise_does_not_have(self, s: Scenario) -> None:
        case_id = closing_case(s)
        refused(s, TOWN, self.order(s, case_id, Utility.GAS), RuleViolation, "utility")

    def test_a_failed_acceptance_is_a_legal_basis_for_power(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
        s.act("ecology", c.SignAcceptance(case_id=case_id, passed=False, reasons=("no EIA",)))
        s.act("economy", self.order(s, case_id, grounds="failed_acceptance"))
        assert s.case(case_id).orders


# ---------------------------------------------------------------- rule 5


class TestRule5OrdersSettleExactlyOnceByTheirUtility:
    def pending(self, s: Scenario) -> tuple[UUID, str]:
        case_id = closing_case(s)
        s.request_order(case_id, Utility.POWER, "economy", document_number="停电1号")
        return case_id, s.order_of(case_id, Utility.POWER)

    def test_a_utility_executes_only_orders_addressed_to_it(self, s: Scenario) -> None:
        _, order_id = self.pending(s)
        refused(
            s,
            "water",
            c.ExecuteOrder(order_id=order_id, meter="m", reading=1, executed_at=s.clock.now),
            PermissionDenied,
            "order_id",
        )

    def test_an_order_is_executed_once(self, s: Scenario) -> None:
        _, order_id = self.pending(s)
        s.execute(order_id, Utility.POWER)
        refused(
            s,
            "power",
            c.ExecuteOrder(order_id=order_id, meter="m", reading=1, executed_at=s.clock.now),
            RuleViolation,
            "order_id",
        )
        refused(
            s, "power", c.RefuseOrder(order_id=order_id, reason="late"), RuleViolation, "order_id"
        )
        refused(
            s,
            "economy",
            c.CancelUtilityOrder(order_id=order_id, reason="oops"),
            RuleViolation,
            "order_id",
        )

    def test_a_redelivered_receipt_records_nothing_and_is_no_error(self, s: Scenario) -> None:
        _, order_id = self.pending(s)
        execute = c.ExecuteOrder(
            order_id=order_id, meter="m", reading=1, executed_at=s.clock.now, receipt_id="power-r-1"
        )
        s.act("power", execute)
        before = s.app.event_count()
        assert s.act("power", execute).events == 0
        assert s.app.event_count() == before
        refused(
            s,
            "power",
            execute.model_copy(update={"receipt_id": "power-r-2"}),
            RuleViolation,
            "order_id",
        )

    def test_a_refusal_gives_its_reason_and_settles_the_order(self, s: Scenario) -> None:
        case_id, order_id = self.pending(s)
        blank = c.RefuseOrder.model_construct(order_id=order_id, reason=" ", receipt_id=None)
        refused(s, "power", blank, InvalidInput, "reason")
        with pytest.raises(ValidationError, match="reason"):
            c.RefuseOrder(order_id=order_id, reason=" ")
        s.act("power", c.RefuseOrder(order_id=order_id, reason="户号不符"))
        assert s.case(case_id).orders[order_id].status == "refused"
        refused(
            s,
            "power",
            c.ExecuteOrder(order_id=order_id, meter="m", reading=1, executed_at=s.clock.now),
            RuleViolation,
            "order_id",
        )

    def test_only_the_requesting_unit_or_the_district_office_cancels(self, s: Scenario) -> None:
        case_id, order_id = self.pending(s)
        refused(
            s,
            "housing",
            c.CancelUtilityOrder(order_id=order_id, reason="r"),
            PermissionDenied,
            "order_id",
        )
        s.act("district-office", c.CancelUtilityOrder(order_id=order_id, reason="停止一刀切"))
        assert s.case(case_id).orders[order_id].status == "cancelled"

    def test_an_unknown_order_is_not_found(self, s: Scenario) -> None:
        case_id, _ = self.pending(s)
        refused(s, "power", c.AcknowledgeOrder(order_id=f"{case_id}/O999"), NotFound, "order_id")


# ---------------------------------------------------------------- rule 6


class TestRule6AcceptanceNeedsEverySignature:
    def requested(self, s: Scenario) -> UUID:
        case_id = rectify_case(s, (ProblemKind.NO_EIA, ProblemKind.FIRE_HAZARD))
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
        return case_id

    def test_acceptance_does_not_pass_while_a_required_unit_has_not_signed(
        self, s: Scenario
    ) -> None:
        case_id = self.requested(s)
        assert set(s.case(case_id).acceptance.required) == {"ecology", "fire", TOWN}  # type: ignore[union-attr]
        s.act("ecology", c.SignAcceptance(case_id=case_id, passed=True))
        s.act(TOWN, c.SignAcceptance(case_id=case_id, passed=True))
        case = s.case(case_id)
        assert case.state is CaseState.ACCEPTANCE_REQUESTED
        assert case.approval_lock
        s.act("fire", c.SignAcceptance(case_id=case_id, passed=True))
        assert s.case(case_id).state is CaseState.ACCEPTED
        assert not s.case(case_id).approval_lock

    def test_a_unit_that_is_not_required_cannot_sign(self, s: Scenario) -> None:
        case_id = self.requested(s)
        refused(
            s, "planning", c.SignAcceptance(case_id=case_id, passed=True), PermissionDenied, "unit"
        )

    def test_a_unit_signs_a_round_once(self, s: Scenario) -> None:
        case_id = self.requested(s)
        s.act("fire", c.SignAcceptance(case_id=case_id, passed=True))
        refused(s, "fire", c.SignAcceptance(case_id=case_id, passed=True), RuleViolation, "unit")

    def test_any_required_unit_may_fail_it_with_reasons(self, s: Scenario) -> None:
        case_id = self.requested(s)
        refused(s, "fire", c.SignAcceptance(case_id=case_id, passed=False), InvalidInput, "reasons")
        s.act("ecology", c.SignAcceptance(case_id=case_id, passed=True))
        s.act("fire", c.SignAcceptance(case_id=case_id, passed=False, reasons=("通道堵塞",)))
        case = s.case(case_id)
        assert case.state is CaseState.SUSPENDED
        assert case.acceptance_failed
        assert case.approval_lock


# ---------------------------------------------------------------- rule 7


class TestRule7StrikeOffOnlyWhenTheEndConditionsHold:
    def test_a_closing_case_needs_two_cuts_three_clears_verified(self, s: Scenario) -> None:
        case_id = closing_case(s)
        error = refused(s, TOWN, c.StrikeOff(case_id=case_id), RuleViolation, "state")
        assert "两断三清 not verified" in error.details["blockers"]  # type: ignore[operator]
        verify = c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence(),
        )
        # the utilities have not cut yet: the town cannot claim 两断
        refused(s, TOWN, verify, RuleViolation, "water_and_power_cut")
        s.cut(case_id, Utility.POWER, "economy", "close_classification")
        s.cut(case_id, Utility.WATER, "housing", "close_classification")
        refused(
            s,
            TOWN,
            verify.model_copy(update={"equipment_cleared": False}),
            InvalidInput,
            "equipment_cleared",
        )
        refused(s, TOWN, verify.model_copy(update={"evidence": ()}), InvalidInput, "evidence")
        s.act(TOWN, verify)
        # the licence is still valid
        error = refused(s, TOWN, c.StrikeOff(case_id=case_id), RuleViolation, "state")
        assert error.details["blockers"] == ["business licence not revoked"]
        s.act("market", c.RevokeLicence(case_id=case_id, document_number="d", legal_basis="l"))
        s.act(TOWN, c.StrikeOff(case_id=case_id))
        assert s.case(case_id).state is CaseState.STRUCK_OFF

    def test_a_rectified_case_needs_acceptance_and_restored_supplies(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
        s.act("ecology", c.SignAcceptance(case_id=case_id, passed=False, reasons=("r",)))
        s.cut(case_id, Utility.POWER, "economy", "failed_acceptance")
        refused(s, TOWN, c.StrikeOff(case_id=case_id), RuleViolation, "state")
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence("again")))
        s.act("ecology", c.SignAcceptance(case_id=case_id, passed=True))
        s.act(TOWN, c.SignAcceptance(case_id=case_id, passed=True))
        error = refused(s, TOWN, c.StrikeOff(case_id=case_id), RuleViolation, "state")
        assert "power supply not restored" in error.details["blockers"]  # type: ignore[operator]
        s.execute(s.order_of(case_id, Utility.POWER, "restore"), Utility.POWER)
        assert s.case(case_id).supplies[Utility.POWER].state is SupplyState.ON
        s.act(TOWN, c.StrikeOff(case_id=case_id))

    @pytest.mark.parametrize(
        "item",
        ["water_and_power_cut", "raw_materials_cleared", "products_cleared", "equipment_cleared"],
    )
    def test_each_item_of_two_cuts_three_clears_left_unchecked_is_refused(
        self, s: Scenario, item: str
    ) -> None:
        case_id = closing_case(s)
        s.cut(case_id, Utility.POWER, "economy", "close_classification")
        s.cut(case_id, Utility.WATER, "housing", "close_classification")
        checked = c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence(),
        )
        refused(s, TOWN, checked.model_copy(update={item: False}), InvalidInput, item)
        s.act(TOWN, checked)

    def test_a_limited_supply_is_not_cut_at_closure(self, s: Scenario) -> None:
        case_id = closing_case(s)
        s.cut(case_id, Utility.POWER, "economy", "close_classification")
        limit = s.request_order(case_id, Utility.WATER, "housing", kind="limit")
        s.execute(limit, Utility.WATER)
        assert s.case(case_id).supplies[Utility.WATER].state is SupplyState.LIMITED
        verify = c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence(),
        )
        error = refused(s, TOWN, verify, RuleViolation, "water_and_power_cut")
        assert "water" in error.message

    def test_open_tasks_are_named_and_block_strike_off_until_done_or_cancelled(
        self, s: Scenario
    ) -> None:
        case_id = rectify_case(s, (ProblemKind.FIRE_HAZARD,))
        s.act(TOWN, c.ReportUnauthorizedResumption(case_id=case_id, evidence=evidence()))
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=evidence()))
        for unit in ("fire", TOWN):
            s.act(unit, c.SignAcceptance(case_id=case_id, passed=True))
        error = refused(s, TOWN, c.StrikeOff(case_id=case_id), RuleViolation, "state")
        task = s.task_of(case_id, TOWN, "launch_joint_enforcement")
        assert error.details["blockers"] == [
            f"task {task} of {TOWN} still open: launch joint enforcement (联合执法)"
        ]
        refused(
            s,
            "district-office",
            c.CancelTask.model_construct(case_id=case_id, task_id=task, reason=" "),
            InvalidInput,
            "reason",
        )
        s.act(
            "district-office",
            c.CancelTask(case_id=case_id, task_id=task, reason="验收已通过，无需联合执法"),
        )
        s.act(TOWN, c.StrikeOff(case_id=case_id))
        cancelled = [e for e in s.app.history(case_id) if isinstance(e, TaskCancelled)]
        assert [(e.task_id, e.reason, e.actor.unit) for e in cancelled] == [
            (task, "验收已通过，无需联合执法", "district-office")
        ]


# ---------------------------------------------------------------- rule 8


class TestRule8EvidenceIsAContentHash:
    def test_a_filename_alone_is_not_evidence(self) -> None:
        with pytest.raises(ValidationError, match="sha256"):
            Evidence.model_validate({"locator": "IMG_0001.jpg"})
        with pytest.raises(ValidationError, match="rule 8"):
            Evidence(sha256="IMG_0001.jpg", locator="s3://x/IMG_0001.jpg")

    def test_actions_that_need_evidence_refuse_without_it(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        refused(s, TOWN, c.RequestAcceptance(case_id=case_id), InvalidInput, "evidence")
        refused(s, TOWN, c.ReportUnauthorizedResumption(case_id=case_id), InvalidInput, "evidence")

    def test_the_hash_and_locator_are_kept(self, s: Scenario) -> None:
        case_id = rectify_case(s)
        proof = evidence("acceptance-photo")
        s.act(TOWN, c.RequestAcceptance(case_id=case_id, evidence=proof))
        requested = [e for e in s.app.history(case_id) if isinstance(e, AcceptanceRequested)]
        assert requested[0].evidence == proof
        assert proof[0].sha256 == hashlib.sha256(b"acceptance-photo").hexdigest()


# ---------------------------------------------------------------- rule 9


class TestRule9EventsAreNeverEdited:
    def test_a_correction_is_a_new_event_naming_what_it_corrects(self, s: Scenario) -> None:
        case_id = s.list(name="江津某家俱厂")
        original = s.app.history(case_id)[0]
        s.act(
            TOWN,
            c.CorrectRecord(
                case_id=case_id,
                corrects_version=1,
                reason="错别字",
                changes={"name": "江津某家具厂"},
            ),
        )
        history = s.app.history(case_id)
        assert history[0] == original  # the listing itself is untouched
        correction = history[-1]
        assert isinstance(correction, RecordCorrected)
        assert (correction.corrects_version, correction.corrects_event) == (1, "EnterpriseListed")
        assert s.case(case_id).enterprise.name == "江津某家具厂"  # type: ignore[union-attr]

    def test_only_the_recording_unit_or_the_district_office_corrects(self, s: Scenario) -> None:
        case_id = s.list()
        refused(
            s,
            "market",
            c.CorrectRecord(case_id=case_id, corrects_version=1, reason="r", changes={"name": "x"}),
            PermissionDenied,
            "unit",
        )
        s.act(
            "district-office",
            c.CorrectRecord(
                case_id=case_id, corrects_version=1, reason="r", changes={"address": "新地址"}
            ),
        )

    def test_identity_and_territory_cannot_be_corrected_away(self, s: Scenario) -> None:
        case_id = s.list(serial=3)
        for field in ("town", "uscc"):
            refused(
                s,
                TOWN,
                c.CorrectRecord(
                    case_id=case_id, corrects_version=1, reason="r", changes={field: "x"}
                ),
                InvalidInput,
                "changes",
            )

    def test_a_correction_names_an_existing_version(self, s: Scenario) -> None:
        case_id = s.list()
        refused(
            s,
            TOWN,
            c.CorrectRecord(
                case_id=case_id, corrects_version=99, reason="r", changes={"name": "x"}
            ),
            NotFound,
            "corrects_version",
        )

    def test_the_application_offers_no_way_to_edit_or_delete(self, s: Scenario) -> None:
        public = {name for name in dir(s.app) if not name.startswith("_")}
        assert not {n for n in public if n.startswith(("update", "delete", "edit", "remove"))}
