"""Random command sequences from random units never break an invariant, and a refused
command never changes the event count."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain import commands as c
from domain.application import Liandong
from domain.case import Case
from domain.catalogue import RECORDED_BY
from domain.consumption import Reading
from domain.deadlines import Threshold
from domain.errors import DomainError
from domain.events import (
    AcceptancePassed,
    AcceptanceRequested,
    AcceptanceSigned,
    DestinationSet,
    EnterpriseListed,
    TaskAssigned,
    TaskCompleted,
    TaskReassigned,
    UtilityOrderCancelled,
    UtilityOrderExecuted,
    UtilityOrderRefused,
)
from domain.units import default_registry
from domain.values import (
    Actor,
    CaseState,
    Disposition,
    IncidentKind,
    LegalBasis,
    OrderKind,
    OrderStatus,
    ProblemKind,
    SupplyState,
    Utility,
)
from tests.domain import parity
from tests.domain.expectations import Expected, check, fold
from tests.domain.scenario import FrozenClock, evidence, uscc

REGISTRY = default_registry()
TOWNS = ["town:degan", "town:baisha"]
UNITS = [u.id for u in REGISTRY.all() if not u.is_territorial] + TOWNS + ["nobody"]
PROOF = evidence("random")
PARK = "platform:degan-park"


def pick(data: st.DataObject, values: list[Any], fallback: Any = "X1") -> Any:
    return data.draw(st.sampled_from(values)) if values else fallback


def case_command(data: st.DataObject, case: Case, now: Any) -> c.Command:
    """A command for `case`, its references drawn from the case's own records (mostly)."""
    cid = case.id
    tasks = list(case.tasks)
    orders = list(case.orders) or [f"{cid}/O1"]
    later = now + timedelta(days=data.draw(st.integers(-2, 40)))
    kind = data.draw(st.integers(0, 37))
    if kind == 0:
        reason = data.draw(st.sampled_from(["r", " "]))
        # A blank reason is refused by the command model at the edge; built unchecked here,
        # it reaches the aggregate, whose own rule 3 must refuse it too.
        build = c.Classify if reason.strip() else c.Classify.model_construct
        return build(
            case_id=cid,
            disposition=data.draw(st.sampled_from(Disposition)),
            reason=reason,
            deadline=later,
        )
    if kind == 1:
        return c.RecordProblem(
            case_id=cid, kind=data.draw(st.sampled_from(ProblemKind)), description="d"
        )
    if kind == 2:
        return c.DenyApproval(case_id=cid, approval_kind="permit", application_ref="a", reason="r")
    if kind == 3:
        return c.GrantPermit(
            case_id=cid,
            permit=data.draw(st.sampled_from(["eia", "discharge_permit"])),
            document_number="p",
        )
    if kind == 4:
        return c.RevokeLicence(case_id=cid, document_number="d", legal_basis="l")
    if kind == 5:
        return c.OrderSuspension(case_id=cid, document_number="d")
    if kind == 6:
        return c.VerifyOldSite(case_id=cid, evidence=data.draw(st.sampled_from([PROOF, ()])))
    if kind == 7:
        return c.RequestAcceptance(case_id=cid, evidence=data.draw(st.sampled_from([PROOF, ()])))
    if kind == 8:
        return c.SignAcceptance(
            case_id=cid,
            passed=data.draw(st.booleans()),
            reasons=data.draw(st.sampled_from([(), ("r",)])),
        )
    if kind == 9:
        return c.VerifyClosure(
            case_id=cid,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=data.draw(st.booleans()),
            evidence=PROOF,
        )
    if kind == 10:
        return c.ReportUnauthorizedResumption(case_id=cid, evidence=PROOF)
    if kind == 11:
        return c.LaunchJointEnforcement(
            case_id=cid, units=("police", "market"), planned_for=later, document_number="j"
        )
    if kind == 12:
        return c.SupportJointEnforcement(
            case_id=cid, operation_id=pick(data, list(case.operations))
        )
    if kind == 13:
        return c.RequestUtilityOrder(
            case_id=cid,
            utility=data.draw(st.sampled_from(Utility)),
            kind=data.draw(st.sampled_from(OrderKind)),
            grounds=data.draw(st.sampled_from(LegalBasis)),
            document_number="o",
            deadline=later,
        )
    if kind == 14:
        return c.ExecuteOrder(order_id=pick(data, orders), meter="m", reading=1.0, executed_at=now)
    if kind == 15:
        return c.RefuseOrder(order_id=pick(data, orders), reason="r")
    if kind == 16:
        return c.CancelUtilityOrder(order_id=pick(data, orders), reason="r")
    if kind == 17:
        start = date(2021, 1, 1) + timedelta(days=case.consumption.days)
        return c.ReportConsumption(
            case_id=cid,
            readings=tuple(
                Reading(
                    day=start + timedelta(days=i),
                    day_kwh=10,
                    night_kwh=data.draw(st.sampled_from([1, 40])),
                )
                for i in range(data.draw(st.integers(1, 3)))
            ),
        )
    if kind == 18:
        return c.VerifyConsumptionFlag(
            case_id=cid,
            flag_id=pick(data, list(case.flags)),
            resumed=data.draw(st.booleans()),
            evidence=PROOF,
        )
    if kind == 19:
        return c.StrikeOff(case_id=cid)
    if kind == 20:
        return c.RecordFollowUp(
            case_id=cid, relapse=data.draw(st.booleans()), findings="f", evidence=PROOF
        )
    if kind == 21:
        return c.IssueSupervisionNotice(
            case_id=cid, task_id=pick(data, tasks), respond_by=later, note="n"
        )
    if kind == 22:
        return c.RaiseDispute(case_id=cid, task_id=pick(data, tasks), reason="r")
    if kind == 23:
        return c.ArbitrateDispute(
            case_id=cid,
            dispute_id=pick(data, list(case.disputes)),
            responsible_unit=data.draw(st.sampled_from(UNITS[:16])),
            reason="r",
        )
    if kind == 25:
        return c.ConcurClassification(
            case_id=cid,
            agree=data.draw(st.booleans()),
            reason=data.draw(st.sampled_from(["", "r"])),
        )
    if kind == 26:
        return c.ReportRefusalToStop(case_id=cid, evidence=PROOF)
    if kind == 27:
        return c.ReportReconnection(case_id=cid, evidence=PROOF)
    if kind == 28:
        return c.SetRelocationDestination(
            case_id=cid, park=data.draw(st.sampled_from([PARK, "police", case.town])), address="a"
        )
    if kind == 29:
        return c.ConfirmParkEntry(case_id=cid)
    if kind == 30:
        return c.WithdrawListing(case_id=cid, reason="r")
    if kind == 31:
        return c.AddUscc(case_id=cid, uscc=uscc(data.draw(st.integers(1, 6))))
    if kind == 32:
        return c.CancelTask(case_id=cid, task_id=pick(data, tasks), reason="r")
    if kind == 33:
        return c.ServeEnterpriseNotice(
            case_id=cid, kind="停产整治告知书", document_number="d", respond_by=later
        )
    if kind == 34:
        served = list(case.served)
        if data.draw(st.booleans()):
            return c.RecordObjection(case_id=cid, served_id=pick(data, served), statement="s")
        return c.DecideObjection(
            case_id=cid, served_id=pick(data, served), upheld=data.draw(st.booleans()), outcome="o"
        )
    if kind == 35:
        return c.RequestLicenceRevocation(case_id=cid, reason="r", document_number="d")
    if kind == 37:
        return c.RemindTask(
            case_id=cid, task_id=pick(data, tasks), threshold=data.draw(st.sampled_from(Threshold))
        )
    if kind == 36:
        incidents = list(case.incidents)
        use_existing: bool = data.draw(st.booleans())
        if incidents and use_existing:
            incident_id = data.draw(st.sampled_from(incidents))
            if data.draw(st.booleans()):
                return c.ReportHazardRemoved(case_id=cid, incident_id=incident_id, evidence=PROOF)
            return c.CloseIncident(
                case_id=cid,
                kind=case.incidents[incident_id].kind,
                incident_id=incident_id,
                resolution="r",
            )
        return c.RecordIncident(
            case_id=cid,
            kind=IncidentKind.HAZARD_REMOVAL_ORDER,
            summary="s",
            units=data.draw(st.sampled_from([(case.town,), ("fire",), (case.town, "fire")])),
        )
    return c.RecordIncident(case_id=cid, kind=data.draw(st.sampled_from(IncidentKind)), summary="s")


