"""The Liandong application: its methods are the command API of the domain.

Persistence is chosen by environment, as eventsourcing does it:
PERSISTENCE_MODULE=eventsourcing.popo (in memory), eventsourcing.sqlite (the
embedded default) or eventsourcing.postgres (production).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Mapper
from eventsourcing.utils import get_topic

from domain.actions import Action
from domain.case import Case, check_uscc
from domain.commands import (
    ArbitrateDispute,
    CaseCommand,
    Command,
    CorrectRecord,
    LaunchJointEnforcement,
    ListEnterprise,
    OrderCommand,
    RaiseDispute,
    RecordPatrol,
)
from domain.credentials import Credential, credential_id
from domain.errors import (
    ConcurrencyConflict,
    DuplicateListing,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from domain.events import CaseEvent, EnterpriseListed
from domain.indexes import UsccIndex, uscc_index_id
from domain.patrol import Patrol
from domain.records import EnterpriseDetails
from domain.registry_record import REGISTRY_RECORD_ID, RegistryRecord, registry_content
from domain.requests import RequestHandled, RequestRecord, request_record_id
from domain.transcoding import OrjsonTranscoder, PydanticMapper
from domain.units import UnitsRegistry, default_registry
from domain.values import Actor

Clock = Callable[[], datetime]


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
    ) -> None:
        super().__init__(env)
        self.units = units or default_registry()
        self.clock = clock

    def construct_mapper(self) -> Mapper[UUID]:
        return cast(Mapper[UUID], PydanticMapper(transcoder=OrjsonTranscoder()))

    # ------------------------------------------------------------ commands

    def handle(
        self, actor: Actor, command: Command, request: RequestKey | None = None
    ) -> CommandResult:
        """Authorizes and executes one command; a refused command records nothing. With a
        request key, the request's record is saved with the command's events (raises
        ConcurrencyConflict if that request was carried out already)."""
        action = command.action_for()
        self.units.require(actor.unit, action)
        if isinstance(command, ListEnterprise):
            return self.list_enterprise(actor, command, request)
        if isinstance(command, RecordPatrol):
            return self.record_patrol(actor, command, request)
        assert isinstance(command, (CaseCommand, OrderCommand))
        self._check_named_units(command)
        case = self.get_case(command.case_id)
        if not self.may_see(actor.unit, case):
            raise no_such_case(case.id)  # DOMAIN.md 12: as if it did not exist
        now = max(self.clock(), case.modified_on)
        arguments = command.arguments()
        if isinstance(command, CorrectRecord):
            arguments["original"] = self._event_at(case.id, command.corrects_version)
            del arguments["corrects_version"]
        created = getattr(case, command.method)(actor, now, **arguments)
        return self._save(case, created=self._describe(created), request=(actor, request))

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
        try:
            return self._save(
                case, index, created={"case_id": str(case.id)}, request=(actor, request)
            )
        except ConcurrencyConflict:
            if command.uscc:
                self._refuse_duplicate(command.uscc)
            raise

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
        return not unit.is_territorial or case.town == unit.id

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
        self._notify(recordings)
        own = [r for r in recordings if not isinstance(r.domain_event, RequestHandled)]
        return CommandResult(
            aggregate_id=head.id,
            version=head.version,
            position=max((r.notification.id for r in recordings), default=0),
            events=len(own),
            created=created or {},
        )

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
        try:
            patrol: Any = self.repository.get(patrol_id, projector_func=project)
        except AggregateNotFoundError:
            patrol = None
        if not isinstance(patrol, Patrol) or patrol.town != town:
            raise InvalidInput(
                f"no patrol {patrol_id} of {town}",
                rule="a listing from a patrol names that town's patrol",
                field="found_by_patrol",
                message_zh="巡查记录不存在或不属于本辖区",
            )

    def _check_named_units(self, command: Command) -> None:
        """Units a command names must exist (and enforcement names departments, not towns)."""
        named: list[tuple[str, str]] = []
        if isinstance(command, LaunchJointEnforcement):
            named = [("units", u) for u in command.units]
        elif isinstance(command, ArbitrateDispute):
            named = [("responsible_unit", command.responsible_unit)]
        elif isinstance(command, RaiseDispute) and command.suggested_unit:
            named = [("suggested_unit", command.suggested_unit)]
        for field_name, unit_id in named:
            if unit_id not in self.units or (
                field_name == "units" and self.units.get(unit_id).is_territorial
            ):
                raise InvalidInput(
                    f"{unit_id!r} is not a department or utility in the registry",
                    rule="named units exist",
                    field=field_name,
                    message_zh=f"{unit_id!r} 不是登记的部门或单位",
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
