"""Webhook subscriptions: a unit subscribes an endpoint of its own to the kinds of inbox
item it wants, pauses, resumes or deletes it, sees its deliveries (dead letters among
them) and replays what was dead-lettered. A unit sees and touches only its own.

Subscribing is recorded as an event (domain/subscriptions.py); `liandong notify` learns
of it from the events topic and delivers what changes in the unit's inbox from then on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_RESPONSES, ApiError
from domain.notifications import ItemKind
from domain.subscriptions import Subscribe, SubscriptionState
from gateways.webhook_signing import public_key_text
from gateways.webhooks import replay
from projections.db import Database
from projections.notify import DELIVERIES, NotifyProjection

router = APIRouter(tags=["subscriptions"], responses=PROBLEM_RESPONSES)
SubscriptionId = Annotated[UUID, Path(description="the subscription's id")]
DeliveryState = Literal["pending", "delivered", "dead", "dropped"]


class SubscriptionView(BaseModel):
    subscription_id: str
    unit: str
    url: str
    kinds: list[ItemKind]
    description: str
    state: SubscriptionState
    created_at: datetime | None
    seen_by_notify: bool = Field(
        description="the notify gateway has read the subscription: items from here on reach it"
    )
    deliveries: dict[DeliveryState, int] = Field(description="deliveries, per state")


class DeliveryView(BaseModel):
    message_id: str = Field(description="the webhook-id (and ce-id) of every attempt")
    case_id: str
    kind: ItemKind
    change: str
    state: DeliveryState
    attempts: int
    next_attempt_at: str
    last_status: int | None
    last_error: str | None
    enqueued_at: str
    delivered_at: str | None
    body: dict[str, Any] = Field(description="what is (or was) posted")


class DeliveryPage(BaseModel):
    items: list[DeliveryView]
    next_cursor: str | None


class Replay(BaseModel):
    message_id: str | None = Field(
        default=None, max_length=400, description="one dead letter (default: every one)"
    )


class Replayed(BaseModel):
    replayed: int


class WebhookKey(BaseModel):
    public_key: str = Field(description="Standard Webhooks form (whpk_...), for v1a signatures")
    jwk: dict[str, str]


def _view(services: Any, subscription_id: str, unit: str) -> SubscriptionView:
    subscription = services.app.subscription(unit, UUID(subscription_id))
    db: Database = services.db
    seen = db.query(
        f"SELECT 1 FROM {NotifyProjection().t('subscriptions')} WHERE subscription_id = ?",
        (subscription_id,),
    )
    counts: dict[str, int] = dict(
        db.query(
            f"SELECT state, count(*) FROM {DELIVERIES} WHERE subscription_id = ? GROUP BY state",
            (subscription_id,),
        )
    )
    return SubscriptionView(
        subscription_id=subscription_id,
        unit=subscription.unit,
        url=subscription.url,
        kinds=list(subscription.kinds),
        description=subscription.description,
        state=subscription.state,
        created_at=subscription.created_at,
        seen_by_notify=bool(seen),
        deliveries={s: int(counts.get(s, 0)) for s in ("pending", "delivered", "dead", "dropped")},
    )


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionView,
    summary="Subscribe an endpoint of my unit to what waits on it",
)
def subscribe(body: Subscribe, actor: ActorDep, services: ServicesDep) -> SubscriptionView:
    settings = services.settings
    result = services.app.subscribe(
        actor,
        body,
        allow_private=settings.webhook_allow_private,
        allow_http=settings.webhook_allow_http,
        limit=settings.webhook_max_subscriptions_per_unit,
    )
    return _view(services, str(result.aggregate_id), actor.unit)


@router.get(
    "/subscriptions", response_model=list[SubscriptionView], summary="My unit's subscriptions"
)
def list_subscriptions(actor: ActorDep, services: ServicesDep) -> list[SubscriptionView]:
    rows = services.db.query(
        f"SELECT subscription_id FROM {NotifyProjection().t('subscriptions')} "
        "WHERE unit = ? AND state != ? ORDER BY created_at",
        (actor.unit, SubscriptionState.DELETED.value),
    )
    return [_view(services, str(r[0]), actor.unit) for r in rows]


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    summary="One of my unit's subscriptions",
)
def get_subscription(
    subscription_id: SubscriptionId, actor: ActorDep, services: ServicesDep
) -> SubscriptionView:
    return _view(services, str(subscription_id), actor.unit)


def _change(
    services: Any, actor: Any, subscription_id: UUID, change: Literal["pause", "resume", "delete"]
) -> SubscriptionView:
    services.app.change_subscription(actor, subscription_id, change)
    return _view(services, str(subscription_id), actor.unit)


@router.post(
    "/subscriptions/{subscription_id}/pause",
    response_model=SubscriptionView,
    summary="Pause deliveries (items are kept, and sent when it resumes)",
)
def pause(subscription_id: SubscriptionId, actor: ActorDep, services: ServicesDep) -> Any:
    return _change(services, actor, subscription_id, "pause")


@router.post(
    "/subscriptions/{subscription_id}/resume",
    response_model=SubscriptionView,
    summary="Resume deliveries",
)
def resume(subscription_id: SubscriptionId, actor: ActorDep, services: ServicesDep) -> Any:
    return _change(services, actor, subscription_id, "resume")


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a subscription (nothing more is delivered to it)",
)
def delete(subscription_id: SubscriptionId, actor: ActorDep, services: ServicesDep) -> Response:
    services.app.change_subscription(actor, subscription_id, "delete")
    return Response(status_code=204)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    summary="A subscription's deliveries, oldest first (state=dead: its dead letters)",
)
def deliveries(
    subscription_id: SubscriptionId,
    actor: ActorDep,
    services: ServicesDep,
    state: DeliveryState | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    services.app.subscription(actor.unit, subscription_id)  # one's own only
    where: list[str] = ["subscription_id = ?"]
    params: list[Any] = [str(subscription_id)]
    if state is not None:
        where.append("state = ?")
        params.append(state)
    if cursor is not None:
        position, _, message_id = cursor.partition("|")
        if not position.isdigit() or len(position) > 18:
            raise ApiError(
                422,
                "invalid_input",
                "cursor: pass back the next_cursor of the previous page",
                "cursor 无效：请使用上一页返回的 next_cursor",
                field="cursor",
                rule="cursors are opaque",
            )
        where.append("(position > ? OR (position = ? AND message_id > ?))")
        params += [int(position), int(position), message_id]
    rows = services.db.query(
        "SELECT message_id, case_id, kind, change, state, attempts, next_attempt_at, "
        "last_status, last_error, enqueued_at, delivered_at, body, position "
        f"FROM {DELIVERIES} WHERE {' AND '.join(where)} ORDER BY position, message_id LIMIT ?",
        (*params, limit + 1),
    )
    items = [
        DeliveryView(
            message_id=r[0],
            case_id=r[1],
            kind=r[2],
            change=r[3],
            state=r[4],
            attempts=r[5],
            next_attempt_at=r[6],
            last_status=r[7],
            last_error=r[8],
            enqueued_at=r[9],
            delivered_at=r[10],
            body=orjson.loads(r[11]),
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return DeliveryPage(items=items, next_cursor=f"{last[12]}|{last[0]}" if last else None)


@router.post(
    "/subscriptions/{subscription_id}/replay",
    response_model=Replayed,
    summary="Send dead-lettered deliveries again (all, or the one named)",
)
def replay_dead_letters(
    subscription_id: SubscriptionId,
    actor: ActorDep,
    services: ServicesDep,
    body: Replay | None = None,
) -> Replayed:
    services.app.subscription(actor.unit, subscription_id)
    message_id = body.message_id if body else None
    count = replay(services.db, str(subscription_id), message_id, datetime.now(tz=UTC))
    return Replayed(replayed=count)


@router.get(
    "/webhooks/public-key",
    response_model=WebhookKey,
    tags=["meta"],
    summary="The public key that verifies every webhook delivery (Standard Webhooks v1a)",
)
def webhook_public_key(services: ServicesDep) -> WebhookKey:
    public = services.settings.webhook_key().public()
    return WebhookKey(public_key=public_key_text(public), jwk=public.jwk())
