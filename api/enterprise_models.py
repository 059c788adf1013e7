"""What the API answers about an enterprise: one model for a row of the status view and
for a case read from the event store (fresh or as of a time), and the little a utility
may see. The workbench renders the same models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class TaskView(BaseModel):
    task_id: str
    unit: str
    duty: str
    completes_on: str = Field(description="the action that completes it")
    ref: str | None = None
    assigned_by: str | None = None
    assigned_at: datetime
    deadline: datetime
    escalation: str | None = Field(default=None, description="green, yellow or red (view)")
    overdue_seconds: int | None = Field(default=None, description="past its deadline (view)")


class OrderView(BaseModel):
    order_id: str
    utility: str
    kind: str = Field(description="cut, limit or restore")
    status: str
    requested_by: str
    deadline: datetime


class EnterpriseSummary(BaseModel):
    """A case as the status view lists it."""

    case_id: str
    version: int
    name: str
    uscc: str | None
    address: str
    town: str
    industry: str | None
    licensed: bool
    disposition: str | None = Field(description="relocate, rectify or close (三个一批)")
    state: str
    deadline: datetime | None
    classified_by: str | None
    concurred_by: str | None
    approval_lock: bool
    supply_power: str
    supply_water: str
    supply_gas: str
    licence_revoked: bool
    revocation_requested: bool
    suspension_ordered: bool
    refused_to_stop: bool
    unauthorized_resumption: bool
    acceptance_failed: bool
    destination_park: str | None
    park_entry_confirmed: bool
    found_by_patrol: str | None
    relapses: int
    listed_at: datetime
    struck_off_at: datetime | None
    last_event: str | None = Field(default=None, description="the last event's type (view)")
    last_action: str | None = None
    last_unit: str | None = None
    last_at: datetime | None = None


class EnterpriseDetail(EnterpriseSummary):
    """One case: from the status view, or from the event store (not yet in the view, or
    as of a past time), which says more."""

    source: Literal["view", "event_store"]
    open_tasks: list[TaskView]
    orders: list[OrderView]
    as_of: datetime | None = Field(default=None, description="the case as it stood then")
    enterprise: dict[str, Any] | None = None
    destination: dict[str, Any] | None = None
    supplies: dict[str, Any] | None = None
    problems: list[dict[str, Any]] | None = None
    tasks: list[dict[str, Any]] | None = Field(default=None, description="every task, done too")
    incidents: list[dict[str, Any]] | None = None
    served_notices: list[dict[str, Any]] | None = None
    acceptance: dict[str, Any] | None = None
    strike_off_blockers: list[str] | None = None


class UtilityCaseView(BaseModel):
    """What a utility sees of a case it holds an order for (DOMAIN.md 12)."""

    source: str | None
    case_id: str
    name: str
    uscc: str | None
    address: str
    town: str
    supply_power: str | None = None
    supply_water: str | None = None
    supply_gas: str | None = None
    orders: list[OrderView]


class EnterprisePage(BaseModel):
    items: list[EnterpriseSummary | UtilityCaseView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")
