"""Value objects of the linkage domain, named after the glossary (DOMAIN.md section 2)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    ACCEPTANCE_PASSED = "acceptance_passed"  # grounds for restoration, set by linkage only


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
    EIA = "eia"  # 环评批复
    DISCHARGE_PERMIT = "discharge_permit"  # 排污许可证


class IncidentKind(StrEnum):
    PUBLIC_OPINION = "public_opinion"  # 舆情
    PETITION = "petition"  # 信访
    CRIMINAL_INVESTIGATION = "criminal_investigation"
    OBSTRUCTION = "obstruction"  # 对抗执法
    VEHICLE_RESTRICTION = "vehicle_restriction"
    HAZARD_REMOVAL_ORDER = "hazard_removal_order"


class Escalation(StrEnum):
    """Overdue colours as practised in supervision systems (督办)."""

    GREEN = "green"  # open, comfortably in time
    YELLOW = "yellow"  # open and near its deadline
    RED = "red"  # open and past its deadline
    DONE = "done"


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Evidence(Frozen):
    """Rule 8: evidence is referenced by content hash, with a locator; never a filename alone."""

    sha256: str = Field(description="SHA-256 of the file's bytes, 64 lowercase hex digits")
    locator: str = Field(min_length=1, max_length=1000, description="where the file is kept")
    media_type: str | None = Field(default=None, max_length=100)

    @field_validator("sha256")
    @classmethod
    def _is_sha256(cls, value: str) -> str:
        if not _SHA256.fullmatch(value):
            raise ValueError("rule 8: must be a SHA-256 content hash (64 lowercase hex digits)")
        return value


class Actor(Frozen):
    """Who acts: the unit, and the person where known."""

    unit: str = Field(min_length=1, max_length=64)
    person: str | None = Field(default=None, max_length=100)