def next_step(data: st.DataObject, case: Case, now: Any) -> tuple[str, c.Command] | None:
    cid, town, later = case.id, case.town, now + timedelta(days=30)
    pending = [o for o in case.orders.values() if not o.status.is_final]
    execute_first: bool = data.draw(st.booleans())
    if pending and execute_first:
        order = data.draw(st.sampled_from(pending))
        return order.utility.value, c.ExecuteOrder(
            order_id=order.order_id, meter="m", reading=1.0, executed_at=now
        )
    if case.state in (CaseState.LISTED, CaseState.REOPENED):
        return "economy", c.Classify(
            case_id=cid,
            reason="r",
            deadline=later,
            disposition=data.draw(st.sampled_from(Disposition)),
        )
    concur = [t for t in case.open_tasks() if t.completes_on.value == "concur_classification"]
    if concur:
        return concur[0].unit, c.ConcurClassification(case_id=cid, agree=True)
    if case.state is CaseState.CLASSIFIED:
        return town, c.OrderSuspension(case_id=cid, document_number="d")
    if case.disposition is Disposition.CLOSE and case.state is CaseState.SUSPENDED:
        for utility, supply in case.supplies.items():
            if supply.state is SupplyState.ON:
                unit = {"power": "economy", "water": "housing", "gas": town}[utility.value]
                return unit, c.RequestUtilityOrder(
                    case_id=cid,
                    utility=utility,
                    kind=OrderKind.CUT,
                    deadline=later,
                    grounds=LegalBasis.CLOSE_CLASSIFICATION,
                    document_number="o",
                )
        if case.enterprise and case.enterprise.licensed and not case.licence_revoked:
            return "market", c.RevokeLicence(case_id=cid, document_number="d", legal_basis="l")
        return town, c.VerifyClosure(
            case_id=cid,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=PROOF,
        )
    if case.state is CaseState.SUSPENDED:
        if case.disposition is Disposition.RELOCATE and not case.old_site_verified:
            return town, c.VerifyOldSite(case_id=cid, evidence=PROOF)
        if case.disposition is Disposition.RELOCATE and case.destination is None:
            return "economy", c.SetRelocationDestination(case_id=cid, park=PARK, address="a")
        if case.disposition is Disposition.RELOCATE and not case.park_entry_confirmed:
            assert case.destination is not None
            return case.destination.park, c.ConfirmParkEntry(case_id=cid)
        missing = {"eia", "discharge_permit"} - {p.value for p in case.permits}
        if case.disposition is Disposition.RELOCATE and missing:
            return "ecology", c.GrantPermit(
                case_id=cid, permit=sorted(missing)[0], document_number="p"
            )
        return town, c.RequestAcceptance(case_id=cid, evidence=PROOF)
    if case.state is CaseState.ACCEPTANCE_REQUESTED and case.acceptance:
        waiting = [u for u in case.acceptance.required if u not in case.acceptance.signed]
        passed = data.draw(st.integers(0, 4)) > 0
        return data.draw(st.sampled_from(waiting)), c.SignAcceptance(
            case_id=cid, passed=passed, reasons=() if passed else ("r",)
        )
    if case.state in (CaseState.ACCEPTED, CaseState.CLOSURE_VERIFIED):
        left = [t for t in case.open_tasks() if data.draw(st.integers(0, 3)) > 0]
        if left:  # work nobody will do any more: the district office closes it, with a reason
            return "district-office", c.CancelTask(case_id=cid, task_id=left[0].task_id, reason="r")
        return town, c.StrikeOff(case_id=cid)
    if case.state is CaseState.STRUCK_OFF:
        return town, c.RecordFollowUp(
            case_id=cid, relapse=data.draw(st.booleans()), findings="f", evidence=PROOF
        )
    return None


