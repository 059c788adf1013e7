"""The linkage rules (DOMAIN.md section 6) as pure data and functions.

What one decision sets in motion is decided here, so that the aggregate's
methods read as "record the decision, then fan out what linkage says".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.actions import Action
from domain.values import Disposition, ProblemKind, Utility

# Section 5: each problem's lead unit, which gets a task and must sign off.
PROBLEM_LEAD: dict[ProblemKind, str] = {
    ProblemKind.INDUSTRIAL_POLICY: "economy",
    ProblemKind.POLLUTION_CONTROL: "ecology",
    ProblemKind.NO_EIA: "ecology",
    ProblemKind.NO_DISCHARGE_PERMIT: "ecology",
    ProblemKind.ILLEGAL_STRUCTURE: "housing",
    ProblemKind.SEWER_CONNECTION: "housing",
    ProblemKind.PROTECTED_ZONE: "forestry",
    ProblemKind.UNLICENSED: "market",
    ProblemKind.FOOD_DRUG_SAFETY: "market",
    ProblemKind.LAND_USE_PLAN: "planning",
    ProblemKind.PRODUCTION_SAFETY: "emergency",
    ProblemKind.FIRE_HAZARD: "fire",
    ProblemKind.TRANSPORT_VIOLATION: "transport",
}

# Which unit requests each utility's cut/limit orders, and so is told to when linkage asks.
ORDER_REQUESTER: dict[Utility, str | None] = {
    Utility.POWER: "economy",
    Utility.WATER: "housing",
    Utility.GAS: None,  # the case's own town
}

# Deadlines that linkage sets by itself, when no unit gives one. They are policy,
# written here once; the district office extends individual deadlines by event.
FOLLOW_UP_DAYS = {
    "restoration": 3,  # a utility restores supply after acceptance
    "joint_enforcement": 5,  # the town launches joint enforcement after resumption is recorded
    "verify_consumption_flag": 3,  # the town checks a consumption anomaly on site
    "problem_found_later": 15,  # lead unit's task for a problem recorded after classification
    "support_enforcement": 5,  # named units join a joint enforcement
    "supervision_answer": 3,  # a unit answers a supervision notice
}

# A task is yellow when this share of its time is left, or less.
YELLOW_WHEN_LEFT = 0.2


@dataclass(frozen=True)
class PlannedTask:
    unit: str
    duty: str  # what the unit must do, in the glossary's words
    completes_on: Action


def lead_units(problems: list[ProblemKind]) -> list[str]:
    seen: dict[str, None] = {}
    for kind in problems:
        seen.setdefault(PROBLEM_LEAD[kind], None)
    return list(seen)


def fan_out(
    disposition: Disposition,
    *,
    town: str,
    problems: list[ProblemKind],
    licensed: bool,
    connected: set[Utility],
) -> list[PlannedTask]:
    """Section 6: the tasks a classification sets in motion."""
    if disposition is Disposition.CLOSE:
        tasks = []
        if licensed:
            tasks.append(PlannedTask("market", "revoke business licence", Action.REVOKE_LICENCE))
        if Utility.POWER in connected:
            tasks.append(PlannedTask("economy", "request power cut", Action.REQUEST_POWER_ORDER))
        if Utility.WATER in connected:
            tasks.append(PlannedTask("housing", "request water cut", Action.REQUEST_WATER_ORDER))
        if Utility.GAS in connected:
            tasks.append(PlannedTask(town, "request gas cut", Action.REQUEST_GAS_ORDER))
        tasks.append(PlannedTask(town, "order production stopped", Action.ORDER_SUSPENSION))
        tasks.append(PlannedTask(town, "verify 两断三清", Action.VERIFY_CLOSURE))
        return tasks
    tasks = [PlannedTask(town, "order suspension (停产整治)", Action.ORDER_SUSPENSION)]
    if disposition is Disposition.RELOCATE:
        tasks += [
            PlannedTask("economy", "guide park entry and sign off", Action.SIGN_ACCEPTANCE),
            PlannedTask("planning", "process park land use and sign off", Action.SIGN_ACCEPTANCE),
            PlannedTask(
                "ecology", "process new site EIA and discharge permit", Action.GRANT_PERMIT
            ),
            PlannedTask(town, "verify old site cannot produce", Action.VERIFY_OLD_SITE),
        ]
    for lead in lead_units(problems):
        if disposition is Disposition.RELOCATE and lead in ("economy", "planning"):
            continue  # already tasked with the park entry, which they sign off
        tasks.append(PlannedTask(lead, "rectify problems and sign off", Action.SIGN_ACCEPTANCE))
    tasks.append(PlannedTask(town, "request acceptance (验收)", Action.REQUEST_ACCEPTANCE))
    return tasks


def required_signers(
    disposition: Disposition, *, town: str, problems: list[ProblemKind]
) -> list[str]:
    """Rule 6: acceptance needs every lead unit and the town (relocate: and the park units)."""
    units = lead_units(problems)
    if disposition is Disposition.RELOCATE:
        units += [u for u in ("economy", "planning", "ecology") if u not in units]
    return [*units, town]


def follow_up_deadline(kind: str, now: datetime) -> datetime:
    return now + timedelta(days=FOLLOW_UP_DAYS[kind])
