"""Value objects of the linkage domain, named after the glossary (DOMAIN.md section 2)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


class Frozen(BaseModel):
    # Non-finite numbers cannot be stored as JSON (orjson writes them as null, which then
    # fails to load): no model of the domain accepts them.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# ---------------------------------------------------------------- what the edge accepts
#
# One set of rules for every value that enters from outside (commands, query parameters,
# receipts), so that whatever is accepted can be stored, loaded, projected into either
# view store (PostgreSQL text refuses NUL) and exported.

# C0 and C1 control characters but tab, newline and carriage return; lone surrogates (not
# encodable as UTF-8); the two Unicode non-characters U+FFFE and U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# White space and the invisible format characters (zero-width space, joiners, marks,
# word joiner, BOM, soft hyphen): a required text made only of these says nothing.
_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200f\u2028-\u202f\u205f-\u2064\ufeff]*")
MAX_QUANTITY = 1e12  # any number a unit reports (kWh, a reading) is at most this
MAX_INTEGER = 2**53 - 1  # exact in JSON everywhere, and in every SQL integer column
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999  # moments and days outside these are typos or attacks


def edge_problem(value: Any, required: bool = False) -> str | None:
    """Why `value` may not enter the system (None when it may): nested values are walked,
    and the problem names where inside the value it lies."""
    if isinstance(value, str):
        bad = _CONTROL.search(value)
        if bad:
            return (
                f"contains the control character U+{ord(bad.group()):04X}; text may hold no "
                "NUL, control characters or unpaired surrogates"
            )
        if required and _INVISIBLE.fullmatch(value):
            return "must contain visible characters, not only spaces or invisible ones"
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_QUANTITY:
            return f"must be a finite number of at most {MAX_QUANTITY:g}"
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_INTEGER else f"must be at most {MAX_INTEGER}"
    if isinstance(value, datetime):
        return moment_problem(value)
    if isinstance(value, date):
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            return f"must be a day between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = edge_problem(key) or edge_problem(item)
            if problem:
                return f"{key!r}: {problem}"  # repr: the key itself may be the problem
        return None
    if isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            problem = edge_problem(item, required)
            if problem:
                return f"[{index}]: {problem}"
        return None
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            problem = edge_problem(getattr(value, name), _requires_text(field))
            if problem:
                return f"{name}: {problem}"
    return None


def moment_problem(value: datetime) -> str | None:
    """A moment must lie in years the system can convert to UTC and store in either view
    store (9999-12-31T23:59:59-14:00 overflows when converted)."""
    if value.tzinfo is None:
        return "must carry a time zone"
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
    if not EARLIEST_YEAR <= value.astimezone(UTC).year <= LATEST_YEAR:
        return f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR} in UTC"
    return None


def _in_range(value: datetime) -> datetime:
    problem = moment_problem(value if value.tzinfo else value.replace(tzinfo=UTC))
    if problem:
        raise ValueError(problem)
    return value


# A time given as a query parameter (naive ones are read as UTC where the route allows them).
QueryMoment = Annotated[datetime, AfterValidator(_in_range)]


def _requires_text(field: Any) -> bool:
    return any(getattr(m, "min_length", 0) for m in getattr(field, "metadata", ()))


class EdgeChecked(Frozen):
    """A model of what arrives from outside: every field obeys `edge_problem`."""

    @field_validator("*", mode="after")
    @classmethod
    def _acceptable_at_the_edge(cls, value: Any, info: Any) -> Any:
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        problem = edge_problem(value, _requires_text(field))
        if problem:
            raise ValueError(problem)
        return value


class Disposition(StrEnum):
    """三个一批: the three batches."""

    RELOCATE = "relocate"  # 入园发展一批
    RECTIFY = "rectify"  # 整治规范一批
    CLOSE = "close"  # 关停取缔一批


class CaseState(StrEnum):
    LISTED = "listed"  # on the ledger, not yet classified
    CLASSIFIED = "classified"  # disposition decided, tasks fanned out
    SUSPENDED = "suspended"  # 停产整治: production stopped, rectifying or closing
    ACCEPTANCE_REQUESTED = "acceptance_requested"  # 验收 under way
    ACCEPTED = "accepted"  # every required unit signed; production may resume
    CLOSURE_VERIFIED = "closure_verified"  # 两断三清 verified by the town
    STRUCK_OFF = "struck_off"  # 销号
    REOPENED = "reopened"  # a follow-up check (回头看) found a relapse
    WITHDRAWN = "withdrawn"  # listed by mistake, withdrawn with a reason


class Utility(StrEnum):
    POWER = "power"
    WATER = "water"
    GAS = "gas"


class OrderKind(StrEnum):
    CUT = "cut"
    LIMIT = "limit"
    RESTORE = "restore"


class SupplyState(StrEnum):
    ON = "on"
    CUT = "cut"
    LIMITED = "limited"
    NOT_CONNECTED = "not_connected"


class OrderStatus(StrEnum):
    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"
    EXECUTED = "executed"
    REFUSED = "refused"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.EXECUTED, OrderStatus.REFUSED, OrderStatus.CANCELLED)


class LegalBasis(StrEnum):
    """Rule 4: the only grounds on which a cut or limit order may be issued."""

    CLOSE_CLASSIFICATION = "close_classification"
    FAILED_ACCEPTANCE = "failed_acceptance"
    UNAUTHORIZED_RESUMPTION = "unauthorized_resumption"
    ACCEPTANCE_PASSED = "acceptance_passed"  # grounds for restoration
    LISTING_WITHDRAWN = "listing_withdrawn"  # restoration after a mistaken listing, by linkage


class ProblemKind(StrEnum):
    """DOMAIN.md section 5; each has one lead unit (see linkage.PROBLEM_LEAD)."""

    INDUSTRIAL_POLICY = "industrial_policy"  # against policy/layout, or should be in a park
    POLLUTION_CONTROL = "pollution_control"  # no or inadequate pollution-control facilities
    NO_EIA = "no_eia"  # 未环评
    NO_DISCHARGE_PERMIT = "no_discharge_permit"  # 未申领排污许可证
    ILLEGAL_STRUCTURE = "illegal_structure"  # 违章搭建
    SEWER_CONNECTION = "sewer_connection"
    PROTECTED_ZONE = "protected_zone"  # nature reserve, 四山 zone, forest land
    UNLICENSED = "unlicensed"  # unlicensed, or licence to be revoked
    FOOD_DRUG_SAFETY = "food_drug_safety"
    LAND_USE_PLAN = "land_use_plan"
    PRODUCTION_SAFETY = "production_safety"
    FIRE_HAZARD = "fire_hazard"
    TRANSPORT_VIOLATION = "transport_violation"


class ApprovalKind(StrEnum):
    """不予核准、审批和备案 (and market's refusal to register)."""

    APPROVAL = "approval"  # 核准
    PERMIT = "permit"  # 审批
    FILING = "filing"  # 备案
    REGISTRATION = "registration"  # 登记注册


class PermitKind(StrEnum):
    """依法依规办理相关手续: what each department grants a compliant enterprise
    (linkage.PERMIT_ISSUER says which department grants which)."""

    EIA = "eia"  # 环评批复 (ecology)
    DISCHARGE_PERMIT = "discharge_permit"  # 排污许可证 (ecology)
    PROJECT_FILING = "project_filing"  # 企业投资项目备案 (economy)
    CONSTRUCTION_PERMIT = "construction_permit"  # 建筑工程施工许可 (housing)
    DRAINAGE_PERMIT = "drainage_permit"  # 排水许可 (housing)
    FOREST_LAND_USE = "forest_land_use"  # 使用林地审核同意书 (forestry)
    BUSINESS_LICENCE = "business_licence"  # 营业执照 (market)
    PLANNING_PERMIT = "planning_permit"  # 建设工程规划许可证 (planning)
    LAND_USE_APPROVAL = "land_use_approval"  # 用地批准 (planning)
    SAFETY_APPROVAL = "safety_approval"  # 安全条件审查 (emergency)
    FIRE_ACCEPTANCE = "fire_acceptance"  # 消防验收 / 备案 (fire)


class IncidentKind(StrEnum):
    PUBLIC_OPINION = "public_opinion"  # 舆情
    PETITION = "petition"  # 信访
    CRIMINAL_INVESTIGATION = "criminal_investigation"
    OBSTRUCTION = "obstruction"  # 对抗执法
    VEHICLE_RESTRICTION = "vehicle_restriction"
    HAZARD_REMOVAL_ORDER = "hazard_removal_order"
    REFERRAL = "referral"  # 移送公安: a case referred to the police


class Escalation(StrEnum):
    """Overdue colours as practised in supervision systems (督办)."""

    GREEN = "green"  # open, comfortably in time
    YELLOW = "yellow"  # open and near its deadline
    RED = "red"  # open and past its deadline
    DONE = "done"


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# The locator of evidence kept in Liandong's own evidence store (uploaded through
# POST /evidence): the hash alone finds it there.
HELD_HERE = "liandong:evidence"


class Evidence(Frozen):
    """Rule 8: evidence is referenced by content hash, with a locator; never a filename
    alone. A file uploaded to Liandong is referenced by its hash only (the locator is then
    HELD_HERE); one kept elsewhere keeps its own locator."""

    sha256: str = Field(description="SHA-256 of the file's bytes, 64 lowercase hex digits")
    locator: str = Field(
        default=HELD_HERE,
        min_length=1,
        max_length=1000,
        description=f"where the file is kept; omitted (or {HELD_HERE!r}): uploaded to "
        "Liandong (POST /evidence)",
    )
    media_type: str | None = Field(default=None, max_length=100)

    @field_validator("sha256")
    @classmethod
    def _is_sha256(cls, value: str) -> str:
        if not _SHA256.fullmatch(value):
            raise ValueError("rule 8: must be a SHA-256 content hash (64 lowercase hex digits)")
        return value


def evidence_in(value: object, path: str = "") -> Iterator[tuple[str, Evidence]]:
    """Every piece of evidence a command (or any record) holds, with its field path
    (`evidence.0`, `readings.1.evidence.0`): the path an error names."""
    if isinstance(value, Evidence):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from evidence_in(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from evidence_in(item, f"{path}.{i}")


class Actor(Frozen):
    """Who acts: the unit, and the person where known."""

    unit: str = Field(min_length=1, max_length=64)
    person: str | None = Field(default=None, max_length=100)
