"""Every page of the workbench in a real Chromium: each passes axe-core in Chinese and
in English; the overview's numbers, as the browser shows them, equal GET /dashboard's;
the record's time slider shows the case after an earlier event; a screenshot of each
page is kept (.data/screenshots; a few are in the README)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from domain import commands as c
from domain.values import Actor, ProblemKind, Utility
from projections.audit import AuditProjection
from tests.browser.conftest import Served, accessibility_problems
from tests.domain import parity

pytestmark = pytest.mark.browser
TOWN = "town:degan"


def campaign(served: Served) -> dict[str, UUID]:
    """Listed forty days ago in two towns, so some deadlines have passed; a cut order."""
    app = served.services.app
    then = datetime.now(tz=UTC) - timedelta(days=40)
    app.clock = lambda: then
    ids: dict[str, UUID] = {}
    try:
        for name, town, disposition in (
            ("德感某食品作坊", TOWN, "close"),
            ("德感某家具厂", TOWN, "rectify"),
            ("白沙某石材厂", "town:baisha", "relocate"),
        ):
            ids[disposition] = app.handle(
                Actor(unit=town),
                c.ListEnterprise(
                    name=name, address=f"{name}所在村", town=town,
                    problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
                    connections=(c.Connection(utility=Utility.POWER, account="P-1"),),
                ),
            ).aggregate_id  # fmt: skip
            app.handle(
                Actor(unit="economy"),
                c.Classify(
                    case_id=ids[disposition], disposition=disposition, reason="三个一批",
                    deadline=then + timedelta(days=30),
                ),
            )  # fmt: skip
        app.handle(
            Actor(unit="economy"),
            c.RequestUtilityOrder(
                case_id=ids["close"], utility="power", kind="cut",
                grounds="close_classification", document_number="断电1号",
                deadline=then + timedelta(days=5),
            ),
        )  # fmt: skip
    finally:
        app.clock = lambda: datetime.now(tz=UTC)
    served.project()
    with served.services.db.transaction() as tx:
        trail = AuditProjection()
        trail.create(tx)
        trail.apply_all(tx, parity.records(app))
    return ids


def signed_in(chromium: Browser, served: Served, unit: str, bypass_csp: bool = False) -> Page:
    page = chromium.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=bypass_csp
    ).new_page()
    page.goto(f"{served.url}/app/login")
    page.get_by_label("API 密钥").fill(served.key(unit))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{served.url}/app/")
    return page


def test_every_page_passes_axe_in_chinese_and_in_english(
    chromium: Browser, served: Served, axe: Path, screenshots: Path
) -> None:
    ids = campaign(served)
    pages = {
        "district-office": ["/app/overview", "/app/tasks?colour=red", "/app/ledger",
                            f"/app/enterprises/{ids['close']}", "/app/audit", "/app/",
                            "/app/reports", "/app/evidence"],
        TOWN: ["/app/", "/app/ledger", f"/app/enterprises/{ids['close']}",
               "/app/new/list-enterprise", "/app/new/record-patrol", "/app/ledger/import",
               f"/app/cases/{ids['close']}/verify-closure", "/app/overview",
               "/app/evidence", "/app/reports"],
        "power": ["/app/orders", f"/app/enterprises/{ids['close']}",
                  f"/app/orders/{ids['close']}/O5/execute"],
    }  # fmt: skip
    found: dict[str, object] = {}
    for unit, paths in pages.items():
        page = signed_in(chromium, served, unit, bypass_csp=True)
        try:
            for lang in ("zh", "en"):
                for path in paths:
                    page.goto(f"{served.url}{path}{'&' if '?' in path else '?'}lang={lang}")
                    expect(page.locator("main h1")).to_be_visible()
                    problems = accessibility_problems(page, axe)
                    if problems:
                        found[f"{unit} {path} {lang}"] = problems
                    if lang == "zh":
                        name = re.sub(r"[0-9a-f-]{36}", "case", f"{unit}{path}".split("?")[0])
                        name = name.replace("/", "-").replace(":", "-")
                        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
            # A refused form, its errors beside their fields.
            page.goto(f"{served.url}/app/new/list-enterprise?lang=zh")
            if page.get_by_role("button", name="提交").count():
                page.get_by_role("button", name="提交").click()
                expect(page.locator("[aria-invalid=true]").first).to_be_visible()
                problems = accessibility_problems(page, axe)
                if problems:
                    found[f"{unit} refused form"] = problems
        finally:
            page.context.close()
    assert found == {}


def test_the_overview_in_the_browser_shows_the_numbers_of_get_dashboard(
    chromium: Browser, served: Served, screenshots: Path
) -> None:
    campaign(served)
    key = served.key("district-office")
    board = httpx.get(f"{served.url}/dashboard", headers={"Authorization": f"Bearer {key}"}).json()
    assert board["overdue_total"] > 0
    page = signed_in(chromium, served, "district-office")
    try:
        page.get_by_role("link", name="督办总览").click()
        expect(page.get_by_role("heading", name="督办总览")).to_be_visible()
        page.screenshot(path=str(screenshots / "overview.png"), full_page=True)
        expected = {
            "listed": board["listed"],
            "overdue_total": board["overdue_total"],
            "due_soon_total": board["due_soon_total"],
            "struck_off": board["struck_off"],
            **{f"batch-{k}": n for k, n in board["batches"].items()},
            **{f"unit-{u['unit']}-{colour}": u[colour]
               for u in board["units"] for colour in ("red", "yellow", "green")},
            **{f"town-{w['town']}-{colour}": w[colour]
               for w in board["towns"] for colour in ("red", "yellow", "green", "listed")},
        }  # fmt: skip
        for name, number in expected.items():
            expect(page.locator(f'[data-figure="{name}"]')).to_have_text(str(number))
        # A number opens the list behind it.
        page.locator('[data-figure="overdue_total"]').click()
        expect(page.locator('[data-figure="total"]')).to_have_text(
            f"共 {board['overdue_total']} 项"
        )
    finally:
        page.context.close()


def test_the_time_slider_shows_the_case_after_an_earlier_event(
    chromium: Browser, served: Served
) -> None:
    ids = campaign(served)
    page = signed_in(chromium, served, TOWN)
    try:
        page.goto(f"{served.url}/app/enterprises/{ids['close']}")
        expect(page.locator("[data-figure=state]")).to_have_text("已分类")
        slider = page.get_by_label("时间回溯")
        slider.fill("1")
        expect(page).to_have_url(f"{served.url}/app/enterprises/{ids['close']}?event=1&as_of=")
        expect(page.locator("[data-figure=state]")).to_have_text("已列入")
        expect(page.locator("#event-label")).to_contain_text("第 1 个事件之后")
        page.get_by_role("link", name="当前").click()
        expect(page.locator("[data-figure=state]")).to_have_text("已分类")
    finally:
        page.context.close()
