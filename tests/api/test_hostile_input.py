"""What a hostile or careless client sends is refused at the edge with a problem that names
the field and the rule, and records nothing; what is accepted always loads again.

Each test here reproduces a finding of issue #10 that once bricked a case, stopped a view
or answered 500.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from domain.uscc import with_check_character
from tests.api.conftest import Api
from tests.api.test_bad_input import TOWN, listing, refused

DEADLINE = (datetime.now(tz=UTC) + timedelta(days=30)).isoformat()


@pytest.fixture
def counted(api: Api) -> Any:
    before = api.events
    yield api
    assert api.events == before, "a refused request recorded events"


def raw_post(api: Api, unit: str, path: str, content: bytes, **headers: str) -> Any:
    return api.client.post(
        path,
        content=content,
        headers={**api.headers(unit), "Content-Type": "application/json", **headers},
    )


def closed_case_with_power_order(api: Api, serial: int) -> tuple[str, str]:
    body = listing(
        uscc=with_check_character(f"91500116MA{serial:07d}"),
        connections=[{"utility": "power", "account": "P-1"}],
    )
    created = api.post(TOWN, "/cases", body)
    assert created.status_code == 201, created.text
    case_id = created.json()["created"]["case_id"]
    classify = {"disposition": "close", "reason": "关停", "deadline": DEADLINE}
    assert api.post("economy", f"/cases/{case_id}/classify", classify).status_code == 200
    order = {
        "utility": "power",
        "kind": "cut",
        "grounds": "close_classification",
        "document_number": "江津经信〔2021〕1号",
        "deadline": DEADLINE,
    }
    response = api.post("economy", f"/cases/{case_id}/request-utility-order", order)
    assert response.status_code == 200, response.text
    return case_id, str(response.json()["created"]["id"]).split("/")[1]


def test_infinity_as_a_reading_is_refused_and_the_case_still_loads(api: Api) -> None:
    case_id, order_no = closed_case_with_power_order(api, 4001)
    before = api.events
    for literal in (b"Infinity", b"-Infinity", b"NaN", b"1e999"):
        content = (
            b'{"meter": "M-1", "reading": ' + literal + b', "executed_at": "2026-11-01T08:00:00Z"}'
        )
        response = raw_post(api, "power", f"/orders/{case_id}/{order_no}/execute", content)
        assert response.status_code == 422, (literal, response.text)
        assert response.json()["field"] == "reading"
        receipt = (
            b'{"receipt_id": "r-inf", "order_id": "' + f"{case_id}/{order_no}".encode() + b'", '
            b'"utility": "power", "status": "executed", "meter": "M", "reading": '
            + literal
            + b', "executed_at": "2026-11-01T08:00:00Z"}'
        )
        response = raw_post(api, "power", "/utilities/receipts", receipt)
        assert response.status_code == 422, (literal, response.text)
    assert api.events == before
    assert api.get("district-office", f"/enterprises/{case_id}/timeline").status_code == 200
    now = datetime.now(tz=UTC).isoformat()
    assert api.get("district-office", f"/enterprises/{case_id}", as_of=now).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "德感\u0000某厂"),
        ("name", "bell\u0007"),
        ("address", "escape \u001b[31m"),
        ("name", "\u0085next line"),
        ("name", "   "),
        ("name", "\u200b\u200b"),
        ("name", "\u3000\ufeff"),
        ("address", "\t\n"),
        ("contact", "nul\u0000"),
    ],
)
def test_control_characters_and_blank_text_are_refused_by_field(
    counted: Api, field: str, value: str
) -> None:
    problem = refused(
        counted,
        counted.post(TOWN, "/cases", listing(**{field: value})),
        422,
        "invalid_input",
        field,
    )
    assert "control character" in problem["detail"] or "visible" in problem["detail"]


def test_a_lone_surrogate_is_refused_not_a_server_error(counted: Api) -> None:
    content = b'{"name": "\\ud800", "address": "a", "town": "' + TOWN.encode() + b'"}'
    refused(counted, raw_post(counted, TOWN, "/cases", content), 422, "invalid_input", "name")


def test_nested_text_is_checked_too(counted: Api) -> None:
    body = listing(problems=[{"kind": "no_eia", "description": "x\u0000"}])
    problem = refused(counted, counted.post(TOWN, "/cases", body), 422, "invalid_input")
    assert problem["field"] == "problems"
    assert "description" in problem["detail"]


@pytest.mark.parametrize(
    "changes",
    [
        {"licensed": "yes"},
        {"in_four_mountains": "no"},
        {"name": ""},
        {"name": "x" * 100_000},
        {"name": None},
        {"address": "\u0000"},
        {"name": " \u200b"},
        {"power_account": "y" * 65},
    ],
)
def test_a_correction_obeys_the_listing_rules(api: Api, changes: dict[str, Any]) -> None:
    created = api.post(TOWN, "/cases", listing(uscc=with_check_character("91500116MA0004100")))
    if created.status_code == 409:  # listed by an earlier parameter
        case_id = created.json()["details"]["existing_case_id"]
    else:
        case_id = created.json()["created"]["case_id"]
    before = api.events
    body = {"corrects_version": 1, "reason": "登记有误", "changes": changes}
    problem = refused(
        api,
        api.post(TOWN, f"/cases/{case_id}/correct-record", body),
        422,
        "invalid_input",
        "changes",
    )
    assert next(iter(changes)) in problem["detail"]
    assert api.events == before


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "3000-01-01T00:00:00Z"]
)
def test_extreme_moments_are_refused_not_overflowed(api: Api, moment: str) -> None:
    for path in ("/audit", "/accountability"):
        params = {"since": moment} if path == "/audit" else {"at": moment}
        response = api.get("district-office", path, **params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "invalid_input"
    before = api.events
    created = api.post(TOWN, "/cases", listing(uscc=with_check_character("91500116MA0004200")))
    case_id = (
        created.json()["created"]["case_id"]
        if created.status_code == 201
        else created.json()["details"]["existing_case_id"]
    )
    before = api.events
    body = {"disposition": "close", "reason": "r", "deadline": moment}
    refused(
        api,
        api.post("economy", f"/cases/{case_id}/classify", body),
        422,
        "invalid_input",
        "deadline",
    )
    assert api.events == before


def test_a_chunked_body_over_the_limit_gets_413(counted: Api) -> None:
    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    response = counted.client.post(
        "/cases",
        content=chunks(),
        headers={**counted.headers(TOWN), "Content-Type": "application/json"},
    )
    refused(counted, response, 413, "too_large")


@pytest.mark.parametrize(
    "content",
    [b"[" * 5000 + b"]" * 5000, b'{"name": "\xff\xfe", "address": "a"}', b'{"a": [1, 2'],
    ids=["deep nesting", "invalid UTF-8", "truncated"],
)
def test_json_no_parser_takes_is_malformed_json(counted: Api, content: bytes) -> None:
    problem = refused(counted, raw_post(counted, TOWN, "/cases", content), 422, "malformed_json")
    assert problem["rule"] == "request body is JSON"


def test_a_body_that_stops_short_of_its_length_times_out(tmp_path: Any) -> None:
    """Over a real socket: Content-Length promises more than is sent; the server answers
    408 once no byte has come for its read timeout, rather than holding the connection."""
    from api.bootstrap import bootstrap
    from tests.api.conftest import memory_settings, served_over_http

    settings = memory_settings(tmp_path, request_read_timeout_seconds=1.0)
    services = bootstrap(settings)
    key = services.keys.issue(TOWN, "t").key
    before = services.app.event_count()  # the key's issue is on the trail
    with served_over_http(services) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 1000\r\n\r\n"
                b'{"name": '
            )
            answer = b""
            while chunk := sock.recv(4096):  # until the server closes (Connection: close)
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"request_timeout" in answer
        assert services.app.event_count() == before
    services.close()
    assert urlsplit(settings.view_store).scheme == "sqlite"
