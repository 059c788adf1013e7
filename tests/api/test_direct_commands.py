"""Commands answered by `api.direct_commands`, without FastAPI's dependency solving, are
answered exactly as FastAPI's generated route answers them: the same refusals word for
word, the same results. The rest of tests/api goes through the direct path too (it sits
in every app); these tests pin what it must never change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, cast

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.bootstrap import Services, bootstrap
from api.direct_commands import DirectCommands
from api.settings import Settings
from domain import commands as c
from domain.values import Actor

TOWN = "town:degan"
OTHER_TOWN = "town:baisha"
DENY = {"approval_kind": "filing", "application_ref": "2021-1", "reason": "listed"}


def routed_only(app: FastAPI) -> FastAPI:
    """The same app with the direct path taken out: every command by FastAPI's route."""
    app.user_middleware = [m for m in app.user_middleware if cast(Any, m.cls) is not DirectCommands]
    return app


class Both:
    """One set of stores behind two apps: with the direct path, and without it."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.direct = TestClient(create_app(services), raise_server_exceptions=False)
        self.routed = TestClient(routed_only(create_app(services)), raise_server_exceptions=False)
        units = ("ecology", TOWN, OTHER_TOWN, "power")
        self.keys = {u: services.keys.issue(u, "test").key for u in units}

    def case(self) -> str:
        listed = self.services.app.handle(
            Actor(unit=TOWN), c.ListEnterprise(name="某厂", address="a", town=TOWN)
        )
        return str(listed.aggregate_id)

    def auth(self, unit: str = "ecology") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[unit]}"}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    tmp = tmp_path_factory.mktemp("direct")
    services = bootstrap(
        Settings(
            data_dir=tmp,
            event_store=f"sqlite:///{tmp / 'events.sqlite'}",
            view_store=f"sqlite:///{tmp / 'views.sqlite'}",
            kafka_bootstrap="127.0.0.1:1",
        )
    )
    yield Both(services)
    services.close()


def answer(response: Any) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body, but for the request's own id (in a header, and in a
    problem's body)."""
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    body = orjson.loads(response.content) if "json" in headers["content-type"] else b""
    if isinstance(body, dict):
        assert (
            body.pop("request_id", response.headers["x-request-id"])
            == (response.headers["x-request-id"])
        )
    return response.status_code, headers, body or response.content


Headers = dict[str, str] | list[tuple[str, str]]  # a list: a header sent twice
Request = tuple[str, str, Headers, bytes]  # path, query, headers, body


