"""A whole case of each disposition, over HTTP only, with each unit's own key, against the
real broker and databases; then the district office's views."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.uscc import with_check_character
from tests.api.conftest import Api

pytestmark = pytest.mark.kafka
TOWN = "town:degan"


def evidence(label: str) -> list[dict[str, str]]:
    return [
        {
            "sha256": hashlib.sha256(label.encode()).hexdigest(),
            "locator": f"https://evidence.example/{label}.jpg",
        }
    ]


def later(days: float) -> str:
    return (datetime.now(tz=UTC) + timedelta(days=days)).isoformat()


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def list_case(
    api: Api, serial: int, connections: list[str], problems: list[str], licensed: bool = True
) -> str:
    body = ok(
        api.post(
            TOWN,
            "/cases",
            {
                "name": f"德感企业{serial}",
                "uscc": with_check_character(f"91500116MA{serial:07d}"),
                "address": "德感街道",
                "town": TOWN,
                "licensed": licensed,
                "connections": [{"utility": u, "account": f"{u}-{serial}"} for u in connections],
                "problems": [{"kind": k, "description": k} for k in problems],
            },
        )
    )
    return str(body["created"]["case_id"])


def classify(api: Api, case_id: str, disposition: str) -> None:
    ok(
        api.post(
            "economy",
            f"/cases/{case_id}/classify",
            {
                "disposition": disposition,
                "reason": "三个一批清单",
                "deadline": later(30),
                "document_number": "江津经信〔2021〕20号",
            },
        )
    )
    # 会同属地镇街: the town concurs.
    ok(api.post(TOWN, f"/cases/{case_id}/concur-classification", {"agree": True}))


def order_no(api: Api, case_id: str, utility: str, kind: str = "cut") -> str:
    case = ok(
        api.get(
            "district-office", f"/enterprises/{case_id}", as_of=datetime.now(tz=UTC).isoformat()
        )
    )
    [order] = [
        o
        for o in case["orders"]
        if o["utility"] == utility
        and o["kind"] == kind
        and o["status"] in ("issued", "acknowledged")
    ]
    return str(order["order_id"]).split("/")[1]


def execute_by_receipt(api: Api, case_id: str, utility: str, kind: str = "cut") -> None:
    number = order_no(api, case_id, utility, kind)
    ok(api.post(utility, f"/orders/{case_id}/{number}/acknowledge", {}))
    ok(
        api.post(
            utility,
            "/utilities/receipts",
            {
                "receipt_id": f"{utility}-{case_id}-{kind}",
                "order_id": f"{case_id}/{number}",
                "utility": utility,
                "status": "executed",
                "meter": f"M-{utility}",
                "reading": 42.0,
                "executed_at": datetime.now(tz=UTC).isoformat(),
            },
        )
    )


def view(api: Api, case_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The status view of a case once it shows its latest version."""
    version = ok(
        api.get(
            "district-office", f"/enterprises/{case_id}", as_of=datetime.now(tz=UTC).isoformat()
        )
    )["version"]
    deadline = time.monotonic() + timeout_s
    while True:
        current = ok(api.get("district-office", f"/enterprises/{case_id}"))
        if current["source"] == "view" and current["version"] >= version:
            return current
        assert time.monotonic() < deadline, "the status view did not catch up"
        time.sleep(0.1)


def test_close_from_listing_to_strike_off_over_http(system: Api) -> None:
    api = system
    case_id = list_case(api, 1, ["power", "water"], ["food_drug_safety"])
    classify(api, case_id, "close")
    ok(
        api.post(
            "market",
            f"/cases/{case_id}/revoke-licence",
            {"document_number": "江津市监〔2021〕5号", "legal_basis": "按区政府要求依法吊销"},
        )
    )
    for utility, unit in (("power", "economy"), ("water", "housing")):
        ok(
            api.post(
                unit,
                f"/cases/{case_id}/request-utility-order",
                {
                    "utility": utility,
                    "kind": "cut",
                    "grounds": "close_classification",
                    "document_number": f"停{utility}1号",
                    "deadline": later(5),
                },
            )
        )
        execute_by_receipt(api, case_id, utility)
    ok(api.post(TOWN, f"/cases/{case_id}/order-suspension", {"document_number": "停产1号"}))
    ok(
        api.post(
            TOWN,
            f"/cases/{case_id}/verify-closure",
            {
                "water_and_power_cut": True,
                "raw_materials_cleared": True,
                "products_cleared": True,
                "equipment_cleared": True,
                "evidence": evidence("cleared"),
            },
        )
    )
    done = ok(api.post(TOWN, f"/cases/{case_id}/strike-off", {}, **{"Idempotency-Key": "s1"}))
    assert done["events"] >= 1
    status = view(api, case_id)
    assert (status["state"], status["supply_power"], status["supply_water"]) == (
        "struck_off",
        "cut",
        "cut",
    )
    timeline = ok_list(api.get("district-office", f"/enterprises/{case_id}/timeline"))
    assert [e["event"] for e in timeline][-2:] == ["CaseStruckOff", "TaskAssigned"]
    follow_up = view(api, case_id)["open_tasks"]
    assert [(t["unit"], t["completes_on"]) for t in follow_up] == [(TOWN, "record_follow_up")]


