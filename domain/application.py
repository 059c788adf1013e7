"""The Liandong application: its methods are the command API of the domain.

Persistence is chosen by environment, as eventsourcing does it:
PERSISTENCE_MODULE=eventsourcing.popo (in memory), eventsourcing.sqlite (the
embedded default) or eventsourcing.postgres (production).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Mapper
from eventsourcing.utils import get_topic

from domain import commands as c
from domain.actions import Action
from domain.case import Case, check_uscc
from domain.case_memory import CaseSnapshot
from domain.commands import (
    CaseCommand,
    Command,
    ListEnterprise,
    OrderCommand,
    RecordPatrol,
)
from domain.control_areas import CONTROL_AREAS_ID, ControlAreas
from domain.credentials import Credential, credential_id
from domain.errors import (
    ConcurrencyConflict,
    DuplicateListing,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from domain.events import CaseEvent, EnterpriseListed
from domain.handlers import handler_for
from domain.indexes import UsccIndex, WorkshopIndex, uscc_index_id, workshop_index_id
from domain.linkage import FOLLOW_UP_CHECK_DAYS, REMIND_BEFORE_DAYS
from domain.patrol import Patrol
from domain.records import EnterpriseDetails
from domain.registry_record import REGISTRY_RECORD_ID, RegistryRecord, registry_content
from domain.requests import RequestHandled, RequestRecord, request_record_id
from domain.subscriptions import (
    MAX_SUBSCRIPTIONS,
    Subscribe,
    Subscription,
    UnitSubscriptions,
    unit_subscriptions_id,
)
from domain.transcoding import OrjsonTranscoder, PydanticMapper
from domain.units import UnitsRegistry, default_registry
from domain.values import HELD_HERE, Actor, CaseState, evidence_in

Clock = Callable[[], datetime]
A = TypeVar("A")


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Replays events onto an aggregate. eventsourcing's default projector asserts a
    runtime-checkable Protocol per event, which on Python 3.11 costs more than the
    replay itself; our events are all CanMutateAggregate, so the check is skipped."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def no_such_case(case_id: UUID) -> NotFound:
    """The one answer for a case that does not exist, or that the asker may not see."""
    return NotFound(
        f"no case {case_id}",
        rule="reference an existing case",
        field="case_id",
        message_zh=f"案件 {case_id} 不存在",
    )


@dataclass(frozen=True)
class RequestKey:
    """An idempotency key a request carried: the command's events and the request's record
    (domain.requests) are saved in one transaction."""

    key: str
    fingerprint: str
    status: int


@dataclass(frozen=True)
class CommandResult:
    """What a command recorded: the aggregate, its new version, the log position reached
    (for read-your-writes), and the ids of anything it created."""

    aggregate_id: UUID
    version: int
    position: int
    events: int
    created: dict[str, Any] = field(default_factory=dict)


class Liandong(Application[UUID]):
    name = "liandong"
    # A case is snapshotted every this many events, so loading one replays at most as many.
    snapshot_interval = 50
    snapshot_class = CaseSnapshot
    env = {  # noqa: RUF012 (eventsourcing reads the class attribute)
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": ".data/liandong-events.sqlite",
        # Cached cases are fast-forwarded from the store before use (so other processes'
        # writes are seen) and handed out as copies (Case.__deepcopy__).
        "AGGREGATE_CACHE_MAXSIZE": "10000",
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        units: UnitsRegistry | None = None,
        clock: Clock = utc_now,
        follow_up_check: timedelta = timedelta(days=FOLLOW_UP_CHECK_DAYS),
        remind_before: timedelta = timedelta(days=REMIND_BEFORE_DAYS),
        evidence_held: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__({"IS_SNAPSHOTTING_ENABLED": "y", **(env or {})})
        self.units = units or default_registry()
        # The evidence store's answer to "is this file kept here?" (a port: the domain
        # does not know where files live). None: nothing is checked (unit tests).
        self.evidence_held = evidence_held
        # Called after every save (the relay in this process wakes at once instead of
        # polling an idle store).
        self.on_recorded: list[Callable[[], None]] = []
        self.clock = clock
        self.follow_up_check = follow_up_check
        self.remind_before = remind_before

    def construct_mapper(self) -> Mapper[UUID]:
        # Through the factory, so the library's COMPRESSOR_TOPIC and CIPHER_TOPIC apply.
        return self.factory.mapper(
            transcoder=OrjsonTranscoder(), mapper_class=cast(Any, PydanticMapper)
        )

    def decode_state(self, stored: bytes) -> dict[str, Any]:
        """A stored event's fields (decrypted and decompressed as configured)."""
        return cast(PydanticMapper, self.mapper).decode_state(stored)

    # ------------------------------------------------------------ commands

    def _notify(self, recordings: list[Any]) -> None:
        for listener in self.on_recorded:
            listener()

    def handle(
        self, actor: Actor, command: Command, request: RequestKey | None = None
    ) -> CommandResult:
        """Authorizes and executes one command; a refused command records nothing. With a
        request key, the request's record is saved with the command's events (raises
        ConcurrencyConflict if that request was carried out already)."""
        action = command.action_for()
        self.units.require(actor.unit, action)
        self._require_held_evidence(command)
        if isinstance(command, ListEnterprise):
            return self.list_enterprise(actor, command, request)
        if isinstance(command, RecordPatrol):
            return self.record_patrol(actor, command, request)
        if isinstance(command, (c.DefineControlArea, c.RemoveControlArea, c.RefuseRegistration)):
            return self.maintain_control_areas(actor, command, request)
        assert isinstance(command, (CaseCommand, OrderCommand))
        case = self.get_case(command.case_id)
        if not self.may_see(actor.unit, case):
            raise no_such_case(case.id)  # DOMAIN.md 12: as if it did not exist
        self._require_own_territory(actor, case, command)
        self._check_named_units(command, case)
        now = max(self.clock(), case.modified_on)
        arguments = command.arguments()
        if isinstance(command, c.CorrectRecord):
            arguments["original"] = self._event_at(case.id, command.corrects_version)
        if isinstance(command, c.StrikeOff):
            arguments["follow_up_in"] = self.follow_up_check
        if isinstance(command, c.RemindTask):
            arguments["remind_before"] = self.remind_before
        created = handler_for(command)(case, actor, now, **arguments)
        others: list[Any] = []
        if isinstance(command, c.AddUscc):
            others.append(UsccIndex.register(command.uscc, case.id, actor, now))
        try:
            return self._save(
                case, *others, created=self._describe(created), request=(actor, request)
            )
        except ConcurrencyConflict:
            if isinstance(command, c.AddUscc):
                self._refuse_duplicate(command.uscc)
            raise

    def _require_held_evidence(self, command: Command) -> None:
        """Rule 8: evidence said to be kept here (no locator of its own) must have been
        uploaded; evidence kept elsewhere keeps its locator and is not checked."""
        if self.evidence_held is None:
            return
        for path, evidence in evidence_in(command):
            if evidence.locator == HELD_HERE and not self.evidence_held(evidence.sha256):
                raise InvalidInput(
                    f"no file with SHA-256 {evidence.sha256} has been uploaded",
                    rule="rule 8: evidence kept here is uploaded first (POST /evidence); "
                    "evidence kept elsewhere gives its locator",
                    field=f"{path}.sha256",
                    message_zh=f"证据文件（SHA-256 {evidence.sha256[:12]}…）尚未上传",
                )

    def list_enterprise(
        self, actor: Actor, command: ListEnterprise, request: RequestKey | None = None
    ) -> CommandResult:
        self.units.require(actor.unit, Action.LIST_ENTERPRISE)
        if command.town not in self.units.territories():
            raise InvalidInput(
                f"{command.town!r} is not a town, subdistrict or platform",
                rule="towns are listed in the units registry",
                field="town",
                message_zh=f"{command.town!r} 不是登记的镇街或平台",
            )
        self.units.require_territory(actor.unit, command.town)
        enterprise = EnterpriseDetails(
            **command.model_dump(include=set(EnterpriseDetails.model_fields))
        )
        check_uscc(enterprise)
        if command.found_by_patrol is not None:
            self._require_patrol(command.found_by_patrol, command.town)
        now = self.clock()
        case = Case.list_enterprise(
            actor,
            now,
            case_id=uuid4(),
            enterprise=enterprise,
            supplies={c.utility: c.account for c in command.connections},
            problems=[(p.kind, p.description, p.major) for p in command.problems],
            found_by_patrol=command.found_by_patrol,
        )
        index = UsccIndex.register(command.uscc, case.id, actor, now) if command.uscc else None
        # A registered enterprise is listed once by its USCC (rule 2); a workshop without
        # one is recognised by its name and address, and listing it again warns.
        workshops, warnings = (
            (None, []) if command.uscc else self._workshops(command, case.id, actor, now)
        )
        created: dict[str, Any] = {"case_id": str(case.id)}
        if warnings:
            created["warnings"] = warnings
        try:
            return self._save(case, index, workshops, created=created, request=(actor, request))
        except ConcurrencyConflict:
            if command.uscc:
                self._refuse_duplicate(command.uscc)
            raise

    def _workshops(
        self, command: ListEnterprise, case_id: UUID, actor: Actor, now: datetime
    ) -> tuple[WorkshopIndex | None, list[str]]:
        """The name-and-address index of workshops without a USCC, with the new case in
        it, and a warning for each open case already listed under that name and address
        (an unlicensed workshop listed twice has no USCC to be refused on)."""
        index = self._workshop_index(command.town, command.name, command.address)
        if index is None:
            index_id = workshop_index_id(command.town, command.name, command.address)
            return WorkshopIndex.start(index_id, case_id, actor, now), []
        warnings = [
            f"an open case {earlier} is listed under the same name and address "
            f"({state}); withdraw this listing if it is the same workshop"
            for earlier, state in self._open_cases(index.case_ids)
        ]
        index.add(case_id, actor, now)
        return index, warnings

    def open_workshops(self, town: str, name: str, address: str) -> list[UUID]:
        """The open cases of workshops without a USCC listed under this town, name and
        address (a ledger import finds a row already listed so)."""
        index = self._workshop_index(town, name, address)
        return [case_id for case_id, _ in self._open_cases(index.case_ids if index else [])]

    def _workshop_index(self, town: str, name: str, address: str) -> WorkshopIndex | None:
        # Read from the event store directly: an index is never snapshotted, and most names
        # are new, so one query answers (the repository would also ask the snapshots).
        index: Any = project(None, self.events.get(workshop_index_id(town, name, address)))
        return cast(WorkshopIndex, index) if index is not None else None

    def _open_cases(self, case_ids: Iterable[UUID]) -> list[tuple[UUID, str]]:
        open_ones = []
        for earlier in case_ids:
            with contextlib.suppress(NotFound):
                other = self.get_case(earlier)
                if other.state not in (CaseState.STRUCK_OFF, CaseState.WITHDRAWN):
                    open_ones.append((earlier, other.state.value))
        return open_ones

    def record_patrol(
        self, actor: Actor, command: RecordPatrol, request: RequestKey | None = None
    ) -> CommandResult:
        self.units.require(actor.unit, Action.RECORD_PATROL)
        self.units.require_territory(actor.unit, command.town)
        patrol = Patrol.record(
            actor,
            self.clock(),
            patrol_id=uuid4(),
            town=command.town,
            patrol_date=command.patrol_date,
            area=command.area,
            findings=command.findings,
            evidence=command.evidence,
        )
        return self._save(patrol, created={"patrol_id": str(patrol.id)}, request=(actor, request))

    # ------------------------------------------------------------ 四山 control areas

    def control_areas(self) -> ControlAreas | None:
        return self._find(CONTROL_AREAS_ID, ControlAreas)

    def maintain_control_areas(
        self,
        actor: Actor,
        command: c.DefineControlArea | c.RemoveControlArea | c.RefuseRegistration,
        request: RequestKey | None = None,
    ) -> CommandResult:
        self.units.require(actor.unit, command.action_for())
        now = self.clock()
        areas = self.control_areas() or ControlAreas.start(actor, now)
        if isinstance(command, c.RemoveControlArea):
            areas.remove(actor, now, area_id=command.area_id, reason=command.reason)
            return self._save(areas, created={"id": command.area_id}, request=(actor, request))
        if command.town not in self.units.territories():
            raise InvalidInput(
                f"{command.town!r} is not a town, subdistrict or platform",
                rule="towns are listed in the units registry",
                field="town",
                message_zh=f"{command.town!r} 不是登记的镇街或平台",
            )
        if isinstance(command, c.DefineControlArea):
            area_id = areas.define(
                actor, now, name=command.name, town=command.town, places=command.places
            )
        else:
            area_id = areas.refuse_registration(
                actor,
                now,
                applicant=command.applicant,
                address=command.address,
                town=command.town,
                document_number=command.document_number,
                reason=command.reason,
            )
        return self._save(areas, created={"id": area_id}, request=(actor, request))

    # ------------------------------------------------------------ the registry

    def record_registry(self) -> bool:
        """Puts the units registry this process runs with on the trail, when it differs
        from the one last recorded (the district office edited it). Returns whether it
        recorded anything; a process that loses a race to record the same change finds it
        recorded."""
        actor = Actor(unit="district-office", person="units registry")
        content = registry_content(self.units)
        try:
            record: Any = self.repository.get(REGISTRY_RECORD_ID, projector_func=project)
        except AggregateNotFoundError:
            record = RegistryRecord.adopt(actor, self.clock(), content)
        else:
            if not cast(RegistryRecord, record).change(actor, self.clock(), content):
                return False
        try:
            self._save(record)
        except ConcurrencyConflict:
            return False  # another process recorded it at the same moment
        return True

    def has_cases(self) -> bool:
        """Whether any enterprise is on the ledger."""
        listed = self.recorder.select_notifications(1, 1, topics=[get_topic(EnterpriseListed)])
        return bool(listed)

    # ------------------------------------------------------------ credentials

    def record_key_issued(
        self, actor: Actor, *, key_id: str, unit: str, person: str | None, label: str
    ) -> CommandResult:
        """Puts the issue of an API key on the trail (before the key works)."""
        if unit not in self.units:
            raise NotFound(
                f"no unit {unit!r}",
                rule="keys belong to registered units",
                field="unit",
                message_zh=f"单位 {unit!r} 未登记",
            )
        credential = Credential.issue(
            actor, self.clock(), key_id=key_id, unit=unit, person=person, label=label
        )
        return self._save(credential)

    def record_key_revoked(self, actor: Actor, *, key_id: str, reason: str) -> CommandResult:
        try:
            credential: Any = self.repository.get(credential_id(key_id), projector_func=project)
        except AggregateNotFoundError:
            raise NotFound(
                f"no key {key_id}",
                rule="revoke an issued key",
                field="key_id",
                message_zh=f"密钥 {key_id} 不存在",
            ) from None
        cast(Credential, credential).revoke(actor, self.clock(), reason)
        return self._save(credential)

    # ------------------------------------------------------------ webhook subscriptions

    def subscribe(
        self,
        actor: Actor,
        command: Subscribe,
        *,
        allow_private: bool = False,
        allow_http: bool = False,
        limit: int = MAX_SUBSCRIPTIONS,
    ) -> CommandResult:
        """A unit subscribes an endpoint of its own to what waits on it (at most `limit`
        live subscriptions per unit)."""
        if actor.unit not in self.units:
            raise NotFound(
                f"no unit {actor.unit!r}",
                rule="subscriptions belong to registered units",
                field="unit",
                message_zh=f"单位 {actor.unit!r} 未登记",
            )
        now = self.clock()
        subscription = Subscription.create(
            actor, now, uuid4(), command, allow_private=allow_private, allow_http=allow_http
        )
        index = self._find(unit_subscriptions_id(actor.unit), UnitSubscriptions)
        index = index or UnitSubscriptions.start(actor.unit, actor, now)
        index.add(subscription.id, actor, now, limit)
        return self._save(subscription, index, created={"subscription_id": str(subscription.id)})

    def subscription(self, unit: str, subscription_id: UUID) -> Subscription:
        """A unit's own subscription; another unit's looks as if it did not exist."""
        found = self._find(subscription_id, Subscription)
        if found is None or found.unit != unit:
            raise NotFound(
                f"no subscription {subscription_id}",
                rule="a unit manages its own subscriptions only",
                field="subscription_id",
                message_zh=f"订阅 {subscription_id} 不存在",
            )
        return found

    def live_subscriptions(self, unit: str) -> tuple[UUID, ...]:
        """The unit's subscriptions that are not deleted."""
        index = self._find(unit_subscriptions_id(unit), UnitSubscriptions)
        return index.live if index else ()

    def change_subscription(
        self, actor: Actor, subscription_id: UUID, change: Literal["pause", "resume", "delete"]
    ) -> CommandResult:
        subscription = self.subscription(actor.unit, subscription_id)
        now = self.clock()
        index = None
        if change == "pause":
            subscription.pause(actor, now)
        elif change == "resume":
            subscription.resume(actor, now)
        else:
            subscription.delete(actor, now)
            index = self._find(unit_subscriptions_id(actor.unit), UnitSubscriptions)
            if index is not None:
                index.remove(subscription_id, actor, now)
        return self._save(subscription, index, created={"subscription_id": str(subscription_id)})

    # ------------------------------------------------------------ queries

    def get_case(self, case_id: UUID, version: int | None = None) -> Case:
        try:
            case: Any = self.repository.get(case_id, version=version, projector_func=project)
        except AggregateNotFoundError:
            raise no_such_case(case_id) from None
        if not isinstance(case, Case):
            raise no_such_case(case_id)
        return case

    def may_see(self, unit_id: str, case: Case) -> bool:
        """DOMAIN.md 12: a town or platform sees only the cases in its territory; a case
        outside looks exactly like one that does not exist. (What utilities see of a case
        is decided where they read: only their own orders, api/scope.py.)"""
        unit = self.units.get(unit_id)
        destination = case.destination.park if case.destination else None
        return not unit.is_territorial or unit.id in (case.town, destination)

    def case_as_of(self, case_id: UUID, at: datetime) -> Case:
        """Time travel: the case as it stood at `at` (its last event at or before then)."""
        version = None
        for event in self.events.get(case_id):
            if cast(CaseEvent, event).timestamp > at:
                break
            version = event.originator_version
        if version is None:
            raise NotFound(
                f"case {case_id} did not exist at {at.isoformat()}",
                rule="time travel within a case's life",
                field="as_of",
                message_zh="该时间点案件尚未登记",
            )
        return self.get_case(case_id, version=version)

    def history(self, case_id: UUID) -> list[CaseEvent]:
        events = [cast(CaseEvent, e) for e in self.events.get(case_id)]
        if not events:
            self.get_case(case_id)  # raises NotFound
        return events

    def event_count(self) -> int:
        return self.recorder.max_notification_id() or 0

    def case_for_uscc(self, uscc: str) -> UUID | None:
        try:
            index: Any = self.repository.get(uscc_index_id(uscc), projector_func=project)
        except AggregateNotFoundError:
            return None
        return cast(UsccIndex, index).case_id

    # ------------------------------------------------------------ helpers

    def find_request(self, unit: str, key: str) -> RequestHandled | None:
        """The record of a request carried out with this key, if it was."""
        try:
            record: Any = self.repository.get(request_record_id(unit, key), projector_func=project)
        except AggregateNotFoundError:
            return None
        return cast(RequestRecord, record).handled

    def request_position(self, handled: RequestHandled, page: int = 10_000) -> int:
        """The log position of a request's record (its command's events lie just before
        it). Read by topic from the log: only needed when a process died before it could
        answer the request, so this rare path may take its time."""
        topic = get_topic(RequestHandled)
        start: int | None = 1
        while True:
            found = self.recorder.select_notifications(start, page, topics=[topic])
            for notification in found:
                if notification.originator_id == handled.originator_id:
                    return int(notification.id)
            if len(found) < page:
                return 0
            start = found[-1].id + 1

    def _find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate of that id and kind as it stands now, or None."""
        try:
            found: Any = self.repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _save(
        self,
        *aggregates: Any,
        created: dict[str, Any] | None = None,
        request: tuple[Actor, RequestKey | None] | None = None,
    ) -> CommandResult:
        # Application.save() checks runtime Protocols per object, which on Python 3.11
        # costs as much as the domain logic; our aggregates are known, so collect directly.
        head = aggregates[0]
        actor, key = request if request is not None else (None, None)
        if actor is not None and key is not None:
            aggregates = (
                *aggregates,
                RequestRecord.record(
                    actor,
                    max(self.clock(), head.modified_on),
                    key=key.key,
                    fingerprint=key.fingerprint,
                    status=key.status,
                    aggregate_id=head.id,
                    version=head.version,
                    events=sum(len(a.pending_events) for a in aggregates if a is not None),
                    created=created or {},
                ),
            )
        processing = ProcessingEvent[UUID]()
        for aggregate in aggregates:
            if aggregate is not None:
                processing.events.extend(aggregate.collect_events())
                processing.aggregates[aggregate.id] = aggregate
        try:
            recordings = self._record(processing)
        except IntegrityError as exc:
            for aggregate in aggregates:
                if aggregate is not None and self.repository.cache is not None:
                    # The cached copy may now be behind the store; the next read reloads it.
                    with contextlib.suppress(KeyError):
                        self.repository.cache.get(aggregate.id, evict=True)
            raise ConcurrencyConflict(
                "another command changed this case first; reload it and try again",
                rule="one writer at a time per case (optimistic concurrency)",
                field="case_id",
                message_zh="案件已被其他操作修改，请刷新后重试",
            ) from exc
        self._snapshot(processing)
        if self.repository.cache is not None:
            # The case as saved is the case as stored: the next command on it (there
            # usually is one soon) starts from here, fast-forwarded, instead of a replay.
            for aggregate in aggregates:
                if isinstance(aggregate, Case):
                    self.repository.cache.put(aggregate.id, aggregate)
        self._notify(recordings)
        own = [r for r in recordings if not isinstance(r.domain_event, RequestHandled)]
        return CommandResult(
            aggregate_id=head.id,
            version=head.version,
            position=max((r.notification.id for r in recordings), default=0),
            events=len(own),
            created=created or {},
        )

    def _snapshot(self, processing: ProcessingEvent[UUID]) -> None:
        """Saving takes the snapshots: a case whose new events crossed a multiple of the
        interval is snapshotted as it stands (no replay). A snapshot is a cache of state the
        events hold, so one lost to a crash here costs only a longer replay."""
        if self.snapshots is None:
            return
        added: dict[UUID, int] = {}
        for event in processing.events:
            added[event.originator_id] = added.get(event.originator_id, 0) + 1
        taken = []
        for aggregate_id, count in added.items():
            aggregate = processing.aggregates.get(aggregate_id)
            if not isinstance(aggregate, Case):
                continue
            n = self.snapshot_interval
            if aggregate.version // n > (aggregate.version - count) // n:
                taken.append(CaseSnapshot.take(aggregate))
        if taken:
            self.snapshots.put(taken)

    @staticmethod
    def _describe(created: object) -> dict[str, Any]:
        if isinstance(created, str):
            return {"id": created}
        if isinstance(created, int):
            return {"round": created}
        if isinstance(created, list):
            return {"ids": created}
        return {}

    def _refuse_duplicate(self, uscc: str) -> None:
        first = self.case_for_uscc(uscc)
        if first is not None:
            raise DuplicateListing(
                f"an enterprise with USCC {uscc} is already listed as case {first}",
                rule="rule 2: an enterprise with a USCC is listed once",
                field="uscc",
                message_zh=f"统一社会信用代码 {uscc} 已登记为案件 {first}",
                details={"existing_case_id": str(first)},
            )

    def _require_patrol(self, patrol_id: UUID, town: str) -> None:
        patrol = self._find(patrol_id, Patrol)
        if patrol is None or patrol.town != town:
            raise InvalidInput(
                f"no patrol {patrol_id} of {town}",
                rule="a listing from a patrol names that town's patrol",
                field="found_by_patrol",
                message_zh="巡查记录不存在或不属于本辖区",
            )

    def _require_own_territory(self, actor: Actor, case: Case, command: Command) -> None:
        """Rule 1: a town acts only in its territory. A park platform sees the enterprises
        relocating into it, and acts on them only to confirm their entry."""
        unit = self.units.get(actor.unit)
        foreign = unit.is_territorial and case.town != actor.unit
        if foreign and not isinstance(command, c.ConfirmParkEntry):
            raise PermissionDenied(
                f"{actor.unit!r} acts only on enterprises of its own territory; this one "
                "is relocating into it, which it may only admit",
                rule="rule 1: a town only in its own territory",
                field="unit",
                message_zh="仅可确认迁入本园区，不可办理其他事项",
            )

    def _check_named_units(self, command: Command, case: Case) -> None:
        """Units a command names must exist and be able to do what they are named for, or
        the task they get could never be done."""
        named: list[tuple[str, str, Action | None]] = []
        if isinstance(command, c.LaunchJointEnforcement):
            named = [("units", u, Action.SUPPORT_JOINT_ENFORCEMENT) for u in command.units]
        elif isinstance(command, c.ArbitrateDispute):
            dispute = case.disputes.get(command.dispute_id)
            task = case.tasks.get(dispute.task_id) if dispute else None
            action = task.completes_on if task else None
            named = [("responsible_unit", command.responsible_unit, action)]
        elif isinstance(command, c.RaiseDispute) and command.suggested_unit:
            named = [("suggested_unit", command.suggested_unit, None)]
        elif isinstance(command, c.RecordIncident):
            named = [("units", u, Action.REPORT_HAZARD_REMOVED) for u in command.units]
        elif isinstance(command, c.SetRelocationDestination):
            named = [("park", command.park, Action.CONFIRM_PARK_ENTRY)]
        for field_name, unit_id, action in named:
            if unit_id not in self.units:
                raise InvalidInput(
                    f"{unit_id!r} is not a unit in the registry",
                    rule="named units exist",
                    field=field_name,
                    message_zh=f"{unit_id!r} 不是登记的单位",
                )
            unit = self.units.get(unit_id)
            if field_name == "park":
                if unit.kind != "platform":
                    raise InvalidInput(
                        f"{unit_id!r} is not a park platform",
                        rule="入园: the destination is an industrial-park platform",
                        field=field_name,
                        message_zh=f"{unit_id!r} 不是工业园区平台",
                    )
                continue
            # Enforcement names departments (the town leads it); a hazard's removal may also
            # fall to the case's own town, never to another.
            town_may_be_named = isinstance(command, c.RecordIncident) and unit_id == case.town
            if field_name == "units" and unit.is_territorial and not town_may_be_named:
                raise InvalidInput(
                    f"{unit_id!r} is a town: name departments (the town leads)",
                    rule="the town enforces with departments and companies it names",
                    field=field_name,
                    message_zh=f"{unit_id!r} 是镇街，不能被指定",
                )
            if action is not None and not self.units.permits(unit_id, action):
                raise InvalidInput(
                    f"{unit_id!r} may not {action.value}, so it cannot be given this task",
                    rule="rule 1: a task goes to a unit that may post its action",
                    field=field_name,
                    message_zh=f"{unit_id!r} 无权办理 {action.value}，不能指定其承办",
                    details={"unit": unit_id, "action": action.value},
                )

    def _event_at(self, case_id: UUID, version: int) -> CaseEvent:
        for event in self.events.get(case_id, gt=version - 1, lte=version):
            return cast(CaseEvent, event)
        raise NotFound(
            f"case {case_id} has no version {version}",
            rule="rule 9: a correction names the event it corrects",
            field="corrects_version",
            message_zh=f"案件无第 {version} 版记录",
        )


__all__ = ["Clock", "CommandResult", "Liandong", "PermissionDenied", "RequestKey", "utc_now"]
