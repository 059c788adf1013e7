"""四山 control areas, kept by the district office as data (七), and market's refusals to
register new applicants inside them.

One aggregate holds every area, so that a change and a check read one consistent list;
edits are rare and few, so one stream stays small.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from pydantic import Field

from domain.actions import Action
from domain.errors import InvalidInput, NotFound
from domain.events import DomainEvent
from domain.indexes import normalised
from domain.values import Actor, Frozen

CONTROL_AREAS_ID = uuid5(NAMESPACE_URL, "urn:liandong:four-mountains")
RULE = "七: new applicants inside the 四山 control areas are not registered"


class ControlArea(Frozen):
    area_id: str
    name: str
    town: str
    # Villages, roads or address fragments inside the area, as the district office writes
    # them; an address containing one of them lies inside.
    places: tuple[str, ...] = Field(min_length=1)


class ControlAreasStarted(DomainEvent, CanInitAggregate[UUID]):
    originator_topic: str
    actor: Actor

    def apply(self, aggregate: object) -> None:
        pass


class ControlAreaDefined(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor
    action: Action = Action.MAINTAIN_CONTROL_AREAS
    area: ControlArea

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, ControlAreas)
        aggregate.areas = {**aggregate.areas, self.area.area_id: self.area}


class ControlAreaRemoved(DomainEvent, CanMutateAggregate[UUID]):
    actor: Actor
    action: Action = Action.MAINTAIN_CONTROL_AREAS
    area_id: str
    reason: str

    def apply(self, aggregate: object) -> None:
        assert isinstance(aggregate, ControlAreas)
        aggregate.areas = {k: v for k, v in aggregate.areas.items() if k != self.area_id}


class RegistrationRefused(DomainEvent, CanMutateAggregate[UUID]):
    """Market refuses to register a new applicant whose address lies in a 四山 area."""

    actor: Actor
    action: Action = Action.REFUSE_REGISTRATION
    applicant: str
    address: str
    town: str
    area_id: str
    document_number: str
    reason: str

    def apply(self, aggregate: object) -> None:
        pass


class ControlAreas(BaseAggregate[UUID]):
    def __init__(self) -> None:
        self.areas: dict[str, ControlArea] = {}
        self.seq = 0

    @classmethod
    def start(cls, actor: Actor, now: datetime) -> ControlAreas:
        return cls._create(ControlAreasStarted, id=CONTROL_AREAS_ID, actor=actor, timestamp=now)

    def area_for(self, town: str, address: str) -> ControlArea | None:
        """The control area an address in `town` lies in, if any."""
        where = normalised(address)
        for area in self.areas.values():
            if area.town == town and any(normalised(p) in where for p in area.places):
                return area
        return None

    def define(
        self, actor: Actor, now: datetime, *, name: str, town: str, places: tuple[str, ...]
    ) -> str:
        if not [p for p in places if normalised(p)]:
            raise InvalidInput(
                "places is empty: name the villages or address fragments inside the area",
                rule=RULE,
                field="places",
                message_zh="须列出管制区内的村社或地址",
            )
        area_id = f"A{self.version}"
        self.trigger_event(
            ControlAreaDefined,
            actor=actor,
            timestamp=now,
            area=ControlArea(area_id=area_id, name=name, town=town, places=places),
        )
        return area_id

    def remove(self, actor: Actor, now: datetime, *, area_id: str, reason: str) -> None:
        if area_id not in self.areas:
            raise NotFound(
                f"no control area {area_id!r}",
                rule="remove an existing area",
                field="area_id",
                message_zh=f"管制区 {area_id!r} 不存在",
            )
        self.trigger_event(
            ControlAreaRemoved, actor=actor, timestamp=now, area_id=area_id, reason=reason
        )

    def refuse_registration(
        self,
        actor: Actor,
        now: datetime,
        *,
        applicant: str,
        address: str,
        town: str,
        document_number: str,
        reason: str,
    ) -> str:
        area = self.area_for(town, address)
        if area is None:
            raise InvalidInput(
                f"{address!r} in {town} lies in no 四山 control area the district office keeps",
                rule=RULE,
                field="address",
                message_zh="该地址不在区政府公布的四山管制范围内",
            )
        self.trigger_event(
            RegistrationRefused,
            actor=actor,
            timestamp=now,
            applicant=applicant,
            address=address,
            town=town,
            area_id=area.area_id,
            document_number=document_number,
            reason=reason,
        )
        return area.area_id
