"""Webhook subscriptions over REST, tried as a hostile or careless client would: no key,
another unit's key, bad URLs and bodies, nonsense cursors. Each refusal names the field
and the rule and records nothing. (Deliveries themselves: tests/gateways/test_webhooks.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, make_api, memory_settings

TOWN = "town:degan"
URL = "https://hooks.degan.example/liandong"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def subscribe(api: Api, unit: str = TOWN, **body: Any) -> Any:
    return api.post(unit, "/subscriptions", {"url": URL, **body})


def test_a_unit_subscribes_and_sees_its_subscription(api: Api) -> None:
    created = subscribe(api, kinds=["task", "order"], description="德感街道值班系统")
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["unit"], body["url"], body["kinds"], body["state"]) == (
        TOWN,
        URL,
        ["task", "order"],
        "active",
    )
    assert body["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0, "dropped": 0}
    sid = body["subscription_id"]
    assert api.get(TOWN, f"/subscriptions/{sid}").json()["url"] == URL
    assert api.post(TOWN, f"/subscriptions/{sid}/pause", {}).json()["state"] == "paused"
    assert api.post(TOWN, f"/subscriptions/{sid}/pause", {}).status_code == 409
    assert api.post(TOWN, f"/subscriptions/{sid}/resume", {}).json()["state"] == "active"
    assert api.client.delete(f"/subscriptions/{sid}", headers=api.headers(TOWN)).status_code == 204
    assert api.get(TOWN, f"/subscriptions/{sid}").json()["state"] == "deleted"
    assert api.client.delete(f"/subscriptions/{sid}", headers=api.headers(TOWN)).status_code == 409


def test_another_units_subscription_does_not_exist_for_it(api: Api) -> None:
    sid = subscribe(api).json()["subscription_id"]
    before = api.events
    for unit in ("town:baisha", "economy", "district-office", "power"):
        assert api.get(unit, f"/subscriptions/{sid}").status_code == 404
        assert api.get(unit, f"/subscriptions/{sid}/deliveries").status_code == 404
        assert api.post(unit, f"/subscriptions/{sid}/pause", {}).status_code == 404
        assert api.post(unit, f"/subscriptions/{sid}/replay", {}).status_code == 404
        deleted = api.client.delete(f"/subscriptions/{sid}", headers=api.headers(unit))
        assert deleted.status_code == 404
    assert api.events == before
    assert api.get(TOWN, f"/subscriptions/{sid}").json()["state"] == "active"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/subscriptions"),
        ("POST", "/subscriptions"),
        ("GET", "/subscriptions/00000000-0000-0000-0000-000000000000"),
        ("DELETE", "/subscriptions/00000000-0000-0000-0000-000000000000"),
        ("GET", "/subscriptions/00000000-0000-0000-0000-000000000000/deliveries"),
        ("POST", "/subscriptions/00000000-0000-0000-0000-000000000000/replay"),
        ("GET", "/inbox/stream"),
    ],
)
def test_no_key_no_subscription(api: Api, method: str, path: str) -> None:
    before = api.events
    assert api.client.request(method, path, json={"url": URL}).status_code == 401
    assert api.events == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://127.0.0.1/hook"}, "url"),
        ({"url": "https://10.0.0.8/hook"}, "url"),
        ({"url": "https://localhost:8443/hook"}, "url"),
        ({"url": "http://hooks.degan.example/liandong"}, "url"),
        ({"url": "https://user:pw@hooks.degan.example/"}, "url"),
        ({"url": "https://hooks.degan.example/\u0000"}, "url"),
        ({"url": ""}, "url"),
        ({"url": None}, "url"),
        ({"url": ["https://hooks.degan.example/"]}, "url"),
        ({"url": URL, "kinds": []}, "kinds"),
        ({"url": URL, "kinds": ["everything"]}, "kinds"),
        ({"url": URL, "kinds": "task"}, "kinds"),
        ({"url": URL, "kinds": ["task", "task"]}, "kinds"),
        ({"url": URL, "description": 5}, "description"),
        ({"url": URL, "description": "x" * 201}, "description"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field_and_records_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = api.events
    refused = api.post(TOWN, "/subscriptions", body)
    assert refused.status_code == 422, refused.text
    assert field in str(refused.json()), refused.json()
    assert api.events == before


@pytest.mark.parametrize("cursor", ["abc", "-1|x", "1e9|m", "9" * 40 + "|m", "|"])
def test_a_nonsense_cursor_is_refused_by_name(api: Api, cursor: str) -> None:
    sid = subscribe(api).json()["subscription_id"]
    refused = api.get(TOWN, f"/subscriptions/{sid}/deliveries", cursor=cursor)
    assert refused.status_code == 422
    assert refused.json()["field"] == "cursor"


def test_the_public_key_that_verifies_deliveries_is_published_to_anyone(api: Api) -> None:
    published = api.client.get("/webhooks/public-key")
    assert published.status_code == 200
    assert published.json()["public_key"].startswith("whpk_")
    assert published.json()["jwk"]["crv"] == "Ed25519"


def test_a_unit_keeps_at_most_five_live_subscriptions(api: Api) -> None:
    made = [subscribe(api, description=str(n)) for n in range(5)]
    assert all(r.status_code == 201 for r in made)
    before = api.events
    sixth = subscribe(api)
    assert sixth.status_code == 409
    assert "at most 5" in sixth.json()["detail"]
    assert api.events == before
    assert subscribe(api, unit="town:baisha").status_code == 201, "another unit's are its own"
    first = made[0].json()["subscription_id"]
    assert (
        api.client.delete(f"/subscriptions/{first}", headers=api.headers(TOWN)).status_code == 204
    )
    assert subscribe(api).status_code == 201, "a deleted one makes room"


def test_concurrent_subscriptions_cannot_pass_the_limit(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda n: subscribe(api, description=str(n)).status_code, range(12))
        )
    assert answers.count(201) <= 5
    assert set(answers) <= {201, 409}
    assert len(api.services.app.live_subscriptions(TOWN)) == answers.count(201) <= 5
