"""The workbench in a real Chromium: a town's clerk signs in with a key, sees the town's
inbox, sees a new item appear without reloading when another unit's decision asks
something of the town, and signs out; the pages pass an axe-core check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain import commands as c
from domain.values import Actor, ProblemKind
from tests.browser.conftest import Served, accessibility_problems

pytestmark = pytest.mark.browser
TOWN = "town:degan"


@pytest.fixture
def axe(pytestconfig: pytest.Config) -> Path:
    return pytestconfig.rootpath / "tests" / "browser" / "vendor" / "axe.min.js"


@pytest.fixture
def screenshots(pytestconfig: pytest.Config) -> Path:
    folder = pytestconfig.rootpath / ".data" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    expect(page.get_by_role("cell", name="德感某石材厂").first).to_be_visible(timeout=15_000)
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
