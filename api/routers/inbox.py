"""我的待办: what waits on the calling unit, across every case, by deadline (DOMAIN.md 12).

Each item says what is asked, on which case, by whom, by when, its colour, and the
request that completes it. Read from the status view (fed by the events topic, rebuilt
like every view); no unit reads another's inbox but the district office.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES, ApiError
from domain.notifications import completing_path
from domain.values import Actor, CaseState, QueryMoment
from projections.notify import Completion, ItemFields
from projections.queries import inbox

router = APIRouter(tags=["inbox"], responses=PROBLEM_RESPONSES)
Kind = Literal["task", "order", "acceptance", "supervision_notice", "dispute"]
Colour = Literal["green", "yellow", "red"]
# An item the live stream reports closed is "done" (GET /inbox lists open ones only).
ItemColour = Literal["green", "yellow", "red", "done"]


class InboxItem(ItemFields):
    kind: Kind
    colour: ItemColour
    overdue_seconds: int


class Inbox(BaseModel):
    unit: str
    items: list[InboxItem]
    counts: dict[Colour, int] = Field(description="everything waiting, per colour")
    next_cursor: str | None


def whose_inbox(actor: Actor, unit: str | None) -> str:
    """The inbox asked for: one's own; the district office may read any unit's."""
    whose = unit or actor.unit
    if whose != actor.unit and actor.unit != "district-office":
        raise ApiError(
            403,
            "permission_denied",
            "a unit reads its own inbox (the district office reads every unit's)",
            "只能查看本单位的待办（区政府办公室可查看各单位）",
            field="unit",
            rule="DOMAIN.md 12: every unit has an inbox",
        )
    return whose


def item_model(i: dict[str, Any]) -> InboxItem:
    return InboxItem(
        kind=i["kind"],
        case_id=i["case_id"],
        case_name=i["case_name"],
        town=i["town"],
        task_id=i["task_id"],
        duty=i["duty"],
        ref=i["ref"],
        assigned_by=i["assigned_by"],
        assigned_at=i["assigned_at"],
        deadline=i["deadline"],
        colour=i["escalation"],
        overdue_seconds=i["overdue_seconds"],
        complete_with=Completion(
            action=i["completes_on"],
            path=completing_path(i["completes_on"], i["case_id"], i["ref"]),
        ),
    )


@router.get("/inbox", response_model=Inbox, summary="我的待办: what waits on my unit")
def get_inbox(
    actor: ActorDep,
    services: ServicesDep,
    unit: Annotated[
        str | None, Query(max_length=64, description="district office: another unit's inbox")
    ] = None,
    kind: Kind | None = None,
    colour: Colour | None = None,
    due_before: QueryMoment | None = None,
    town: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[
        CaseState | None, Query(description="the case's state (listed, classified, ...)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Inbox:
    whose = whose_inbox(actor, unit)
    now = datetime.now(tz=UTC)
    due = due_before if due_before is None or due_before.tzinfo else due_before.replace(tzinfo=UTC)
    items, counts, next_cursor = inbox(
        services.db, whose, now, kind=kind, colour=colour, due_before=due, town=town,
        state=state.value if state else None, cursor=cursor, limit=limit,
    )  # fmt: skip
    return Inbox(
        unit=whose,
        items=[item_model(i) for i in items],
        counts=counts,
        next_cursor=next_cursor,
    )
