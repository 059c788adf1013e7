"""Bad input gets a clear 4xx naming the field and the rule, and records nothing."""

from __future__ import annotations

from typing import Any

import pytest

from api.keys import KeyStore
from domain.uscc import with_check_character
from tests.api.conftest import Api

TOWN = "town:degan"


def listing(**overrides: Any) -> dict[str, Any]:
    return {"name": "德感某厂", "address": "德感街道", "town": TOWN, **overrides}


def refused(
    api: Api, response: Any, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    if field is not None:
        assert problem["field"] == field
    return problem


@pytest.fixture
def counted(api: Api) -> Any:
    before = api.events
    yield api
    assert api.events == before, "a refused request recorded events"


def test_an_oversized_body_is_refused_with_413(counted: Api) -> None:
    api = counted
    body = listing(name="x" * 100, address="y" * 2_000_000)
    refused(api, api.post(TOWN, "/cases", body), 413, "too_large")


def test_malformed_json_names_the_rule(counted: Api) -> None:
    api = counted
    response = api.client.post(
        "/cases",
        content=b'{"name": "x",',
        headers={**api.headers(TOWN), "Content-Type": "application/json"},
    )
    problem = refused(api, response, 422, "malformed_json")
    assert problem["rule"] == "request body is JSON"


def test_a_bad_uscc_names_the_field_and_the_standard(counted: Api) -> None:
    api = counted
    good = with_check_character("91500116MA0000001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    problem = refused(
        api, api.post(TOWN, "/cases", listing(uscc=bad)), 422, "invalid_input", "uscc"
    )
    assert "rule 2" in problem["rule"]
    assert "GB 32100-2015" in problem["detail"]


def test_errors_speak_chinese_when_asked(counted: Api) -> None:
    api = counted
    problem = refused(
        api,
        api.post("forestry", "/cases", listing(), **{"Accept-Language": "zh-CN"}),
        403,
        "permission_denied",
    )
    assert "无权" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"name": "德感某厂", "town": TOWN}, "address", "必填"),
        (listing(licensed="yes please"), "licensed", "须为 true 或 false"),
        (listing(name=""), "name", "内容过短或为空"),
        (listing(connections=[{"utility": "steam"}]), "connections.0.utility", "不是可选值之一"),
        (listing(colour="red"), "colour", "不是可接受的字段"),
    ],
)
def test_field_errors_are_translated_not_left_in_english(
    counted: Api, body: dict[str, Any], field: str, says: str
) -> None:
    api = counted
    response = api.post(TOWN, "/cases", body, **{"Accept-Language": "zh-CN"})
    problem = refused(api, response, 422, "invalid_input", field)
    assert problem["detail"] == f"字段 {field}：{says}"
    assert not any(word in problem["detail"] for word in ("Field", "required", "Input"))


def test_no_key_an_unknown_key_and_a_revoked_key_get_401(api: Api) -> None:
    issued = api.services.keys.issue(TOWN, "to revoke")
    assert api.services.keys.revoke(issued.key_id)
    before = api.events  # issuing and revoking a key are on the trail themselves
    refused(api, api.client.post("/cases", json=listing()), 401, "unauthenticated")
    refused(
        api,
        api.client.post("/cases", json=listing(), headers={"Authorization": "Bearer ld_nope_nope"}),
        401,
        "invalid_key",
    )
    response = api.client.post(
        "/cases", json=listing(), headers={"Authorization": f"Bearer {issued.key}"}
    )
    refused(api, response, 401, "invalid_key")
    assert api.events == before


def test_a_key_for_a_unit_no_longer_registered_gets_401(counted: Api) -> None:
    api = counted
    # A key issued while the unit was registered (the registry is data the office edits).
    ghost = KeyStore(api.services.db).issue("town:atlantis", "not in the registry")
    response = api.client.post(
        "/cases", json=listing(), headers={"Authorization": f"Bearer {ghost.key}"}
    )
    refused(api, response, 401, "invalid_key")


def test_a_town_outside_its_territory_gets_403(counted: Api) -> None:
    api = counted
    refused(api, api.post("town:baisha", "/cases", listing()), 403, "permission_denied", "town")


def test_an_unknown_case_gets_404_and_a_bad_id_422(counted: Api) -> None:
    api = counted
    refused(
        api,
        api.post(
            "economy",
            "/cases/00000000-0000-0000-0000-000000000000/classify",
            {"disposition": "close", "reason": "r", "deadline": "2030-01-01T00:00:00+08:00"},
        ),
        404,
        "not_found",
        "case_id",
    )
    refused(
        api,
        api.post(
            "economy",
            "/cases/not-a-uuid/classify",
            {"disposition": "close", "reason": "r", "deadline": "2030-01-01T00:00:00+08:00"},
        ),
        422,
        "invalid_input",
        "case_id",
    )


def test_an_unknown_field_is_refused(counted: Api) -> None:
    api = counted
    refused(api, api.post(TOWN, "/cases", listing(colour="red")), 422, "invalid_input", "colour")


def test_a_retried_post_returns_the_original_result_and_records_nothing(api: Api) -> None:
    body = listing(uscc=with_check_character("91500116MA0000777"))
    first = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "listing-777"})
    assert first.status_code == 201, first.text
    after_first = api.events
    again = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "listing-777"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replay"] == "true"
    assert api.events == after_first
    other = api.post(TOWN, "/cases", listing(name="另一家"), **{"Idempotency-Key": "listing-777"})
    refused(api, other, 422, "idempotency_key_reused", "Idempotency-Key")
    assert api.events == after_first


def test_a_refused_post_frees_its_idempotency_key(api: Api) -> None:
    response = api.post("forestry", "/cases", listing(), **{"Idempotency-Key": "k-403"})
    assert response.status_code == 403
    again = api.post("forestry", "/cases", listing(), **{"Idempotency-Key": "k-403"})
    assert again.status_code == 403, "the refusal is computed again, not replayed as success"


def test_the_approval_lock_check_answers_any_department(api: Api) -> None:
    code = with_check_character("91500116MA0000888")
    assert api.post(TOWN, "/cases", listing(uscc=code)).status_code == 201
    lock = api.get("planning", "/approval-lock", uscc=code).json()
    assert (lock["locked"], lock["may_approve"]) == (True, False)
    unknown = api.get(
        "planning", "/approval-lock", uscc=with_check_character("91500116MA0000999")
    ).json()
    assert unknown["may_approve"] is True
