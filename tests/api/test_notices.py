"""Printable notices: the 停产整治通知书 and the 督办单 are made from their events, read
in Chinese, and carry the audit entry that anyone can check the paper against."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from api.documents.notices import SUSPENSION_BASIS
from domain import commands as c
from domain.values import Actor
from tests.api import pdf_reading as pdf
from tests.api.conftest import Api
from tests.api.views import chain_audit
from tests.domain.scenario import uscc

TOWN, OTHER_TOWN = "town:degan", "town:jijiang"


def do(api: Api, unit: str, command: c.Command) -> Any:
    return api.services.app.handle(Actor(unit=unit, person="张三"), command)


def suspended_case(api: Api, serial: int, basis: str = "") -> UUID:
    listed = do(
        api,
        TOWN,
        c.ListEnterprise(
            name=f"德感某塑料加工厂{serial}",
            uscc=uscc(9000 + serial),
            address="德感街道长冲村5组",
            town=TOWN,
            problems=(c.ProblemInput(kind="pollution_control", description="无废气收集设施"),),
        ),
    )
    case_id = listed.aggregate_id
    do(
        api,
        "economy",
        c.Classify(
            case_id=case_id,
            disposition="rectify",
            reason="三个一批",
            deadline=datetime.now(UTC) + timedelta(days=30),
            document_number="江津经信〔2026〕3号",
        ),
    )
    do(api, TOWN, c.ConcurClassification(case_id=case_id, agree=True))
    do(
        api,
        TOWN,
        c.OrderSuspension(
            case_id=case_id, document_number=f"德感〔2026〕停字{serial}号", legal_basis=basis
        ),
    )
    return UUID(str(case_id))


def entry_of(api: Api, case_id: UUID, version: int) -> dict[str, Any]:
    items = api.get("district-office", "/audit", case_id=str(case_id)).json()["items"]
    return next(i for i in items if i["event_id"] == f"{case_id}/{version}")


def printed(api: Api, unit: str, case_id: UUID, kind: str) -> tuple[dict[str, Any], bytes]:
    listed = api.get(unit, f"/enterprises/{case_id}/documents")
    assert listed.status_code == 200, listed.text
    document = next(d for d in listed.json() if d["kind"] == kind)
    answer = api.get(unit, document["url"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return document, answer.content


def test_the_suspension_notice_is_printed_from_its_event_with_its_audit_entry(api: Api) -> None:
    basis = "《中华人民共和国大气污染防治法》第九十九条"
    case_id = suspended_case(api, 1, basis)
    chain_audit(api)
    document, content = printed(api, TOWN, case_id, "suspension_notice")
    assert document["document_number"] == "德感〔2026〕停字1号"
    assert document["on_the_trail"] is True
    text = pdf.pdf_flat_text(content)
    for words in (
        "停产整治通知书",
        "德感〔2026〕停字1号",
        "德感某塑料加工厂1",
        uscc(9001),
        "德感街道长冲村5组",
        basis,
        "立即停止生产",
        "整治规范",
        "污染治理设施缺失或不完善（无废气收集设施）",
        "德感街道",
    ):
        assert words in text, words
    today = datetime.now(UTC).astimezone(pdf_tz())
    assert f"{today.year}年{today.month}月{today.day}日" in text
    entry = entry_of(api, case_id, document["version"])
    assert entry["entry_hash"] in text
    assert f"审计链第 {entry['seq']} 条" in text
    assert pdf.embeds_the_cjk_font(content)
    assert pdf.inked(pdf.pdf_image(content)) > 0.005


def test_without_a_recorded_legal_basis_the_notice_cites_the_plan(api: Api) -> None:
    case_id = suspended_case(api, 2)
    chain_audit(api)
    _, content = printed(api, TOWN, case_id, "suspension_notice")
    assert SUSPENSION_BASIS in pdf.pdf_flat_text(content)


def test_the_supervision_notice_names_the_unit_its_task_and_its_answer_date(api: Api) -> None:
    case_id = suspended_case(api, 3)
    case = api.services.app.get_case(case_id)
    task = next(t for t in case.open_tasks() if t.unit == "ecology")
    answer_by = datetime.now(UTC) + timedelta(days=3)
    do(
        api,
        "district-office",
        c.IssueSupervisionNotice(
            case_id=case_id, task_id=task.task_id, respond_by=answer_by, note="请于三日内办结"
        ),
    )
    do(
        api,
        "district-office",
        c.IssueSupervisionNotice(
            case_id=case_id,
            task_id=task.task_id,
            respond_by=answer_by,
            note="再次督办",
            document_number="江津督办〔2026〕12号",
        ),
    )
    chain_audit(api)
    listed = api.get("district-office", f"/enterprises/{case_id}/documents").json()
    notices = [d for d in listed if d["kind"] == "supervision_notice"]
    assert len(notices) == 2
    first = entry_of(api, case_id, notices[0]["version"])
    # Issued without a 文号: numbered by its audit entry, which is never reused.
    assert notices[0]["document_number"] == f"联动督〔{answer_by.year}〕{first['seq']}号"
    assert notices[1]["document_number"] == "江津督办〔2026〕12号"
    content = api.get("district-office", notices[0]["url"]).content
    text = pdf.pdf_flat_text(content)
    local = answer_by.astimezone(pdf_tz())
    for words in (
        "督　办　单",
        notices[0]["document_number"],
        "区生态环境局",  # the unit it names, by its Chinese name
        "德感某塑料加工厂3",
        "请于三日内办结",
        f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} 前书面回复",
        "区政府督查办",
        first["entry_hash"],
    ):
        assert words in text, words


def test_a_notice_is_read_as_its_case_is(api: Api) -> None:
    case_id = suspended_case(api, 4)
    chain_audit(api)
    url = api.get(TOWN, f"/enterprises/{case_id}/documents").json()[0]["url"]
    missing = api.get(OTHER_TOWN, f"/enterprises/{UUID(int=7)}/documents")
    for unit in (OTHER_TOWN, "power"):
        for path in (f"/enterprises/{case_id}/documents", url):
            hidden = api.get(unit, path)
            assert hidden.status_code == 404, (unit, path)
            assert hidden.json()["code"] == missing.json()["code"]
    assert api.client.get(url).status_code == 401
    assert api.get("ecology", url).status_code == 200


def test_an_event_that_is_not_a_notice_is_not_printed(api: Api) -> None:
    case_id = suspended_case(api, 5)
    chain_audit(api)
    answer = api.get(TOWN, f"/enterprises/{case_id}/documents/1.pdf")
    assert answer.status_code == 404
    assert answer.json()["field"] == "version"
    assert api.get(TOWN, f"/enterprises/{case_id}/documents/0.pdf").status_code == 422


def test_a_notice_not_yet_on_the_trail_is_not_printed_without_its_hash(api: Api) -> None:
    case_id = suspended_case(api, 6)
    chain_audit(api)
    do(api, TOWN, c.RecordProblem(case_id=case_id, kind="no_eia", description="补录"))
    case = api.services.app.get_case(case_id)
    task = next(t for t in case.open_tasks())
    do(
        api,
        "district-office",
        c.IssueSupervisionNotice(
            case_id=case_id,
            task_id=task.task_id,
            respond_by=datetime.now(UTC) + timedelta(days=2),
            note="督办",
        ),
    )  # recorded, but the audit view has not chained it
    listed = api.get("district-office", f"/enterprises/{case_id}/documents").json()
    latest = listed[-1]
    assert latest["on_the_trail"] is False
    answer = api.get("district-office", latest["url"])
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    chain_audit(api)
    assert api.get("district-office", latest["url"]).status_code == 200


def pdf_tz() -> Any:
    from projections.dashboard import DISTRICT_TIME

    return DISTRICT_TIME


def test_the_hash_on_the_paper_is_the_chain_link_of_that_event(api: Api) -> None:
    """Check the paper as an auditor would: find the hash printed on it in the trail."""
    case_id = suspended_case(api, 8)
    chain_audit(api)
    document, content = printed(api, "district-office", case_id, "suspension_notice")
    found = re.search(r"SHA-256：([0-9a-f]{64})", pdf.pdf_flat_text(content))
    assert found is not None
    items = api.get("district-office", "/audit", case_id=str(case_id)).json()["items"]
    matching = [i for i in items if i["entry_hash"] == found.group(1)]
    assert len(matching) == 1
    assert matching[0]["event_type"] == "SuspensionOrdered"
    assert matching[0]["document_number"] == document["document_number"]


@pytest.mark.kafka
def test_over_the_real_broker_a_notice_prints_once_the_trail_has_it(system: Api) -> None:
    """The audit entry on the paper comes from the audit view fed over Kafka (SQLite and
    PostgreSQL): the request waits for it, briefly, rather than print without a hash."""
    case_id = suspended_case(system, 9)
    deadline = time.monotonic() + 60
    while True:
        listed = system.get(TOWN, f"/enterprises/{case_id}/documents").json()
        if listed and listed[0]["on_the_trail"]:
            break
        assert time.monotonic() < deadline, "the audit view never chained the order"
        time.sleep(0.05)
    answer = system.get(TOWN, listed[0]["url"])
    assert answer.status_code == 200
    text = pdf.pdf_flat_text(answer.content)
    assert entry_of(system, case_id, listed[0]["version"])["entry_hash"] in text
    assert "德感〔2026〕停字9号" in text