class Campaign(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock()
        self.app = Liandong(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=self.clock)
        self.cases: list[UUID] = []
        self.refusals: Counter[str] = Counter()

    def attempt(self, unit: str, command: c.Command) -> None:
        before = self.app.event_count()
        try:
            result = self.app.handle(Actor(unit=unit), command)
        except DomainError as error:
            self.refusals[error.code] += 1
            assert self.app.event_count() == before, f"refused {command!r} recorded events"
            return
        assert self.app.event_count() == before + result.events
        if isinstance(command, c.ListEnterprise):
            self.cases.append(result.aggregate_id)

    @rule(
        unit=st.sampled_from([*TOWNS, *TOWNS, *TOWNS, *UNITS]),
        town=st.sampled_from(TOWNS),
        serial=st.none() | st.integers(1, 4),
        licensed=st.booleans(),
        connections=st.sets(st.sampled_from(Utility)),
        problems=st.lists(st.sampled_from(ProblemKind), max_size=3),
    )
    def list_enterprise(
        self,
        unit: str,
        town: str,
        serial: int | None,
        licensed: bool,
        connections: set[Utility],
        problems: list[ProblemKind],
    ) -> None:
        self.attempt(
            unit,
            c.ListEnterprise(
                name="e",
                address="a",
                town=town,
                licensed=licensed,
                uscc=uscc(serial) if serial else None,
                connections=tuple(c.Connection(utility=u) for u in sorted(connections)),
                problems=tuple(c.ProblemInput(kind=k, description="p") for k in problems),
            ),
        )

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def act_on_a_case(self, data: st.DataObject) -> None:
        case = self.app.get_case(data.draw(st.sampled_from(self.cases)))
        command = case_command(data, case, self.clock.now)
        unit = data.draw(st.sampled_from(sorted({*UNITS, case.town})))
        # Favour units that may post the action, so that sequences get somewhere.
        allowed = [u for u in (*UNITS, case.town) if REGISTRY.permits(u, command.action_for())]
        if allowed and data.draw(st.integers(0, 3)) > 0:
            unit = data.draw(st.sampled_from(sorted(allowed)))
        self.attempt(unit, command)

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), steps=st.integers(1, 12))
    def advance_a_case(self, data: st.DataObject, steps: int) -> None:
        """The natural next steps of a case's life, so that sequences reach its late stages
        (销号, 回头看, relapses) and not only its first days."""
        case_id = data.draw(st.sampled_from(self.cases))
        for _ in range(steps):
            step = next_step(data, self.app.get_case(case_id), self.clock.now)
            if step is None:
                return
            self.attempt(*step)

    @rule(hours=st.integers(1, 24 * 20))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @invariant()
    def current_state_is_consistent(self) -> None:
        for case_id in self.cases:
            case = self.app.get_case(case_id)
            if not case.approval_lock:
                assert case.state in (CaseState.ACCEPTED, CaseState.STRUCK_OFF, CaseState.WITHDRAWN)
                assert (
                    case.disposition is not Disposition.CLOSE or case.state is CaseState.WITHDRAWN
                )
            for utility, supply in case.supplies.items():
                if supply.state in (SupplyState.CUT, SupplyState.LIMITED):
                    assert any(
                        o.utility is utility and o.status is OrderStatus.EXECUTED
                        for o in case.orders.values()
                    )

    def teardown(self) -> None:
        for case_id in self.cases:
            self.check_history(case_id)
        # The status view equals the aggregate, field by field, however the events are
        # batched and whether or not the projection had them cached.
        for batches, forget in (([1], True), ([7, 1, 30], False), ([5], True)):
            view = parity.project(self.app, batches, forget)
            assert parity.differences(view, self.app, self.cases) == []
            # The overview's counts agree with accountability and the town ledgers.
            assert parity.overview_disagreements(view, self.app.clock()) == []
            # The live stream's log tells every inbox change, event by event.
            assert parity.told_inbox_changes(view) == parity.expected_inbox_changes(self.app)

    def check_history(self, case_id: UUID) -> None:
        """Each event judged against the plan's expectations at the moment it was recorded
        (tests/domain/expectations.py), which are worked out from the history alone."""
        expected = Expected()
        settled: Counter[str] = Counter()
        completed: Counter[str] = Counter()
        town, park = "", None
        required: list[str] = []
        signed: set[str] = set()
        sign_tasks: dict[str, str] = {}
        for event in self.app.history(case_id):
            # docs/domain.md says which actions record each event: hold the code to it.
            assert event.action is None or event.action in RECORDED_BY[type(event)], event
            if event.action is not None:  # rule 1
                assert REGISTRY.permits(event.actor.unit, event.action), event
                if REGISTRY.get(event.actor.unit).is_territorial and town:
                    own = event.actor.unit == town
                    admits = event.action.value == "confirm_park_entry" and event.actor.unit == park
                    assert own or admits, event
            assert check(event, expected) == [], (check(event, expected), event)
            if isinstance(event, EnterpriseListed):
                town = event.enterprise.town
            if isinstance(event, DestinationSet):
                park = event.destination.park
            if isinstance(
                event, (UtilityOrderExecuted, UtilityOrderRefused, UtilityOrderCancelled)
            ):
                settled[event.order_id] += 1  # rule 5
            if isinstance(event, UtilityOrderExecuted):  # rule 5: its own utility
                assert expected.order_kinds[event.order_id][0] == event.actor.unit
            if isinstance(event, AcceptanceRequested):
                required, signed = list(event.acceptance.required), set()
            if (
                isinstance(event, TaskAssigned)
                and event.task.completes_on.value == "sign_acceptance"
            ):
                sign_tasks[event.task.task_id] = event.task.unit
            if isinstance(event, TaskReassigned) and event.task_id in sign_tasks:
                required = [event.to_unit if u == event.from_unit else u for u in required]
            if isinstance(event, AcceptanceSigned):
                signed.add(event.unit)
            if isinstance(event, AcceptancePassed):  # rule 6
                assert set(required) <= signed, (required, signed)
            if isinstance(event, TaskCompleted):
                completed[event.task_id] += 1
            fold(event, expected)
        assert all(n == 1 for n in settled.values()), settled
        assert all(n == 1 for n in completed.values()), completed


TestRandomCampaigns = Campaign.TestCase
TestRandomCampaigns.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
