"""A synthetic campaign at a chosen scale, deterministic from a seed, driven through the
application's command API exactly as the units drive it (nothing is written around the
domain): towns list enterprises in proportion, economy classifies them into the three
batches with the town's concurrence, and each case goes as far along its batch's path as
its draw says, on a clock that moves forward, so some deadlines are met and others are
missed. Along the way: utility orders and their receipts, failed acceptances, disputes
over who owns a task, and relapses found by 回头看.

    liandong campaign --enterprises 2000 --seed 7
"""

from __future__ import annotations

import heapq
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.actions import Action
from domain.application import Liandong
from domain.errors import DomainError
from domain.linkage import PROBLEM_ASSISTS
from domain.uscc import with_check_character
from domain.values import Actor, Evidence, ProblemKind, Utility

SCALES = {"demo": 12, "district": 2_000, "city": 40_000, "national": 200_000}
BATCHES = (("rectify", 0.5), ("close", 0.3), ("relocate", 0.2))
INDUSTRIES = ("家具制造", "塑料制品", "金属加工", "食品加工", "木材加工", "石材加工", "印刷")
# Problems a listing records, as the plan's departments lead them.
PROBLEMS = (
    ProblemKind.POLLUTION_CONTROL,
    ProblemKind.NO_EIA,
    ProblemKind.FIRE_HAZARD,
    ProblemKind.PRODUCTION_SAFETY,
    ProblemKind.ILLEGAL_STRUCTURE,
)
PARK = "platform:degan-park"
REQUESTED_BY_TASK = {
    Action.REQUEST_POWER_ORDER: Utility.POWER,
    Action.REQUEST_WATER_ORDER: Utility.WATER,
    Action.REQUEST_GAS_ORDER: Utility.GAS,
}


Life = Iterator[float]  # an enterprise's steps; each yield: days until the next


