"""A small language for writing domain tests as the plan's story: who does what, when."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.application import CommandResult, Liandong
from domain.case import Case
from domain.uscc import with_check_character
from domain.values import Actor, Evidence, ProblemKind, Utility

T0 = datetime(2021, 11, 1, 9, 0, tzinfo=UTC)
TOWN = "town:degan"
OTHER_TOWN = "town:baisha"


@dataclass
class FrozenClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def evidence(label: str = "photo") -> tuple[Evidence, ...]:
    digest = hashlib.sha256(label.encode()).hexdigest()
    return (Evidence(sha256=digest, locator=f"s3://evidence/{label}.jpg", media_type="image/jpeg"),)


def uscc(serial: int) -> str:
    return with_check_character(f"91500116MA{serial:07d}")


@dataclass
class Scenario:
    app: Liandong
    clock: FrozenClock = field(default_factory=FrozenClock)

    def act(self, unit: str, command: c.Command, person: str | None = None) -> CommandResult:
        return self.app.handle(Actor(unit=unit, person=person), command)

    def case(self, case_id: UUID) -> Case:
        return self.app.get_case(case_id)

    def days(self, n: float) -> datetime:
        return self.clock.now + timedelta(days=n)

    def list(
        self,
        *,
        town: str = TOWN,
        problems: tuple[ProblemKind, ...] = (ProblemKind.POLLUTION_CONTROL,),
        connections: tuple[Utility, ...] = (Utility.POWER, Utility.WATER),
        licensed: bool = True,
        serial: int | None = None,
        **extra: Any,
    ) -> UUID:
        result = self.act(
            town,
            c.ListEnterprise(
                name=extra.pop("name", "江津某家具厂"),
                uscc=uscc(serial) if serial is not None else None,
                address=extra.pop("address", "德感街道某村3组"),
                town=town,
                industry="furniture",
                licensed=licensed,
                connections=tuple(
                    c.Connection(utility=u, account=f"{u.value}-001") for u in connections
                ),
                problems=tuple(
                    c.ProblemInput(kind=k, description=f"{k.value} found") for k in problems
                ),
                **extra,
            ),
        )
        return UUID(result.created["case_id"])

    def classify(
        self, case_id: UUID, disposition: str, *, unit: str = "economy", concur: bool = True
    ) -> None:
        """`unit` classifies; the other classifying unit (会同) concurs unless told not to."""
        self.act(
            unit,
            c.Classify(
                case_id=case_id,
                disposition=disposition,
                reason="三个一批 list",
                deadline=self.days(30),
                document_number="江津经信〔2021〕1号",
            ),
        )
        if concur:
            town = self.case(case_id).town
            self.act(
                "economy" if unit == town else town,
                c.ConcurClassification(case_id=case_id, agree=True),
            )

    def task_of(self, case_id: UUID, unit: str, action: str) -> str:
        for task in self.case(case_id).open_tasks():
            if task.unit == unit and task.completes_on.value == action:
                return task.task_id
        raise AssertionError(f"no open {action} task for {unit}")

    def order_of(self, case_id: UUID, utility: Utility, kind: str = "cut") -> str:
        for order in self.case(case_id).orders.values():
            if order.utility is utility and order.kind.value == kind and not order.status.is_final:
                return order.order_id
        raise AssertionError(f"no pending {kind} order for {utility.value}")

    def execute(self, order_id: str, utility: Utility) -> None:
        self.act(
            utility.value,
            c.ExecuteOrder(
                order_id=order_id,
                meter=f"{utility.value}-001",
                reading=1234.5,
                executed_at=self.clock.now,
            ),
        )

    def request_order(
        self,
        case_id: UUID,
        utility: Utility,
        unit: str,
        grounds: str = "close_classification",
        kind: str = "cut",
        document_number: str = "江津〔2021〕停字1号",
        days: float = 5,
    ) -> str:
        """`unit` requests a utility order; returns the order id."""
        result = self.act(
            unit,
            c.RequestUtilityOrder(
                case_id=case_id,
                utility=utility,
                kind=kind,
                grounds=grounds,
                document_number=document_number,
                deadline=self.days(days),
            ),
        )
        return str(result.created["id"])

    def cut(self, case_id: UUID, utility: Utility, unit: str, grounds: str) -> str:
        order_id = self.request_order(case_id, utility, unit, grounds)
        self.execute(order_id, utility)
        return order_id