def refused_requests(b: Both) -> dict[str, Request]:
    """Requests refused before or by the command: nothing of them is recorded, so both
    apps can be asked the same thing of the same stores."""
    case = b.case()
    deny = f"/cases/{case}/deny-approval"
    json_ = {"Content-Type": "application/json", **b.auth()}

    def body(**fields: Any) -> bytes:
        return orjson.dumps({**DENY, **fields})

    good = body()
    return {
        "a number for a text field": (deny, "", json_, body(reason=5)),
        "null for a text field": (deny, "", json_, body(reason=None)),
        "a list for a text field": (deny, "", json_, body(approval_kind=["filing"])),
        "an object for a text field": (deny, "", json_, body(application_ref={"a": 1})),
        "a field missing": (deny, "", json_, b'{"approval_kind": "filing", "reason": "r"}'),
        "a field not in the command": (deny, "", json_, body(extra="x")),
        "Infinity": (deny, "", json_, good.replace(b'"listed"', b"Infinity")),
        "NaN": (deny, "", json_, good.replace(b'"listed"', b"NaN")),
        "a number past 64 bits": (deny, "", json_, good.replace(b'"listed"', b"1" * 30)),
        "a NUL in the text": (deny, "", json_, body(reason="a\x00b")),
        "an empty text": (deny, "", json_, body(reason="")),
        "a JSON array": (deny, "", json_, b"[1, 2]"),
        "a JSON string": (deny, "", json_, b'"deny"'),
        "no body": (deny, "", json_, b""),
        "text/plain": (deny, "", {**json_, "Content-Type": "text/plain"}, good),
        "no content type": (deny, "", b.auth(), good),
        "a case id that is no UUID": (
            "/cases/not-a-case/deny-approval",
            "",
            json_,
            good,
        ),
        "an unknown case": (f"/cases/{uuid.uuid4()}/deny-approval", "", json_, good),
        "wait=maybe": (deny, "wait=maybe", json_, good),
        "a NUL in the query": (deny, "wait=true&x=%00", json_, good),
        "a key past 200 characters": (deny, "", {**json_, "Idempotency-Key": "k" * 201}, good),
        "a unit that may not post it": (deny, "", {**json_, **b.auth("power")}, good),
        "another town's case": (
            f"/cases/{b.case()}/order-suspension",
            "",
            {**json_, **b.auth(OTHER_TOWN)},
            b'{"document_number": "d"}',
        ),
        "an order number of the wrong form": (
            f"/orders/{case}/X1/acknowledge",
            "",
            json_,
            b"{}",
        ),
        "an unknown order": (f"/orders/{case}/O1/acknowledge", "", json_, b"{}"),
        "no key": (deny, "", {"Content-Type": "application/json"}, good),
        "an unknown key": (
            deny,
            "",
            {**json_, "Authorization": "Bearer ld_0000_nothing"},
            good,
        ),
        "two keys": (deny, "", [*json_.items(), *b.auth(TOWN).items()], good),
        "two Idempotency-Keys": (
            deny,
            "",
            [*json_.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
            good,
        ),
        "X-Person beside the key": (deny, "", {**json_, "X-Person": "zhang"}, good),
        "no key, and a body of the wrong type": (
            deny,
            "",
            {"Content-Type": "application/json"},
            body(reason=5),
        ),
    }


def test_every_refusal_is_word_for_word_fastapis(both: Both) -> None:
    requests = refused_requests(both)
    before = both.services.app.event_count()
    for name, (path, query, headers, body) in requests.items():
        url = f"{path}?{query}" if query else path
        direct = both.direct.post(url, content=body, headers=headers)
        routed = both.routed.post(url, content=body, headers=headers)
        assert direct.status_code >= 400, name
        assert answer(direct) == answer(routed), name
    assert both.services.app.event_count() == before


def test_a_command_is_carried_out_as_fastapis_route_carries_it_out(both: Both) -> None:
    answers = []
    for client in (both.direct, both.routed):
        case = both.case()
        response = client.post(f"/cases/{case}/deny-approval", json=DENY, headers=both.auth())
        status, headers, _ = answer(response)
        body = response.json()
        assert body["aggregate_id"] == case
        recorded = both.services.app.get_case(uuid.UUID(case))
        answers.append((status, headers, body["version"], body["events"], type(recorded).__name__))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200


def test_a_case_listed_either_way_is_answered_alike(both: Both) -> None:
    answers = [
        client.post("/cases", json=listing, headers=both.auth(TOWN))
        for client, listing in (
            (both.direct, {"name": "某家具厂", "address": "德感街道1号", "town": TOWN}),
            (both.routed, {"name": "某五金厂", "address": "德感街道2号", "town": TOWN}),
        )
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answer(answers[0])[1] == answer(answers[1])[1]
    bodies = [a.json() for a in answers]
    for body in bodies:
        assert body["created"] == {"case_id": body["aggregate_id"]}
        del body["aggregate_id"], body["created"], body["position"]
    assert bodies[0] == bodies[1]


def test_a_case_id_in_another_spelling_names_the_same_case(both: Both) -> None:
    case = both.case()
    spelled = uuid.UUID(case).hex.upper()  # no hyphens, capitals: the validator takes it
    response = both.direct.post(f"/cases/{spelled}/deny-approval", json=DENY, headers=both.auth())
    assert response.status_code == 200
    assert response.json()["aggregate_id"] == case


def test_a_request_carried_out_on_one_path_is_replayed_on_the_other(both: Both) -> None:
    case = both.case()
    headers = {**both.auth(), "Idempotency-Key": f"k-{case}"}
    first = both.routed.post(f"/cases/{case}/deny-approval", json=DENY, headers=headers)
    again = both.direct.post(f"/cases/{case}/deny-approval", json=DENY, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replay"] == "true"
    other = both.direct.post(
        f"/cases/{case}/deny-approval", json={**DENY, "reason": "else"}, headers=headers
    )
    assert answer(other) == answer(
        both.routed.post(
            f"/cases/{case}/deny-approval", json={**DENY, "reason": "else"}, headers=headers
        )
    )
    assert other.status_code == 422


def passed_on_to(app: FastAPI) -> Any:
    """The direct path alone: whatever it passes on is answered 599 ("passed on")."""

    async def passed_on(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b"passed on"})

    direct = DirectCommands(passed_on)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # its services and exception handlers, as Starlette sets them
        await direct(scope, receive, send)

    return asgi


def test_the_direct_path_itself_answers_every_well_formed_command(both: Both) -> None:
    app = create_app(both.services)
    alone = TestClient(passed_on_to(app), raise_server_exceptions=False)
    case = both.case()
    before = both.services.app.event_count()
    denied = alone.post(f"/cases/{case}/deny-approval", json=DENY, headers=both.auth())
    assert denied.status_code == 200
    listing = {"name": "某纸箱厂", "address": "a", "town": TOWN}
    listed = alone.post("/cases", json=listing, headers=both.auth(TOWN))
    assert listed.status_code == 201
    recorded = denied.json()["events"] + listed.json()["events"]
    assert both.services.app.event_count() == before + recorded
    # Refused by the domain, through the app's own handlers: not passed on.
    order = alone.post(f"/orders/{case}/O1/acknowledge", json={}, headers=both.auth("power"))
    assert order.status_code == 404
    assert order.headers["content-type"] == "application/problem+json"
    assert alone.post(f"/cases/{case}/deny-approval", json=DENY).status_code == 401
    # What it cannot read exactly as FastAPI would, it passes on.
    for body in ({**DENY, "reason": 5}, [1]):
        passed = alone.post(f"/cases/{case}/deny-approval", json=body, headers=both.auth())
        assert passed.status_code == 599
    assert alone.get(f"/cases/{case}").status_code == 599
    assert alone.post(f"/cases/{case}/unknown-verb", json=DENY).status_code == 599


def test_a_body_in_parts_is_passed_on_as_it_came(both: Both) -> None:
    """BodyGuard hands on one whole body. Should a first part reach the direct path, it
    must not be read as the command, even where that part is JSON on its own."""
    message = {"type": "http.request", "body": orjson.dumps(DENY), "more_body": True}
    app = create_app(both.services)
    case = both.case()
    received: list[Any] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(await receive())

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: Any) -> None:
        raise AssertionError("the direct path answered")

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/cases/{case}/deny-approval",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *_raw(both.auth())],
        "app": app,
    }
    asyncio.run(DirectCommands(inner)(scope, receive, send))
    assert received == [message]


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]