class SettableClock:
    """The campaign's clock: it moves forward as the campaign's days pass."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Figures:
    enterprises: int = 0
    commands: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)


@dataclass
class Campaign:
    app: Liandong
    clock: SettableClock
    rng: random.Random
    figures: Figures = field(default_factory=Figures)

    def act(self, unit: str, command: c.Command, step: str) -> Any:
        """One command as the unit posts it; a refusal is counted (the generator's paths
        are meant to be lawful, so a test expects none)."""
        try:
            result = self.app.handle(Actor(unit=unit, person="生成器"), command)
        except DomainError as refused:
            self.figures.refused[f"{step}: {refused.message[:90]}"] += 1
            return None
        self.figures.commands += 1
        self.figures.steps[step] += 1
        return result

    def photo(self, label: str) -> tuple[Evidence, ...]:
        digest = f"{self.rng.getrandbits(256):064x}"
        return (Evidence(sha256=digest, locator=f"nas://campaign/{label}.jpg"),)

    # ------------------------------------------------------------ one enterprise

    def enterprise(self, serial: int, towns: list[str], weights: list[float]) -> Life:
        """One enterprise's life: its steps, each after the days it yields."""
        rng = self.rng
        town = rng.choices(towns, weights)[0]
        licensed = rng.random() < 0.6
        utilities = [u for u in Utility if rng.random() < {"power": 0.9}.get(u.value, 0.4)]
        problems = rng.sample(PROBLEMS, rng.randint(1, 2))
        listed = self.act(
            town,
            c.ListEnterprise(
                name=f"{town.split(':')[-1]}某{rng.choice(INDUSTRIES)}厂{serial}",
                uscc=with_check_character(f"91500116MA{serial:07d}") if licensed else None,
                address=f"第{serial}号",
                town=town,
                industry=rng.choice(INDUSTRIES),
                licensed=licensed,
                connections=tuple(
                    c.Connection(utility=u, account=f"{u.value}-{serial}") for u in utilities
                ),
                problems=tuple(c.ProblemInput(kind=k, description=f"{k.value}") for k in problems),
            ),
            "list",
        )
        self.figures.enterprises += 1
        if listed is None or rng.random() < 0.1:
            return  # still awaiting classification
        yield rng.uniform(1, 20)  # classified some days after the listing
        case_id = UUID(listed.created["case_id"])
        disposition = rng.choices([b for b, _ in BATCHES], [w for _, w in BATCHES])[0]
        self.act(
            "economy",
            c.Classify(
                case_id=case_id,
                disposition=disposition,
                reason="三个一批",
                deadline=self.clock.now + timedelta(days=30),
                document_number=f"江津经信〔2026〕{serial}号",
            ),
            "classify",
        )
        self.act(town, c.ConcurClassification(case_id=case_id, agree=True), "concur")
        yield self.rng.uniform(0, 6)
        self.act(
            town, c.OrderSuspension(case_id=case_id, document_number=f"停字{serial}号"), "suspend"
        )
        path = {"close": self.close, "rectify": self.rectify, "relocate": self.relocate}
        if rng.random() < 0.8:  # the rest stop here, their tasks open (some overdue later)
            yield from path[disposition](case_id, town, utilities)

    def cut(self, case_id: UUID, utility: Utility, unit: str) -> Life:
        result = self.act(
            unit,
            c.RequestUtilityOrder(
                case_id=case_id,
                utility=utility,
                kind="cut",
                grounds="close_classification",
                document_number=f"停{utility.value}{case_id.hex[:6]}",
                deadline=self.clock.now + timedelta(days=5),
            ),
            "request_cut",
        )
        if result is None:
            return
        yield self.rng.uniform(0, 7)  # some receipts come after the order's deadline
        self.act(
            utility.value,
            c.ExecuteOrder(
                order_id=str(result.created["id"]),
                meter=f"{utility.value}-m",
                reading=round(self.rng.uniform(0, 9999), 1),
                executed_at=self.clock.now,
            ),
            "execute_cut",
        )

    def close(self, case_id: UUID, town: str, utilities: list[Utility]) -> Life:
        case = self.app.get_case(case_id)
        if case.enterprise is not None and case.enterprise.licensed:
            self.act(
                "market",
                c.RevokeLicence(
                    case_id=case_id, document_number="市监", legal_basis="《无证无照经营查处办法》"
                ),
                "revoke",
            )
        # Each cut is requested by the unit the close classification tasked with it.
        for task in self.app.get_case(case_id).open_tasks():
            utility = REQUESTED_BY_TASK.get(task.completes_on)
            if utility is not None:
                yield from self.cut(case_id, utility, task.unit)
        self.assist(case_id)
        self.act(
            town,
            c.VerifyClosure(
                case_id=case_id,
                water_and_power_cut=True,
                raw_materials_cleared=True,
                products_cleared=True,
                equipment_cleared=True,
                evidence=self.photo("closure"),
            ),
            "verify_closure",
        )
        yield from self.strike_off(case_id, town)

    def rectify(self, case_id: UUID, town: str, utilities: list[Utility]) -> Life:
        if self.rng.random() < 0.05:
            yield from self.dispute(case_id)
        yield self.rng.uniform(3, 25)
        self.assist(case_id)
        yield from self.accept(case_id, town)
        yield from self.strike_off(case_id, town)

    def dispute(self, case_id: UUID) -> Life:
        """A unit disputes that a task is its own; the district office decides (it stays)."""
        task = next(
            (t for t in self.app.get_case(case_id).open_tasks() if t.unit == "ecology"), None
        )
        if task is None:
            return
        raised = self.act(
            "ecology",
            c.RaiseDispute(case_id=case_id, task_id=task.task_id, reason="非本单位职责"),
            "dispute",
        )
        if raised is not None:
            yield self.rng.uniform(0, 3)
            self.act(
                "district-office",
                c.ArbitrateDispute(
                    case_id=case_id,
                    dispute_id=str(raised.created["id"]),
                    responsible_unit="ecology",
                    reason="按方案第四部分第（二）项由区生态环境局负责",
                ),
                "arbitrate",
            )

    def assist(self, case_id: UUID) -> None:
        """配合: the units asked to assist on a problem record their part."""
        case = self.app.get_case(case_id)
        for task in case.open_tasks():
            if task.completes_on is not Action.RECORD_ASSISTANCE:
                continue
            problem = next(
                (p for p in case.problems.values() if PROBLEM_ASSISTS.get(p.kind) == task.unit),
                None,
            )
            if problem is not None:
                self.act(
                    task.unit,
                    c.RecordAssistance(
                        case_id=case_id, problem_id=problem.problem_id, description="配合整治"
                    ),
                    "assist",
                )

    def relocate(self, case_id: UUID, town: str, utilities: list[Utility]) -> Life:
        self.act(
            "economy",
            c.SetRelocationDestination(case_id=case_id, park=PARK, address="标准厂房"),
            "destination",
        )
        self.act(
            PARK, c.ConfirmParkEntry(case_id=case_id, evidence=self.photo("lease")), "park_entry"
        )
        self.act(
            town, c.VerifyOldSite(case_id=case_id, evidence=self.photo("old-site")), "old_site"
        )
        for permit in ("eia", "discharge_permit"):  # the new site's, granted by ecology
            self.act(
                "ecology",
                c.GrantPermit(
                    case_id=case_id, permit=permit, document_number=f"渝(津)环准{case_id.hex[:6]}"
                ),
                "permit",
            )
        yield self.rng.uniform(3, 25)
        self.assist(case_id)
        yield from self.accept(case_id, town)
        yield from self.strike_off(case_id, town)

    def accept(self, case_id: UUID, town: str) -> Life:
        """Acceptance; one round in six fails first (a signer names what is missing)."""
        for attempt in range(2):
            if (
                self.act(
                    town,
                    c.RequestAcceptance(case_id=case_id, evidence=self.photo("done")),
                    "request_acceptance",
                )
                is None
            ):
                return
            required = self.app.get_case(case_id).acceptance
            signers = list(required.required) if required is not None else []
            failing = attempt == 0 and self.rng.random() < 1 / 6
            for i, unit in enumerate(signers):
                passed = not (failing and i == 0)
                self.act(
                    unit,
                    c.SignAcceptance(
                        case_id=case_id, passed=passed, reasons=() if passed else ("整改不到位",)
                    ),
                    "sign" if passed else "fail_acceptance",
                )
                if not passed:
                    break
            if not failing:
                return
            yield self.rng.uniform(2, 10)

    def strike_off(self, case_id: UUID, town: str) -> Life:
        case = self.app.get_case(case_id)
        for order in case.orders.values():  # restorations the acceptance asked for
            if order.kind.value == "restore" and not order.status.is_final:
                self.act(
                    order.utility.value,
                    c.ExecuteOrder(
                        order_id=order.order_id, meter="m", reading=1.0, executed_at=self.clock.now
                    ),
                    "execute_restore",
                )
        if (
            self.act(town, c.StrikeOff(case_id=case_id), "strike_off") is not None
            and self.rng.random() < 0.05
        ):
            yield self.rng.uniform(30, 90)
            self.act(
                town,
                c.RecordFollowUp(
                    case_id=case_id,
                    relapse=True,
                    findings="恢复生产",
                    evidence=self.photo("relapse"),
                ),
                "relapse",
            )


