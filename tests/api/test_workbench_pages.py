"""The workbench's pages over HTTP, as each unit's browser asks for them: the district
office's overview equals GET /dashboard (and that equals the accountability and town
reads) and every number leads to the list behind it; the ledger searches and filters
within a unit's reach; the enterprise record travels in time; a utility works its
orders; the audit trail is searched and exported on the session. Each page refuses
what is not the reader's, and answers hostile query values without failing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain import commands as c
from domain.values import Actor, ProblemKind, Utility
from projections.audit import AuditProjection
from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_inbox import TOWN, project
from tests.api.test_workbench import browser, csrf_of, sign_in
from tests.domain import parity

OTHER_TOWN = "town:baisha"
USCC = "91500116MA5U8KQJ3K"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def signed_in(api: Api, unit: str) -> TestClient:
    page = browser(api)
    sign_in(page, api.key(unit))
    return page


def figures(html: str) -> dict[str, str]:
    """Every number a page marks with data-figure, by name."""
    return dict(re.findall(r'data-figure="([^"]+)"[^>]*>([^<]*)<', html))


def links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/app/[^"]*)"', html)]


def lived_weeks_ago(api: Api) -> dict[str, UUID]:
    """A small campaign recorded forty days ago, so some of its deadlines have passed:
    two towns, the three batches, a cut order, one listing withdrawn."""
    app = api.services.app
    then = datetime.now(tz=UTC) - timedelta(days=40)
    app.clock = lambda: then
    try:
        ids = {
            "rectify": do(api, TOWN, listing("德感某家具厂", TOWN, uscc=USCC)),
            "close": do(api, TOWN, listing("德感某食品作坊", TOWN, power=True)),
            "relocate": do(api, OTHER_TOWN, listing("白沙某石材厂", OTHER_TOWN)),
            "mistake": do(api, OTHER_TOWN, listing("白沙误列", OTHER_TOWN)),
        }
        for name in ("rectify", "close", "relocate"):
            do(
                api,
                "economy",
                c.Classify(
                    case_id=ids[name], disposition=name, reason="三个一批",
                    deadline=then + timedelta(days=30),
                ),
            )  # fmt: skip
        do(
            api,
            "economy",
            c.RequestUtilityOrder(
                case_id=ids["close"], utility="power", kind="cut", grounds="close_classification",
                document_number="断电1号", deadline=then + timedelta(days=5),
            ),
        )  # fmt: skip
        do(api, OTHER_TOWN, c.WithdrawListing(case_id=ids["mistake"], reason="误列"))
    finally:
        app.clock = lambda: datetime.now(tz=UTC)
    project(api)
    return ids


def listing(name: str, town: str, uscc: str | None = None, power: bool = False) -> c.Command:
    return c.ListEnterprise(
        name=name, uscc=uscc, address=f"{name}所在村", town=town, licensed=uscc is not None,
        problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
        connections=(c.Connection(utility=Utility.POWER, account="P-9"),) if power else (),
    )  # fmt: skip


def do(api: Api, unit: str, command: c.Command) -> UUID:
    return api.services.app.handle(Actor(unit=unit), command).aggregate_id


# ------------------------------------------------------------------ 督办总览


def test_the_overview_shows_the_dashboards_numbers_which_agree_with_the_other_reads(
    api: Api,
) -> None:
    lived_weeks_ago(api)
    html = signed_in(api, "district-office").get("/app/overview").text
    board = api.get("district-office", "/dashboard").json()
    shown = figures(html)
    assert board["overdue_total"] > 0, "the campaign has overdue items"
    for name in ("listed", "struck_off", "overdue_total", "due_soon_total"):
        assert shown[name] == str(board[name]), name
    for batch, count in board["batches"].items():
        assert shown[f"batch-{batch}"] == str(count)
    for u in board["units"]:
        for colour in ("red", "yellow", "green"):
            assert shown[f"unit-{u['unit']}-{colour}"] == str(u[colour])
    for w in board["towns"]:
        for name in ("listed", "struck_off", "red", "yellow", "green"):
            assert shown[f"town-{w['town']}-{name}"] == str(w[name])
    # The same numbers as the accountability and town reads give.
    accountability = {a["unit"]: a for a in api.get("district-office", "/accountability").json()}
    for u in board["units"]:
        a = accountability[u["unit"]]
        assert {k: u[k] for k in ("red", "yellow", "green")} == a["escalation"]
        assert (u["done_on_time"], u["done_late"]) == (a["done_on_time"], a["done_late"])
    assert board["overdue_total"] == sum(a["overdue_now"] for a in accountability.values())
    towns = {t["town"]: t for t in api.get("district-office", "/towns").json()}
    for w in board["towns"]:
        assert (w["listed"], w["struck_off"]) == (towns[w["town"]]["listed"],
                                                  towns[w["town"]]["struck_off"])  # fmt: skip
        assert w["by_disposition"] == towns[w["town"]]["by_disposition"]
    assert board["listed"] == sum(t["listed"] for t in towns.values())


def test_each_number_of_the_overview_opens_the_list_behind_it(api: Api) -> None:
    lived_weeks_ago(api)
    office = signed_in(api, "district-office")
    html = office.get("/app/overview").text
    shown = figures(html)
    followed = 0
    for href in links(html):
        target = office.get(href)
        assert target.status_code == 200, href
        count = figures(target.text).get("total")
        if "/app/tasks?" in href and "colour=" in href:
            query = dict(p.split("=", 1) for p in href.split("?", 1)[1].split("&"))
            who = "unit" if "unit" in query else "town" if "town" in query else None
            key = f"{who}-{query[who].replace('%3A', ':')}-{query['colour']}" if who else (
                "overdue_total")  # fmt: skip
            assert count == (f"共 {shown[key]} 项" if key in shown else count), (
                f"{href} lists {count}, the overview says {shown.get(key)}"
            )
            followed += 1
        elif href.startswith("/app/ledger?disposition="):
            batch = href.rsplit("=", 1)[1]
            assert count == f"共 {shown['batch-' + batch]} 项", href
            followed += 1
    assert followed >= 10
    assert figures(office.get("/app/ledger").text)["total"] == f"共 {shown['listed']} 项"
    assert figures(office.get("/app/tasks?due=soon").text)["total"] == (
        f"共 {shown['due_soon_total']} 项"
    )


def test_the_overview_and_its_lists_are_the_district_offices_only(api: Api) -> None:
    lived_weeks_ago(api)
    for unit in (TOWN, "economy", "power"):
        page = signed_in(api, unit)
        for path in ("/app/overview", "/app/tasks?colour=red", "/app/audit"):
            refused = page.get(path)
            assert refused.status_code == 403, (unit, path)
            assert "德感某家具厂" not in refused.text
        assert api.get(unit, "/dashboard").status_code == 403
    assert browser(api).get("/app/overview").headers["location"] == "/app/login"


def test_the_overview_weeks_count_listings_and_open_the_weeks_ledger(api: Api) -> None:
    lived_weeks_ago(api)
    board = api.get("district-office", "/dashboard").json()
    assert sum(w["listed"] for w in board["weeks"]) == board["listed"]
    [week] = [w for w in board["weeks"] if w["listed"]]
    office = signed_in(api, "district-office")
    listed = office.get(f"/app/ledger?listed_week={week['week']}").text
    assert figures(listed)["total"] == f"共 {week['listed']} 项"
    assert figures(office.get("/app/ledger?listed_week=2020-W99").text)["total"] == "共 4 项"


# ------------------------------------------------------------------ 台账


def test_the_ledger_is_searched_by_name_uscc_or_address_and_filtered(api: Api) -> None:
    lived_weeks_ago(api)
    office = signed_in(api, "district-office")

    def names(query: str) -> set[str]:
        html = office.get(f"/app/ledger?{query}").text
        return set(re.findall(r'href="/app/enterprises/[^"]+">([^<]+)<', html))

    assert names("q=家具") == {"德感某家具厂"}
    assert names(f"q={USCC.lower()[:10]}") == {"德感某家具厂"}
    assert names("q=石材厂所在") == {"白沙某石材厂"}
    assert names("q=%25") == set(), "a % is a character, not a wildcard"
    assert names("disposition=close") == {"德感某食品作坊"}
    assert names("state=withdrawn") == {"白沙误列"}
    assert names(f"town={OTHER_TOWN}") == {"白沙某石材厂", "白沙误列"}
    assert names("overdue=on") >= {"德感某家具厂"}
    assert api.get("district-office", "/enterprises", q="家具").json()["items"][0]["name"] == (
        "德感某家具厂"
    )


def test_a_town_reads_its_own_ledger_only_and_a_utility_none(api: Api) -> None:
    lived_weeks_ago(api)
    town = signed_in(api, TOWN)
    html = town.get(f"/app/ledger?town={OTHER_TOWN}&q=白沙").text
    assert "白沙" not in html.replace("q=白沙", "").replace('value="白沙"', "")
    assert figures(html)["total"] == "共 0 项"
    assert figures(town.get("/app/ledger").text)["total"] == "共 2 项"
    assert signed_in(api, "power").get("/app/ledger").status_code == 403


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=Infinity", "state=%00", "disposition=NaN", "town=%F0%9F%98%80",
     "listed_week=2026-W60", "listed_week=%00", "cursor=%27%3B--", "overdue=yes",
     "q=" + "长" * 101],
)  # fmt: skip
def test_the_ledger_answers_hostile_filters_without_failing(api: Api, query: str) -> None:
    lived_weeks_ago(api)
    answer = signed_in(api, "district-office").get(f"/app/ledger?{query}")
    assert answer.status_code in (200, 422), answer.text[-300:]
    if answer.status_code == 422:  # a parameter too long, or holding NUL: named
        assert answer.json()["field"] == query.split("=")[0]


# ------------------------------------------------------------------ 企业档案


def test_the_record_shows_the_case_and_travels_back_to_any_event(api: Api) -> None:
    ids = lived_weeks_ago(api)
    office = signed_in(api, "district-office")
    path = f"/app/enterprises/{ids['close']}"
    now = office.get(path).text
    assert figures(now)["state"] == "已分类"
    assert figures(now)["supply-power"] == "正常供应"
    assert "断电1号" not in now or "工单" in now
    assert 'type="range"' in now
    first = office.get(f"{path}?event=1").text
    assert figures(first)["state"] == "已列入"
    assert figures(first)["disposition"] == "未分类"
    before = (datetime.now(tz=UTC) - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    assert figures(office.get(f"{path}?as_of={before}").text)["state"] == "已列入"
    for hostile in ("%00", "9999-99-99T99:99", "0001-01-01T00:00", "Infinity", "-1"):
        answer = office.get(f"{path}?as_of={hostile}")
        assert answer.status_code in (200, 422), hostile
    assert office.get(f"{path}?event=0").status_code == 422
    assert office.get(f"{path}?event=99999").status_code == 200


def test_the_record_is_outside_another_towns_reach_and_a_utility_sees_its_orders_only(
    api: Api,
) -> None:
    ids = lived_weeks_ago(api)
    reader = signed_in(api, OTHER_TOWN)
    other = reader.get(f"/app/enterprises/{ids['close']}")
    assert other.status_code == 404
    assert "德感" not in other.text
    missing = reader.get(f"/app/enterprises/{UUID(int=7)}")
    assert missing.status_code == 404
    assert missing.text == other.text, "a hidden case looks like none"
    power = signed_in(api, "power")
    seen = power.get(f"/app/enterprises/{ids['close']}").text
    assert "德感某食品作坊" in seen
    assert "时间线" not in seen
    assert 'type="range"' not in seen
    assert "P-9" in seen
    assert power.get(f"/app/enterprises/{ids['rectify']}").status_code == 404


def test_the_record_offers_what_the_units_role_may_do_and_returns_there(api: Api) -> None:
    ids = lived_weeks_ago(api)
    town = signed_in(api, TOWN)
    record = town.get(f"/app/enterprises/{ids['close']}").text
    offered = [h for h in links(record) if "?from=record" in h]
    assert f"/app/cases/{ids['close']}/order-suspension?from=record" in offered
    assert not any("arbitrate-dispute?" in h for h in offered), "arbitration is the office's"
    path = f"/app/cases/{ids['close']}/order-suspension?from=record"
    form = town.get(path)
    done = town.post(path, data={"document_number": "停1号", "csrf": csrf_of(form.text)})
    assert done.status_code == 303
    assert done.headers["location"] == f"/app/enterprises/{ids['close']}"
    assert api.services.app.get_case(ids["close"]).suspension_ordered


# ------------------------------------------------------------------ 工单


def test_a_utility_works_its_orders_from_the_orders_page(api: Api) -> None:
    ids = lived_weeks_ago(api)
    power = signed_in(api, "power")
    html = power.get("/app/orders").text
    assert "德感某食品作坊" in html
    assert "P-9" in html
    [execute] = [h for h in links(html) if h.endswith("/execute?from=orders")]
    form = power.get(execute)
    done = power.post(
        execute,
        data={"meter": "P-9", "reading": "1024.5", "executed_at": "2026-11-01T10:00",
              "csrf": csrf_of(form.text)},
    )  # fmt: skip
    assert done.status_code == 303, done.text[-400:]
    assert done.headers["location"] == "/app/orders"
    assert api.services.app.get_case(ids["close"]).supplies[Utility.POWER].state.value == "cut"
    project(api)
    assert "德感某食品作坊" not in power.get("/app/orders").text
    assert api.get("power", "/utilities/orders").json() == []
    assert signed_in(api, TOWN).get("/app/orders").status_code == 403


def test_get_utilities_orders_returns_each_open_order_with_its_case(api: Api) -> None:
    ids = lived_weeks_ago(api)
    [order] = api.get("power", "/utilities/orders").json()
    assert order["case_id"] == str(ids["close"])
    assert order["status"] == "issued"
    assert order["account"] == "P-9"
    assert order["enterprise_name"] == "德感某食品作坊"


# ------------------------------------------------------------------ 审计


def audit(api: Api) -> None:
    """Feeds every stored event to the audit trail (as its runner would)."""
    projection = AuditProjection()
    with api.services.db.transaction() as tx:
        projection.create(tx)
        projection.apply_all(tx, parity.records(api.services.app))


def test_the_audit_page_searches_the_trail_and_exports_it_on_the_session(api: Api) -> None:
    ids = lived_weeks_ago(api)
    audit(api)
    office = signed_in(api, "district-office")
    html = office.get("/app/audit").text
    head = api.get("district-office", "/audit/head").json()
    assert figures(html)["entries"] == str(head["entries"])
    assert head["head"] in html
    one = office.get(f"/app/audit?case_id={ids['mistake']}").text
    assert one.count("<tr>") - 1 == len(
        api.get("district-office", "/audit", case_id=str(ids["mistake"])).json()["items"]
    )
    exported = office.get(f"/app/audit/export.jsonl?case_id={ids['mistake']}")
    assert exported.status_code == 200
    via_api = api.get("district-office", "/audit/export.jsonl", case_id=str(ids["mistake"]))
    assert exported.text == via_api.text
    for hostile in ("case_id=x", "since=nonsense", "until=0001-01-01T00:00", "type=%E2%80%8B"):
        assert office.get(f"/app/audit?{hostile}").status_code == 200, hostile
    for hostile in ("case_id=%00", "type=%00"):
        assert office.get(f"/app/audit?{hostile}").status_code == 422, hostile


# ------------------------------------------------------------------ forms of records


def test_a_listing_is_made_from_the_page_with_its_problems_and_connections(api: Api) -> None:
    town = signed_in(api, TOWN)
    form = town.get("/app/new/list-enterprise")
    assert 'name="problems.0.kind"' in form.text
    assert 'name="connections.2.utility"' in form.text
    assert f'<option value="{TOWN}"' in form.text
    assert OTHER_TOWN not in form.text
    posted: dict[str, Any] = {
        "csrf": csrf_of(form.text), "name": "德感某塑料厂", "address": "德感街道某村3号",
        "town": TOWN, "problems.0.kind": "no_eia", "problems.1.kind": "fire_hazard",
        "problems.1.description": "堆放易燃物", "connections.0.utility": "power",
        "connections.0.account": "P-77",
    }  # fmt: skip
    done = town.post("/app/new/list-enterprise", data=posted)
    assert done.status_code == 303, done.text[-500:]
    case = api.services.app.get_case(UUID(done.headers["location"].rsplit("/", 1)[1]))
    assert {p.kind for p in case.problems.values()} == {ProblemKind.NO_EIA, ProblemKind.FIRE_HAZARD}
    assert case.supplies[Utility.POWER].account == "P-77"


def test_an_error_in_a_record_row_is_shown_beside_that_rows_field(api: Api) -> None:
    town = signed_in(api, TOWN)
    form = town.get("/app/new/list-enterprise")
    before = api.events
    refused = town.post(
        "/app/new/list-enterprise",
        data={"csrf": csrf_of(form.text), "name": "某厂", "address": "某村", "town": TOWN,
              "problems.2.description": "没有选类别"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="problems.2.kind-error"' in refused.text, "beside the row it was typed in"
    assert 'value="某厂"' in refused.text, "what was typed is kept"
    assert api.events == before
    another = town.post(
        "/app/new/list-enterprise",
        data={"csrf": csrf_of(form.text), "name": "某厂", "address": "某村",
              "town": OTHER_TOWN},
    )  # fmt: skip
    assert another.status_code in (403, 422)
    assert api.events == before


def test_evidence_rows_are_checked_as_the_api_checks_them(api: Api) -> None:
    ids = lived_weeks_ago(api)
    town = signed_in(api, TOWN)
    do(api, TOWN, c.OrderSuspension(case_id=ids["close"], document_number="停1号"))
    path = f"/app/cases/{ids['close']}/report-refusal-to-stop"
    form = town.get(path)
    assert 'name="evidence.0.sha256"' in form.text
    before = api.events
    refused = town.post(
        path, data={"csrf": csrf_of(form.text), "evidence.0.sha256": "not-a-hash",
                    "evidence.0.locator": "档案柜3"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="evidence.0.sha256-error"' in refused.text
    assert api.events == before
    done = town.post(
        path, data={"csrf": csrf_of(form.text), "evidence.1.sha256": "a" * 64,
                    "evidence.1.locator": "档案柜3", "note": "仍在生产"},
    )  # fmt: skip
    assert done.status_code == 303, done.text[-400:]
    recorded = [x for e in api.services.app.history(ids["close"]) for x in e.evidence]
    assert [(x.sha256, x.locator) for x in recorded] == [("a" * 64, "档案柜3")]


def test_every_page_comes_in_english(api: Api) -> None:
    ids = lived_weeks_ago(api)
    audit(api)
    pages = {
        "district-office": ["/app/overview", "/app/tasks?colour=red", "/app/ledger",
                            f"/app/enterprises/{ids['close']}", "/app/audit"],
        TOWN: ["/app/", "/app/new/list-enterprise", f"/app/cases/{ids['close']}/strike-off"],
        "power": ["/app/orders", f"/app/enterprises/{ids['close']}"],
    }  # fmt: skip
    for unit, paths in pages.items():
        page = signed_in(api, unit)
        page.get("/app/?lang=en")
        for path in paths:
            html = page.get(path).text
            chrome = re.sub(r"<(td|dd|option|p class=\"help\")[^>]*>.*?</\1>", "", html, flags=re.S)
            headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", chrome, flags=re.S)
            assert headings, path
            for heading in headings:
                text = re.sub(r"<[^>]+>", "", heading)
                names = ("德感", "白沙", "散乱污")  # enterprise names stay as written
                if not any(n in text for n in names):
                    assert not re.search(r"[\u4e00-\u9fff]", text), (path, text)
