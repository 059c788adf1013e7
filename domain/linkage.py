"""The linkage rules (DOMAIN.md section 6) as pure data and functions.

What one decision sets in motion is decided here, so that the aggregate's
methods read as "record the decision, then fan out what linkage says".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.actions import Action
from domain.values import Disposition, IncidentKind, PermitKind, ProblemKind, Utility

# Section 5: each problem's lead unit, which gets a task and must sign off.
PROBLEM_LEAD: dict[ProblemKind, str] = {
    ProblemKind.INDUSTRIAL_POLICY: "economy",
    ProblemKind.POLLUTION_CONTROL: "ecology",
    ProblemKind.NO_EIA: "ecology",
    ProblemKind.NO_DISCHARGE_PERMIT: "ecology",
    # 五: housing assists (配合) the competent authority on illegal structures; planning
    # (规划自然资源局) enforces against 违法建设, so it leads (docs/decisions.md).
    ProblemKind.ILLEGAL_STRUCTURE: "planning",
    ProblemKind.SEWER_CONNECTION: "housing",
    ProblemKind.PROTECTED_ZONE: "forestry",
    ProblemKind.UNLICENSED: "market",
    ProblemKind.FOOD_DRUG_SAFETY: "market",
    ProblemKind.LAND_USE_PLAN: "planning",
    ProblemKind.PRODUCTION_SAFETY: "emergency",
    ProblemKind.FIRE_HAZARD: "fire",
    ProblemKind.TRANSPORT_VIOLATION: "transport",
}

# Units that assist (配合) the lead on a problem: they get a task to record their part.
PROBLEM_ASSISTS: dict[ProblemKind, str] = {ProblemKind.ILLEGAL_STRUCTURE: "housing"}

# 依法依规办理相关手续: the department that grants each permit or approval.
PERMIT_ISSUER: dict[PermitKind, str] = {
    PermitKind.EIA: "ecology",
    PermitKind.DISCHARGE_PERMIT: "ecology",
    PermitKind.PROJECT_FILING: "economy",
    PermitKind.CONSTRUCTION_PERMIT: "housing",
    PermitKind.DRAINAGE_PERMIT: "housing",
    PermitKind.FOREST_LAND_USE: "forestry",
    PermitKind.BUSINESS_LICENCE: "market",
    PermitKind.PLANNING_PERMIT: "planning",
    PermitKind.LAND_USE_APPROVAL: "planning",
    PermitKind.SAFETY_APPROVAL: "emergency",
    PermitKind.FIRE_ACCEPTANCE: "fire",
}
# The new site of a relocation needs these before acceptance (DOMAIN.md section 6).
RELOCATION_PERMITS = (PermitKind.EIA, PermitKind.DISCHARGE_PERMIT)


@dataclass(frozen=True)
class IncidentRule:
    """How an incident of one kind is closed: by which action, by which unit (None: the
    unit that opened it), and within how many days unless its opener sets a deadline."""

    closed_by: Action | None
    closer: str | None
    days: int


INCIDENT_RULES: dict[IncidentKind, IncidentRule] = {
    IncidentKind.PUBLIC_OPINION: IncidentRule(Action.CLOSE_PUBLIC_OPINION, None, 7),
    IncidentKind.PETITION: IncidentRule(Action.CLOSE_PETITION, None, 30),
    IncidentKind.OBSTRUCTION: IncidentRule(None, None, 0),  # a record; police act through
    IncidentKind.CRIMINAL_INVESTIGATION: IncidentRule(
        Action.CLOSE_CRIMINAL_INVESTIGATION, "police", 60
    ),
    IncidentKind.VEHICLE_RESTRICTION: IncidentRule(
        Action.LIFT_VEHICLE_RESTRICTION, "transport", 30
    ),
    IncidentKind.HAZARD_REMOVAL_ORDER: IncidentRule(Action.CLOSE_HAZARD_REMOVAL, "emergency", 15),
    IncidentKind.REFERRAL: IncidentRule(Action.CLOSE_REFERRAL, "police", 10),
}

INCIDENT_OPENED_BY: dict[IncidentKind, Action] = {
    IncidentKind.PUBLIC_OPINION: Action.RECORD_PUBLIC_OPINION,
    IncidentKind.PETITION: Action.RECORD_PETITION,
    IncidentKind.OBSTRUCTION: Action.RECORD_OBSTRUCTION,
    IncidentKind.CRIMINAL_INVESTIGATION: Action.OPEN_CRIMINAL_INVESTIGATION,
    IncidentKind.VEHICLE_RESTRICTION: Action.IMPOSE_VEHICLE_RESTRICTION,
    IncidentKind.HAZARD_REMOVAL_ORDER: Action.ORDER_HAZARD_REMOVAL,
    IncidentKind.REFERRAL: Action.REFER_TO_POLICE,
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
    "concur_classification": 5,  # the other unit concurs with a classification (会同)
    "reissue_order": 5,  # the requester re-issues or resolves a refused or cancelled order
    "revoke_on_request": 15,  # market revokes a licence at the district government's request
    "order_hazard_removal": 3,  # emergency orders a major hazard removed
    "decide_objection": 15,  # the enterprise's objection is heard and decided
    "park_entry": 30,  # the park platform admits a relocating enterprise
    "assist": 15,  # an assisting unit records its part
    "arbitrate": 5,  # the district office arbitrates a responsibility dispute
}
# After 销号 the town re-checks the enterprise (回头看) within this many days, unless the
# application is given another interval (settings: LIANDONG_FOLLOW_UP_CHECK_DAYS).
FOLLOW_UP_CHECK_DAYS = 90
# The first reminder of a deadline goes this many days before it (settings:
# LIANDONG_REMIND_BEFORE_DAYS); the second on its day; past it, a supervision notice.
REMIND_BEFORE_DAYS = 3

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
            PlannedTask(
                "economy", "name the destination park (入园)", Action.SET_RELOCATION_DESTINATION
            ),
        ]
    for lead in lead_units(problems):
        if disposition is Disposition.RELOCATE and lead in ("economy", "planning"):
            continue  # already tasked with the park entry, which they sign off
        tasks.append(PlannedTask(lead, "rectify problems and sign off", Action.SIGN_ACCEPTANCE))
    for assisting in dict.fromkeys(PROBLEM_ASSISTS[k] for k in problems if k in PROBLEM_ASSISTS):
        tasks.append(
            PlannedTask(assisting, "assist rectification (配合)", Action.RECORD_ASSISTANCE)
        )
    tasks.append(PlannedTask(town, "request acceptance (验收)", Action.REQUEST_ACCEPTANCE))
    return tasks


def required_signers(
    disposition: Disposition,
    *,
    town: str,
    problems: list[ProblemKind],
    reassigned: dict[str, str] | None = None,
) -> list[str]:
    """Rule 6: acceptance needs every lead unit and the town (relocate: and the park units);
    a signer the district office reassigned by arbitration is replaced by the new unit."""
    units = lead_units(problems)
    if disposition is Disposition.RELOCATE:
        units += [u for u in ("economy", "planning", "ecology") if u not in units]
    swap = reassigned or {}
    return list(dict.fromkeys(swap.get(u, u) for u in [*units, town]))


def follow_up_deadline(kind: str, now: datetime) -> datetime:
    return now + timedelta(days=FOLLOW_UP_DAYS[kind])
