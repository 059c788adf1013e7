"""Who may read what (DOMAIN.md 12), tried as every unit with its own key on every route
that reads a case: a town reads only its territory, a utility only what its own orders
need, departments and the district office everything. A case a reader may not see answers
exactly as a case that does not exist.

The expected answers are written here from DOMAIN.md 12 by the kind of unit, not read
from the code's own rule.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.units import default_registry
from domain.uscc import with_check_character
from tests.api.conftest import Api

HOME = "town:degan"
UNITS = [u.id for u in default_registry().all()]
DEPARTMENTS_AND_OFFICE = [
    "district-office",
    "cyberspace",
    "economy",
    "ecology",
    "housing",
    "forestry",
    "market",
    "planning",
    "emergency",
    "transport",
    "petitions",
    "police",
    "fire",
]
UTILITIES = ["power", "water", "gas"]
USCC = with_check_character("91500116MA0007001")


def minimal_fields(utility: str) -> set[str]:
    """What a utility sees of a case it holds an order for (DOMAIN.md 12)."""
    return {"source", "case_id", "name", "uscc", "address", "town", f"supply_{utility}", "orders"}


def expected(unit: str) -> str:
    """full, minimal (what power's order needs) or none: from DOMAIN.md 12."""
    if unit in DEPARTMENTS_AND_OFFICE or unit == HOME:
        return "full"
    if unit == "power":  # the case holds a power order, and no water or gas order
        return "minimal"
    return "none"


@pytest.fixture(scope="module")
def case(api: Api) -> str:
    created = api.post(
        HOME,
        "/cases",
        {
            "name": "德感读取范围企业",
            "uscc": USCC,
            "address": "德感街道某路1号",
            "town": HOME,
            "contact": "张三 13800000000",
            "licensed": True,
            "connections": [
                {"utility": "power", "account": "P-7001"},
                {"utility": "water", "account": "W-7001"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    case_id = str(created.json()["created"]["case_id"])
    close_with_a_cut_order(api, case_id, "power", "economy")
    return case_id


def close_with_a_cut_order(api: Api, case_id: str, utility: str, requester: str) -> None:
    """Economy classifies the case close; `requester` asks `utility` to cut."""
    deadline = (datetime.now(tz=UTC) + timedelta(days=30)).isoformat()
    body = {"disposition": "close", "reason": "关停", "deadline": deadline}
    assert api.post("economy", f"/cases/{case_id}/classify", body).status_code == 200
    order = {
        "utility": utility,
        "kind": "cut",
        "grounds": "close_classification",
        "document_number": "江津〔2026〕7号",
        "deadline": deadline,
    }
    response = api.post(requester, f"/cases/{case_id}/request-utility-order", order)
    assert response.status_code == 200, response.text


def same_as_missing(api: Api, unit: str, path: str, case_id: str, **params: Any) -> None:
    """The answer for `case_id` equals the answer for an id that does not exist."""
    ghost = str(uuid.uuid4())
    headers = api.headers(unit)
    seen = api.client.get(path.format(case_id), params=params or None, headers=headers)
    missing = api.client.get(path.format(ghost), params=params or None, headers=headers)
    assert seen.status_code == missing.status_code == 404, (unit, path, seen.text)
    a, b = seen.json(), missing.json()
    for volatile in ("instance", "request_id"):
        a.pop(volatile, None)
        b.pop(volatile, None)
    assert orjson_equal(a, b, case_id, ghost), (unit, path, a, b)


def orjson_equal(a: dict[str, Any], b: dict[str, Any], one: str, other: str) -> bool:
    return str(a).replace(one, "ID") == str(b).replace(other, "ID")


def soon() -> str:
    """A moment after everything the module recorded: taken when asked, not at import,
    since a long run can reach these tests more than minutes after collecting them."""
    return (datetime.now(tz=UTC) + timedelta(minutes=5)).isoformat()


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_reads_a_case_exactly_as_far_as_domain_12_allows(
    api: Api, case: str, unit: str
) -> None:
    reach = expected(unit)
    detail = api.get(unit, f"/enterprises/{case}")
    as_of = api.get(unit, f"/enterprises/{case}", as_of=soon())
    timeline = api.get(unit, f"/enterprises/{case}/timeline")
    if reach == "full":
        for response in (detail, as_of, timeline):
            assert response.status_code == 200, (unit, response.text)
        assert detail.json()["name"] == "德感读取范围企业"
        assert "contact" in str(as_of.json())
        return
    if reach == "minimal":
        assert detail.status_code == 200, detail.text
        seen = detail.json()
        assert set(seen) == minimal_fields("power")
        assert {o["utility"] for o in seen["orders"]} == {"power"}
        assert "W-7001" not in str(seen)
        assert "13800000000" not in str(seen)
    else:
        same_as_missing(api, unit, "/enterprises/{}", case)
    same_as_missing(api, unit, "/enterprises/{}", case, as_of=soon())
    same_as_missing(api, unit, "/enterprises/{}/timeline", case)


@pytest.mark.parametrize("unit", UNITS)
def test_the_approval_lock_answers_only_for_cases_the_unit_may_see(
    api: Api, case: str, unit: str
) -> None:
    by_case = api.get(unit, "/approval-lock", case_id=case)
    by_uscc = api.get(unit, "/approval-lock", uscc=USCC)
    if unit in UTILITIES:
        assert by_case.status_code == by_uscc.status_code == 403
        return
    if expected(unit) == "full":
        assert by_case.json()["locked"] is True
        assert by_uscc.json()["locked"] is True
        return
    # Another town: the case is not on its ledger, exactly as an unlisted enterprise.
    same_as_missing(api, unit, "/approval-lock?case_id={}", case)
    unlisted = api.get(unit, "/approval-lock", uscc=with_check_character("91500116MA0007999"))
    assert by_uscc.json() == unlisted.json()


@pytest.mark.parametrize("unit", [u for u in UNITS if u.startswith("town:") and u != HOME][:5])
def test_another_towns_commands_on_the_case_answer_as_for_a_missing_case(
    api: Api, case: str, unit: str
) -> None:
    before = api.events
    outside = api.post(unit, f"/cases/{case}/order-suspension", {"document_number": "d"})
    ghost = str(uuid.uuid4())
    missing = api.post(unit, f"/cases/{ghost}/order-suspension", {"document_number": "d"})
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"].replace(case, "ID") == missing.json()["detail"].replace(
        ghost, "ID"
    )
    assert api.events == before


@pytest.mark.kafka
def test_lists_show_a_town_its_territory_and_a_utility_its_orders(system: Api) -> None:
    """Over the real pipeline: the status view behind GET /enterprises, fed from Kafka."""
    api = system
    mine = api.post(HOME, "/cases", {"name": "德感甲", "address": "a", "town": HOME})
    theirs = api.post(
        "town:baisha",
        "/cases",
        {
            "name": "白沙乙",
            "address": "b",
            "town": "town:baisha",
            "connections": [{"utility": "gas", "account": "G-1"}],
        },
    )
    mine_id = mine.json()["created"]["case_id"]
    theirs_id = theirs.json()["created"]["case_id"]
    close_with_a_cut_order(api, theirs_id, "gas", "town:baisha")

    def listed(unit: str, **params: Any) -> set[str]:
        page = api.get(unit, "/enterprises", **params)
        assert page.status_code == 200, page.text
        return {i["case_id"] for i in page.json()["items"]}

    import time

    deadline_s = time.monotonic() + 60
    while not {mine_id, theirs_id} <= listed("district-office"):
        assert time.monotonic() < deadline_s, "the status view did not show both cases"
        time.sleep(0.1)
    while listed("gas") != {theirs_id}:  # the order reaches the view a moment later
        assert time.monotonic() < deadline_s, "the gas company never saw its order's case"
        time.sleep(0.1)
    assert listed(HOME) == {mine_id}
    assert listed(HOME, town="town:baisha") == set()
    assert listed("town:baisha") == {theirs_id}
    assert listed("power") == set()
    [item] = api.get("gas", "/enterprises").json()["items"]
    assert set(item) == minimal_fields("gas")
    assert listed("economy") >= {mine_id, theirs_id}
