"""A unit's webhook subscriptions: the HTTPS endpoint where Liandong pushes what waits
on the unit (DOMAIN.md 12), with the kinds of item it wants.

Each subscription is a small aggregate, so creating, pausing and deleting one are on
the audit trail like every other act, and the notify gateway learns of them from the
events topic in the same order as the items it delivers. No secret is kept: deliveries
are signed with the district's Ed25519 key (Standard Webhooks `v1a`), which receivers
verify with the published public key.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from pydantic import Field, field_validator

from domain.errors import InvalidInput, RuleViolation
from domain.events import DomainEvent
from domain.notifications import ItemKind
from domain.values import Actor, EdgeChecked

RULE = "DOMAIN.md 12: a unit is told what waits on it; endpoints must be reachable and safe"
MAX_URL = 2048
# Live subscriptions a unit may keep: enough for its systems, and a bound on what one
# unit can ask the district's gateway to post (each is a lane of its own).
MAX_SUBSCRIPTIONS = 5


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # items are kept, and delivered when it resumes
    DELETED = "deleted"  # nothing more is kept or delivered


class Subscribe(EdgeChecked):
    """A unit subscribes an endpoint to the kinds of inbox item it wants."""

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL)]
    kinds: Annotated[tuple[ItemKind, ...], Field(min_length=1, max_length=len(ItemKind))] = tuple(
        ItemKind
    )
    description: Annotated[str, Field(max_length=200)] = ""

    @field_validator("kinds")
    @classmethod
    def _each_once(cls, kinds: tuple[ItemKind, ...]) -> tuple[ItemKind, ...]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind at most once")
        return kinds


def endpoint_problem(url: str, *, allow_private: bool, allow_http: bool) -> str | None:
    """Why Liandong must not post to `url`, or None. An endpoint is https (http only
    where a setting allows it, for tests), has no credentials in it, and does not name
    this machine or a private network, which a hostile subscriber could otherwise probe
    through the district's gateway. (A name that resolves to such an address is refused
    at delivery time: gateways/webhooks.py.)"""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    del port
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "an absolute https:// URL is required"
    if parts.scheme == "http" and not allow_http:
        return "deliveries go over https only"
    if parts.username is not None or parts.password is not None:
        return "no credentials in the URL"
    if parts.fragment:
        return "no #fragment in the URL"
    if allow_private:
        return None
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{host} names this machine or a private network"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked when it is resolved
    return address_problem(address)


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return f"{address} is a loopback, private, link-local or reserved address"
    return None


class SubscriptionCreated(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor
    unit: str
    url: str
    kinds: tuple[ItemKind, ...]
    description: str = ""

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Subscription)
        aggregate.unit, aggregate.url = self.unit, self.url
        aggregate.kinds, aggregate.description = self.kinds, self.description
        aggregate.created_at = self.timestamp


class SubscriptionPaused(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Subscription)
        aggregate.state = SubscriptionState.PAUSED


class SubscriptionResumed(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Subscription)
        aggregate.state = SubscriptionState.ACTIVE


class SubscriptionDeleted(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, Subscription)
        aggregate.state = SubscriptionState.DELETED


class UnitSubscriptionsStarted(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor
    unit: str

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, UnitSubscriptions)
        aggregate.unit = self.unit


class UnitSubscriptionsChanged(DomainEvent, CanMutateAggregate[UUID]):
    """The unit's subscriptions that are not deleted, after one was added or deleted."""

    actor: Actor
    live: tuple[UUID, ...]

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, UnitSubscriptions)
        aggregate.live = self.live


SUBSCRIPTION_EVENTS = (
    SubscriptionCreated,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionDeleted,
    UnitSubscriptionsStarted,
    UnitSubscriptionsChanged,
)
_UNIT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:liandong:unit-subscriptions")


def unit_subscriptions_id(unit: str) -> UUID:
    return uuid5(_UNIT_NAMESPACE, unit)


class UnitSubscriptions(BaseAggregate[UUID]):
    """A unit's live subscriptions, saved with each one created or deleted, so that the
    limit per unit holds however many requests arrive at once (the second of two
    concurrent saves conflicts and is refused)."""

    def __init__(self) -> None:
        self.unit = ""
        self.live: tuple[UUID, ...] = ()

    @classmethod
    def start(cls, unit: str, actor: Actor, now: datetime) -> UnitSubscriptions:
        return cls._create(
            UnitSubscriptionsStarted,
            id=unit_subscriptions_id(unit),
            actor=actor,
            timestamp=now,
            unit=unit,
        )

    def add(self, subscription_id: UUID, actor: Actor, now: datetime, limit: int) -> None:
        if len(self.live) >= limit:
            raise RuleViolation(
                f"a unit keeps at most {limit} subscriptions; delete one first",
                rule=RULE,
                field="url",
                message_zh=f"每个单位最多保留 {limit} 个订阅，请先删除不用的订阅",
            )
        self._change((*self.live, subscription_id), actor, now)

    def remove(self, subscription_id: UUID, actor: Actor, now: datetime) -> None:
        self._change(tuple(s for s in self.live if s != subscription_id), actor, now)

    def _change(self, live: tuple[UUID, ...], actor: Actor, now: datetime) -> None:
        self.trigger_event(
            UnitSubscriptionsChanged, actor=actor, timestamp=max(now, self.modified_on), live=live
        )


class Subscription(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.unit = ""
        self.url = ""
        self.kinds: tuple[ItemKind, ...] = ()
        self.description = ""
        self.state = SubscriptionState.ACTIVE
        self.created_at: datetime | None = None

    @classmethod
    def create(
        cls,
        actor: Actor,
        now: datetime,
        subscription_id: UUID,
        command: Subscribe,
        *,
        allow_private: bool,
        allow_http: bool,
    ) -> Subscription:
        problem = endpoint_problem(command.url, allow_private=allow_private, allow_http=allow_http)
        if problem:
            raise InvalidInput(
                f"url: {problem}",
                rule=RULE,
                field="url",
                message_zh=f"推送地址不可用：{problem}",
            )
        return cls._create(
            SubscriptionCreated,
            id=subscription_id,
            timestamp=now,
            actor=actor,
            unit=actor.unit,
            url=command.url,
            kinds=command.kinds,
            description=command.description,
        )

    def pause(self, actor: Actor, now: datetime) -> None:
        self._require(SubscriptionState.ACTIVE, "pause")
        self.trigger_event(SubscriptionPaused, actor=actor, timestamp=max(now, self.modified_on))

    def resume(self, actor: Actor, now: datetime) -> None:
        self._require(SubscriptionState.PAUSED, "resume")
        self.trigger_event(SubscriptionResumed, actor=actor, timestamp=max(now, self.modified_on))

    def delete(self, actor: Actor, now: datetime) -> None:
        if self.state is SubscriptionState.DELETED:
            self._refuse("delete")
        self.trigger_event(SubscriptionDeleted, actor=actor, timestamp=max(now, self.modified_on))

    def _require(self, state: SubscriptionState, verb: str) -> None:
        if self.state is not state:
            self._refuse(verb)

    def _refuse(self, verb: str) -> None:
        raise RuleViolation(
            f"cannot {verb} a subscription that is {self.state.value}",
            rule=RULE,
            field="subscription_id",
            message_zh=f"订阅当前为 {self.state.value}，不能执行该操作",
        )