def test_rectify_with_failed_acceptance_and_restoration_over_http(system: Api) -> None:
    api = system
    case_id = list_case(api, 2, ["power"], ["no_eia"])
    classify(api, case_id, "rectify")
    ok(api.post(TOWN, f"/cases/{case_id}/order-suspension", {"document_number": "停1"}))
    ok(api.post(TOWN, f"/cases/{case_id}/request-acceptance", {"evidence": evidence("r1")}))
    ok(
        api.post(
            "ecology",
            f"/cases/{case_id}/sign-acceptance",
            {"passed": False, "reasons": ["未取得环评批复"]},
        )
    )
    ok(
        api.post(
            "economy",
            f"/cases/{case_id}/request-utility-order",
            {
                "utility": "power",
                "kind": "limit",
                "grounds": "failed_acceptance",
                "document_number": "限电1号",
                "deadline": later(3),
            },
        )
    )
    execute_by_receipt(api, case_id, "power", "limit")
    ok(
        api.post(
            "ecology",
            f"/cases/{case_id}/grant-permit",
            {"permit": "eia", "document_number": "渝(津)环准2号"},
        )
    )
    ok(api.post(TOWN, f"/cases/{case_id}/request-acceptance", {"evidence": evidence("r2")}))
    for unit in ("ecology", TOWN):
        ok(api.post(unit, f"/cases/{case_id}/sign-acceptance", {"passed": True}))
    lock = ok(api.get("planning", "/approval-lock", case_id=case_id))
    assert lock["may_approve"] is True
    execute_by_receipt(api, case_id, "power", "restore")
    ok(api.post(TOWN, f"/cases/{case_id}/strike-off", {}))
    status = view(api, case_id)
    assert (status["state"], status["supply_power"], status["approval_lock"]) == (
        "struck_off",
        "on",
        False,
    )


def test_relocate_from_listing_to_strike_off_over_http(system: Api) -> None:
    api = system
    case_id = list_case(api, 3, [], ["industrial_policy"])
    classify(api, case_id, "relocate")
    ok(api.post(TOWN, f"/cases/{case_id}/order-suspension", {"document_number": "迁1"}))
    ok(api.post(TOWN, f"/cases/{case_id}/verify-old-site", {"evidence": evidence("old")}))
    park = "platform:degan-park"
    ok(
        api.post(
            "economy",
            f"/cases/{case_id}/set-relocation-destination",
            {"park": park, "address": "德感工业园区7号厂房"},
        )
    )
    # The park platform sees the enterprise coming, and admits it.
    assert api.get(park, f"/enterprises/{case_id}").status_code == 200
    ok(api.post(park, f"/cases/{case_id}/confirm-park-entry", {"evidence": evidence("lease")}))
    for permit, number in (("eia", "环准3号"), ("discharge_permit", "排污4号")):
        ok(
            api.post(
                "ecology",
                f"/cases/{case_id}/grant-permit",
                {"permit": permit, "document_number": number},
            )
        )
    ok(api.post(TOWN, f"/cases/{case_id}/request-acceptance", {"evidence": evidence("new")}))
    for unit in ("economy", "planning", "ecology", TOWN):
        ok(api.post(unit, f"/cases/{case_id}/sign-acceptance", {"passed": True}))
    ok(api.post(TOWN, f"/cases/{case_id}/strike-off", {}, **{"Idempotency-Key": "r-strike"}))
    assert view(api, case_id)["state"] == "struck_off"

    # The district office's views over HTTP.
    ledger = ok_list(api.get("district-office", "/towns"))
    assert any(t["town"] == TOWN and t["struck_off"] >= 1 for t in ledger)
    units = {a["unit"]: a for a in ok_list(api.get("district-office", "/accountability"))}
    assert units["planning"]["done_on_time"] >= 1
    head = ok(api.get("district-office", "/audit/head"))
    deadline = time.monotonic() + 30
    while head["position"] < api.events and time.monotonic() < deadline:
        time.sleep(0.1)
        head = ok(api.get("district-office", "/audit/head"))
    exported = api.client.get(
        "/audit/export.jsonl", params={"case_id": case_id}, headers=api.headers("district-office")
    )
    assert exported.status_code == 200
    assert exported.text.count("\n") == len(
        ok_list(api.get("district-office", f"/enterprises/{case_id}/timeline"))
    )


def ok_list(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_a_patrol_waits_on_the_patrols_view_and_each_town_reads_its_own(system: Api) -> None:
    api = system
    body = {
        "town": TOWN,
        "patrol_date": "2021-11-02",
        "area": "德感工业园周边",
        "findings": "无新增",
    }
    recorded = api.client.post(
        "/patrols", params={"wait": "true"}, json=body, headers=api.headers(TOWN)
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["visible"] is True
    patrol_id = recorded.json()["aggregate_id"]
    own = ok(api.get(TOWN, "/patrols"))
    assert [p["patrol_id"] for p in own["items"]] == [patrol_id]
    assert ok(api.get("town:baisha", "/patrols"))["items"] == []
    assert ok(api.get("district-office", "/patrols", town=TOWN))["items"][0]["area"] == body["area"]
    assert api.get("power", "/patrols").status_code == 403
