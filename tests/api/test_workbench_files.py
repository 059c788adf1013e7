"""The workbench's files: a clerk uploads a photo and cites it, the record shows it with
its thumbnail (and evidence kept elsewhere as not held here), prints the case's notices,
and downloads the week's report; each answer is the REST route's for the same unit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from api.web.files import report_periods
from domain import commands as c
from domain.values import HELD_HERE, Actor
from tests.api import evidence_files as files
from tests.api import pdf_reading as pdf
from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_notices import suspended_case
from tests.api.test_workbench import browser, csrf_of
from tests.api.test_workbench_pages import signed_in
from tests.api.views import chain_audit
from tests.domain import parity

TOWN, OTHER_TOWN = "town:degan", "town:jijiang"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def test_a_clerk_uploads_a_photo_cites_it_and_the_record_shows_it(api: Api) -> None:
    page = signed_in(api, TOWN)
    form = page.get("/app/evidence")
    assert form.status_code == 200
    photo = files.photo(seed=31)
    uploaded = page.post(
        "/app/evidence",
        data={"csrf": csrf_of(form.text)},
        files={"file": ("现场照片.jpg", photo, "image/jpeg")},
    )
    assert uploaded.status_code == 303
    digest = hashlib.sha256(photo).hexdigest()
    assert uploaded.headers["location"] == f"/app/evidence?held={digest}"
    receipt = page.get(uploaded.headers["location"])
    assert f'data-figure="sha256">{digest}<' in receipt.text
    assert page.get(f"/app/evidence/{digest}").content == photo

    case_id = suspended_case(api, 41)
    elsewhere = "ab" * 32
    answer = api.post(
        TOWN,
        f"/cases/{case_id}/record-problem",
        {
            "kind": "no_eia",
            "description": "无环评",
            "evidence": [{"sha256": digest}, {"sha256": elsewhere, "locator": "nas://scan.pdf"}],
        },
    )
    assert answer.status_code == 200, answer.text
    record = page.get(f"/app/enterprises/{case_id}").text
    assert f'data-held="{digest}"' in record
    assert f'src="/app/evidence/{digest}/thumbnail"' in record
    assert f'data-not-held="{elsewhere}"' in record
    assert "nas://scan.pdf" in record
    thumbnail = page.get(f"/app/evidence/{digest}/thumbnail")
    assert thumbnail.headers["content-type"] == "image/jpeg"


def test_an_upload_without_its_csrf_token_or_of_the_wrong_kind_keeps_nothing(api: Api) -> None:
    page = signed_in(api, TOWN)
    forged = page.post(
        "/app/evidence", data={"csrf": "forged"}, files={"file": ("a.jpg", files.photo(), "")}
    )
    assert forged.status_code == 403
    form = page.get("/app/evidence")
    wrong = page.post(
        "/app/evidence",
        data={"csrf": csrf_of(form.text)},
        files={"file": ("a.jpg", files.HTML_AS_JPEG, "image/jpeg")},
    )
    assert wrong.status_code == 415
    assert "文件类型不被接受" in wrong.text
    assert list(api.services.evidence.hashes()) == []
    assert browser(api).post("/app/evidence").status_code == 303  # to the sign-in page


def test_a_file_in_the_workbench_is_read_as_its_case_is(api: Api) -> None:
    digest = api.client.post(
        "/evidence",
        files={"file": ("p.jpg", files.photo(seed=32), "image/jpeg")},
        headers=api.headers(TOWN),
    ).json()["sha256"]
    assert signed_in(api, TOWN).get(f"/app/evidence/{digest}").status_code == 200
    other = signed_in(api, OTHER_TOWN).get(f"/app/evidence/{digest}")
    assert other.status_code == 404
    assert "<html" in other.text  # a page, not a bare problem


def test_the_record_prints_its_notices(api: Api) -> None:
    case_id = suspended_case(api, 42)
    chain_audit(api)
    page = signed_in(api, TOWN)
    record = page.get(f"/app/enterprises/{case_id}").text
    version = next(
        e.originator_version
        for e in api.services.app.history(case_id)
        if type(e).__name__ == "SuspensionOrdered"
    )
    link = f"/app/enterprises/{case_id}/documents/{version}.pdf"
    assert f'href="{link}"' in record
    assert "停产整治通知书 德感〔2026〕停字42号" in record
    printed = page.get(link)
    assert printed.status_code == 200
    assert printed.content == api.get(TOWN, link.removeprefix("/app")).content
    assert "停产整治通知书" in pdf.pdf_text(printed.content)
    assert signed_in(api, OTHER_TOWN).get(link).status_code == 404


def test_the_reports_page_offers_this_week_and_month_and_serves_the_same_files(
    api: Api,
) -> None:
    api.services.app.handle(
        Actor(unit=TOWN), c.ListEnterprise(name="报表企业", address="某村", town=TOWN)
    )
    page = signed_in(api, "district-office")
    listing = page.get("/app/reports")
    assert listing.status_code == 200
    periods = report_periods(datetime.now(UTC))
    for period, _ in periods:
        assert f'data-report="{period}.pdf"' in listing.text
    this_week = periods[0][0]
    served = page.get(f"/app/reports/{this_week}.xlsx")
    assert served.status_code == 200
    assert (
        served.headers["content-disposition"]
        == api.get("district-office", f"/reports/{this_week}.xlsx").headers["content-disposition"]
    )
    chosen = page.get("/app/reports/go", params={"period": "2026-11", "fmt": "pdf"})
    assert chosen.headers["location"] == "/app/reports/2026-11.pdf"
    assert page.get("/app/reports/go", params={"period": "nonsense"}).status_code == 422
    assert signed_in(api, "power").get("/app/reports").status_code == 403


def test_the_demo_uploads_its_photos_and_cites_them_beside_evidence_kept_elsewhere(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "LIANDONG_DATA_DIR": str(tmp_path),
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    ran = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    settings = Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1")
    services = bootstrap(settings)
    try:
        kept = set(services.evidence.hashes())
        assert len(kept) == 2
        cited = [x for e in parity.records(services.app) for x in e.data.get("evidence", ())]
        assert {x["sha256"] for x in cited if x["locator"] == HELD_HERE} == kept
        elsewhere = [x["locator"] for x in cited if x["locator"].startswith("nas://demo/")]
        assert elsewhere == ["nas://demo/巡查记录表.jpg"]
        # Besides the hand-made cases, a generated campaign (api/campaign.py).
        listed = [r for r in parity.records(services.app) if r.type == "EnterpriseListed"]
        assert len(listed) > 60
        assert all(services.evidence.thumbnail(h) for h in kept)
    finally:
        services.close()