def run_campaign(
    app: Liandong,
    clock: SettableClock,
    enterprises: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    listing_days: float = 120.0,
) -> Figures:
    """Drives `enterprises` enterprises through the application, deterministic from
    `seed` and the clock's start. Listings spread over `listing_days`; each enterprise's
    life then goes on at its own pace, and every step runs in time order across all of
    them (the clock only moves forward, as the event store's log does)."""
    campaign = Campaign(app, clock, random.Random(seed))
    towns = sorted(t for t in app.units.territories() if t.startswith("town:"))
    # Towns in proportion: a few large ones carry much of the ledger, as in Jiangjin.
    weights = [1.0 / (1 + i % 7) for i in range(len(towns))]
    start = clock.now
    due: list[tuple[datetime, int, Life]] = []
    for serial in range(1, enterprises + 1):
        listed_at = start + timedelta(days=campaign.rng.uniform(0, listing_days))
        heapq.heappush(due, (listed_at, serial, campaign.enterprise(serial, towns, weights)))
    listed = 0
    while due:
        at, serial, life = heapq.heappop(due)
        clock.now = max(clock.now, at)
        before = campaign.figures.enterprises
        try:
            delay = next(life)
        except StopIteration:
            delay = None
        if campaign.figures.enterprises != before and progress is not None:
            listed += 1
            progress(listed, enterprises)
        if delay is not None:
            heapq.heappush(due, (clock.now + timedelta(days=delay), serial, life))
    return campaign.figures


def bar(done: int, total: int) -> None:
    filled = done * 30 // max(total, 1)
    end = "\n" if done == total else ""
    print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", end=end, file=sys.stderr)


def campaign_start(days_ago: int = 300) -> datetime:
    """Far enough back that a campaign's last steps (listings over 120 days, then lives of
    up to about 150) are in the past."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
