"""The workbench in a real Chromium: a town's clerk signs in with a key, sees the town's
inbox, sees a new item appear without reloading when another unit's decision asks
something of the town, and signs out; the pages pass an axe-core check."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from domain import commands as c
from domain.values import Actor, ProblemKind, Utility
from tests.browser.conftest import Served, accessibility_problems

pytestmark = pytest.mark.browser
TOWN = "town:degan"


def list_and_classify(served: Served, name: str) -> None:
    app = served.services.app
    case_id = app.handle(
        Actor(unit=TOWN),
        c.ListEnterprise(
            name=name, address="德感街道某村", town=TOWN,
            problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
        ),
    ).aggregate_id  # fmt: skip
    app.handle(
        Actor(unit="economy"),
        c.Classify(
            case_id=case_id, disposition="rectify", reason="三个一批",
            deadline=datetime.now(tz=UTC) + timedelta(days=30),
        ),
    )  # fmt: skip
    served.project()


def sign_in(page: Page, served: Served, key: str) -> None:
    page.goto(f"{served.url}/app/")
    expect(page).to_have_url(f"{served.url}/app/login")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{served.url}/app/")


def test_a_clerk_signs_in_sees_the_towns_inbox_live_and_signs_out(
    page: Page, served: Served, screenshots: Path
) -> None:
    list_and_classify(served, "德感某家具厂")
    sign_in(page, served, served.key(TOWN, person="李明"))
    expect(page.get_by_role("heading", name="我的待办")).to_be_visible()
    expect(page.get_by_role("cell", name="德感某家具厂").first).to_be_visible()
    assert "key" not in page.url
    assert "ld_" not in page.url
    expect(page.locator("#live")).to_be_visible()  # the live stream is open
    page.screenshot(path=str(screenshots / "inbox.png"), full_page=True)
    # Economy classifies another of the town's enterprises: the page shows it unasked.
    list_and_classify(served, "德感某石材厂")
    expect(page.get_by_role("cell", name="德感某石材厂").first).to_be_visible()
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{served.url}/app/login")
    page.goto(f"{served.url}/app/")
    expect(page).to_have_url(f"{served.url}/app/login")


def test_a_wrong_key_is_told_beside_the_field(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/app/login")
    field = page.get_by_label("API 密钥")
    field.fill("ld_wrong_key")
    page.get_by_role("button", name="登录").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#key-error")).to_have_text("密钥无效或已吊销")


def test_the_pages_have_no_serious_accessibility_violation(
    audit_page: Page, served: Served, axe: Path, screenshots: Path
) -> None:
    list_and_classify(served, "德感某家具厂")
    audit_page.goto(f"{served.url}/app/login")
    assert accessibility_problems(audit_page, axe) == []
    audit_page.screenshot(path=str(screenshots / "login.png"))
    audit_page.get_by_label("API 密钥").fill(served.key(TOWN))
    audit_page.get_by_role("button", name="登录").click()
    expect(audit_page.get_by_role("heading", name="我的待办")).to_be_visible()
    assert accessibility_problems(audit_page, axe) == []
    audit_page.goto(f"{served.url}/app/?lang=en")
    expect(audit_page.get_by_role("heading", name="My inbox")).to_be_visible()
    assert accessibility_problems(audit_page, axe) == []


def act_on(page: Page, duty: str) -> None:
    """Opens the form of the inbox item whose duty reads so."""
    row = page.get_by_role("row").filter(has_text=duty)
    row.get_by_role("link", name="处理").click()


def test_a_closure_worked_through_the_pages_by_the_town_economy_and_the_power_company(
    chromium: Browser, served: Served, screenshots: Path
) -> None:
    keys = {u: served.key(u) for u in (TOWN, "economy", "power")}
    pages = {u: chromium.new_context(locale="zh-CN").new_page() for u in keys}
    try:
        case_id = work_through_the_pages(served, pages, keys, screenshots)
    finally:
        for page in pages.values():
            page.context.close()
    case = served.services.app.get_case(case_id)
    assert case.supplies[Utility.POWER].state.value == "cut"
    assert case.suspension_ordered
    assert case.concurred_by == TOWN
    assert {p.kind for p in case.problems.values()} == {ProblemKind.UNLICENSED}


def work_through_the_pages(
    served: Served, pages: dict[str, Page], keys: dict[str, str], screenshots: Path
) -> UUID:
    with served.projecting():
        town, economy, power = pages[TOWN], pages["economy"], pages["power"]
        sign_in(town, served, keys[TOWN])
        sign_in(economy, served, keys["economy"])
        sign_in(power, served, keys["power"])
        # The town lists the workshop, with its problem and its power account.
        town.get_by_role("link", name="登记企业").click()
        town.get_by_label("企业名称 *").fill("德感某食品作坊")
        town.get_by_label("地址 *").fill("德感街道某村")
        expect(town.get_by_label("镇街 *")).to_have_value(TOWN)
        town.get_by_label("种类 *").first.select_option("unlicensed")
        town.get_by_label("供应单位 *").first.select_option("power")
        town.get_by_label("户号").first.fill("P-88")
        town.get_by_role("button", name="提交").click()
        expect(town).to_have_url(re.compile(r"/app/enterprises/[0-9a-f-]{36}$"))
        case_id = UUID(town.url.rsplit("/", 1)[1])
        expect(town.locator("[data-figure=state]")).to_have_text("已列入")
        # Economy finds it in the ledger and classifies it from its record.
        economy.get_by_role("link", name="台账").click()
        economy.get_by_label("搜索").fill("食品作坊")
        economy.get_by_role("button", name="筛选").click()
        economy.get_by_role("link", name="德感某食品作坊").click()
        economy.get_by_text("本单位可办理").click()
        economy.get_by_role("link", name="分类认定（三个一批）").click()
        economy.get_by_label("分类（三个一批） *").select_option("close")
        economy.get_by_label("理由 *").fill("无证无照")
        economy.get_by_label("期限 *").fill(
            (datetime.now(tz=UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
        )
        economy.get_by_role("button", name="提交").click()
        expect(economy).to_have_url(f"{served.url}/app/enterprises/{case_id}")
        expect(economy.locator("[data-figure=state]")).to_have_text("已分类")
        economy.screenshot(path=str(screenshots / "record.png"), full_page=True)
        economy.get_by_role("link", name="我的待办").click()
        # What each sees: its own items only; the town's arrive without a reload.
        expect(town.get_by_role("link", name="我的待办")).to_be_visible()
        town.get_by_role("link", name="我的待办").click()
        expect(town.get_by_role("row").filter(has_text="下达停产整治通知")).to_be_visible()
        expect(economy.get_by_role("row").filter(has_text="提请断电断水断气")).to_be_visible()
        expect(economy.get_by_text("下达停产整治通知")).to_have_count(0)
        expect(power.get_by_text("暂无待办事项")).to_be_visible()
        # The town concurs (会同) and orders production stopped.
        act_on(town, "会同确认分类")
        town.get_by_label("同意").check()
        town.get_by_role("button", name="提交").click()
        expect(town).to_have_url(f"{served.url}/app/")
        act_on(town, "下达停产整治通知")
        town.get_by_label("文号 *").fill("江津德感停字〔2021〕8号")
        town.get_by_role("button", name="提交").click()
        expect(town).to_have_url(f"{served.url}/app/")
        # Economy asks the power company to cut the supply.
        act_on(economy, "提请断电断水断气")
        economy.get_by_label("供应单位 *").select_option("power")
        economy.get_by_label("种类 *").select_option("cut")
        economy.get_by_label("依据 *").select_option("close_classification")
        economy.get_by_label("文号 *").fill("江津经信〔2021〕断1号")
        economy.get_by_label("期限 *").fill(
            (datetime.now(tz=UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
        )
        economy.get_by_role("button", name="提交").click()
        expect(economy).to_have_url(f"{served.url}/app/")
        # The power company's inbox shows the order at once; it carries it out from
        # its orders page, and cannot see the case's timeline.
        expect(power.get_by_role("cell", name="德感某食品作坊", exact=True)).to_be_visible()
        power.screenshot(path=str(screenshots / "power-inbox.png"), full_page=True)
        power.get_by_role("link", name="工单", exact=True).click()
        power.screenshot(path=str(screenshots / "orders.png"), full_page=True)
        power.get_by_role("link", name="执行").first.click()
        power.get_by_label("表号 *").fill("P-88")
        power.get_by_label("读数 *").fill("1234.5")
        power.get_by_label("执行时间 *").fill(datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M"))
        power.get_by_role("button", name="提交").click()
        expect(power).to_have_url(f"{served.url}/app/orders")
        expect(power.get_by_text("暂无待执行工单")).to_be_visible()
        power.goto(f"{served.url}/app/enterprises/{case_id}")
        expect(power.locator("[data-figure=supply]")).to_have_text("已断")
        expect(power.get_by_text("时间线")).to_have_count(0)
        # A form shows the domain's refusal beside the field: the power company may not
        # order a suspension.
        power.goto(f"{served.url}/app/cases/{case_id}/order-suspension")
        power.get_by_label("文号 *").fill("x")
        power.get_by_role("button", name="提交").click()
        expect(power.get_by_role("alert")).to_contain_text("无权")
    return case_id
