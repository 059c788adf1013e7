"""The workbench's sign-in, session and first page, over HTTP as a browser speaks it:
the key is typed once into a form and exchanged for an HttpOnly, SameSite=Strict
session cookie; every form carries a CSRF token; a unit sees its own inbox only; no
script, style or font comes from anywhere but the app. (Real-browser tests: #14.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_inbox import TOWN, campaign


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def browser(api: Api) -> TestClient:
    """A browser of its own: its own cookie jar, no redirects followed by itself."""
    return TestClient(create_app(api.services), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def sign_in(page: TestClient, key: str) -> None:
    form = page.get("/app/login")
    answer = page.post("/app/login", data={"key": key, "csrf": csrf_of(form.text)})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/app/"


def test_a_page_asks_for_sign_in_and_the_key_becomes_a_session_cookie(api: Api) -> None:
    page = browser(api)
    assert page.get("/app/").headers["location"] == "/app/login"
    form = page.get("/app/login")
    assert form.status_code == 200
    assert 'type="password"' in form.text
    answer = page.post("/app/login", data={"key": api.key(TOWN), "csrf": csrf_of(form.text)})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "ld_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert api.key(TOWN) not in cookie
    assert api.key(TOWN) not in answer.headers["location"]
    home = page.get("/app/")
    assert home.status_code == 200
    assert "我的待办" in home.text
    assert "德感街道" in home.text


def test_a_wrong_key_is_told_beside_the_field_and_opens_no_session(api: Api) -> None:
    page = browser(api)
    form = page.get("/app/login")
    answer = page.post("/app/login", data={"key": "ld_nope_nope", "csrf": csrf_of(form.text)})
    assert answer.status_code == 401
    assert 'id="key-error"' in answer.text
    assert 'aria-describedby="key-help key-error"' in answer.text
    assert "密钥无效或已吊销" in answer.text
    assert "ld_session" not in answer.headers.get("set-cookie", "")
    assert page.get("/app/").status_code == 303


def test_sign_in_and_sign_out_refuse_a_form_without_its_csrf_token(api: Api) -> None:
    page = browser(api)
    page.get("/app/login")
    assert page.post("/app/login", data={"key": api.key(TOWN), "csrf": "forged"}).status_code == 403
    other = browser(api)  # a form posted from another site carries no login cookie
    assert other.post("/app/login", data={"key": api.key(TOWN), "csrf": "x"}).status_code == 403
    sign_in(page, api.key(TOWN))
    assert page.post("/app/logout", data={"csrf": "forged"}).status_code == 403
    assert page.get("/app/").status_code == 200, "still signed in"
    token = csrf_of(page.get("/app/").text)
    assert page.post("/app/logout", data={"csrf": token}).status_code == 303
    assert page.get("/app/").status_code == 303, "signed out"


def test_a_revoked_key_ends_its_sessions(api: Api) -> None:
    page = browser(api)
    key = api.services.keys.issue(TOWN, "clerk", person="李").key
    sign_in(page, key)
    assert page.get("/app/").status_code == 200
    api.services.keys.revoke(key.split("_")[1])
    assert page.get("/app/").status_code == 303


def test_each_unit_sees_its_own_inbox(api: Api) -> None:
    campaign(api)
    town, power = browser(api), browser(api)
    sign_in(town, api.key(TOWN))
    sign_in(power, api.key("power"))
    town_page, power_page = town.get("/app/").text, power.get("/app/").text
    assert "德感某家具厂" in town_page
    assert "工单" in power_page  # the power company's order
    assert "德感某家具厂" not in power_page
    assert town.get("/app/inbox/rows").text.count("<tr") == town_page.count("<tr")


def test_pages_come_in_english_too_and_load_nothing_from_elsewhere(api: Api) -> None:
    page = browser(api)
    sign_in(page, api.key(TOWN))
    english = page.get("/app/?lang=en")
    assert "My inbox" in english.text
    assert "My inbox" in page.get("/app/").text, "the choice is remembered"
    assert not re.search(r'(src|href)="(https?:)?//', english.text)
    policy = english.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for asset in ("/app/static/htmx.min.js", "/app/static/app.js", "/app/static/app.css"):
        assert page.get(asset).status_code == 200, asset


def test_an_item_opens_its_commands_form_and_posting_it_does_the_work(api: Api) -> None:
    ids = campaign(api)
    page = browser(api)
    sign_in(page, api.key(TOWN))
    inbox = page.get("/app/").text
    path = f"/app/cases/{ids['rectify']}/concur-classification"
    assert f'href="{path}"' in inbox
    form = page.get(path)
    assert form.status_code == 200
    assert "德感某家具厂" in form.text
    assert 'name="agree"' in form.text
    before = api.events
    done = page.post(path, data={"agree": "on", "csrf": csrf_of(form.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/app/"
    assert api.events > before
    case = api.services.app.get_case(ids["rectify"])
    assert case.concurred_by == TOWN


def test_a_refused_form_shows_each_error_beside_its_field_and_records_nothing(api: Api) -> None:
    ids = campaign(api)
    page = browser(api)
    sign_in(page, api.key(TOWN))
    path = f"/app/cases/{ids['close']}/order-suspension"
    form = page.get(path)
    before = api.events
    refused = page.post(path, data={"document_number": "", "csrf": csrf_of(form.text)})
    assert refused.status_code == 422
    assert 'id="document_number-error"' in refused.text
    assert re.search(r'aria-describedby="[^"]*document_number-error"', refused.text)
    assert 'aria-invalid="true"' in refused.text
    assert api.events == before
    # The domain's refusals too: economy may not order a suspension (rule 1).
    office = browser(api)
    sign_in(office, api.key("economy"))
    denied = office.post(path, data={"document_number": "停1", "csrf": csrf_of(form.text)})
    assert denied.status_code == 403, "another session's CSRF token is no good"
    denied = office.post(
        path, data={"document_number": "停1", "csrf": csrf_of(office.get(path).text)}
    )
    assert denied.status_code == 403
    assert "无权" in denied.text
    assert api.events == before


def test_a_form_needs_a_session_and_its_token(api: Api) -> None:
    ids = campaign(api)
    path = f"/app/cases/{ids['close']}/order-suspension"
    stranger = browser(api)
    assert stranger.get(path).headers["location"] == "/app/login"
    assert stranger.post(path, data={"document_number": "停1"}).headers["location"] == (
        "/app/login"
    )
    page = browser(api)
    sign_in(page, api.key(TOWN))
    assert page.post(path, data={"document_number": "停1"}).status_code == 403
    assert page.get(f"/app/cases/{ids['close']}/no-such-command").status_code == 404


def test_a_form_shows_nothing_of_a_case_outside_the_units_reach(api: Api) -> None:
    ids = campaign(api)
    for unit, case in (("town:baisha", "rectify"), ("water", "close"), ("water", "rectify")):
        page = browser(api)
        sign_in(page, api.key(unit))
        path = f"/app/cases/{ids[case]}/order-suspension"
        hidden = page.get(path)
        assert hidden.status_code == 404, unit
        assert "德感" not in hidden.text
        posted = page.post(path, data={"document_number": "x", "csrf": "x"})
        assert posted.status_code == 403  # no token: refused before anything is read
        token = csrf_of(page.get("/app/").text)
        before = api.events
        posted = page.post(path, data={"document_number": "x", "csrf": token})
        assert posted.status_code == 404
        assert "德感" not in posted.text
        assert api.events == before
    power = browser(api)
    sign_in(power, api.key("power"))  # it holds the cut order on the closed case
    assert power.get(f"/app/cases/{ids['close']}/order-suspension").status_code == 200
    assert power.get(f"/app/cases/{ids['rectify']}/order-suspension").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reading", "Infinity"),
        ("reading", "NaN"),
        ("reading", "1e400"),
        ("reading", "-1"),
        ("reading", "十二"),
        ("meter", "P-1\x00"),
        ("meter", ""),
        ("executed_at", "2021-13-45T99:99"),
        ("executed_at", "十二点"),
    ],
)
def test_a_hostile_value_in_a_form_is_refused_beside_its_field(
    api: Api, field: str, value: str
) -> None:
    campaign(api)
    page = browser(api)
    sign_in(page, api.key("power"))
    [item] = api.get("power", "/inbox").json()["items"]
    path = "/app" + item["complete_with"]["path"]
    form = page.get(path)
    good = {"meter": "P-1", "reading": "12.5", "executed_at": "2021-11-05T10:00"}
    before = api.events
    refused = page.post(path, data={**good, field: value, "csrf": csrf_of(form.text)})
    assert refused.status_code == 422, refused.text[-500:]
    assert f'id="{field}-error"' in refused.text
    assert api.events == before
