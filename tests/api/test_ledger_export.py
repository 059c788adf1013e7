"""The ledger in Excel, as offices file it: the whole ledger and each of the three lists
on its own sheet, Chinese headers and values, dates as dates, the header row frozen;
exported by the API, the workbench and the CLI, within the reader's reach."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_inbox import TOWN
from tests.api.test_workbench_pages import OTHER_TOWN, USCC, lived_weeks_ago, signed_in

SHEETS = ["台账", "入园发展一批", "整治规范一批", "关停取缔一批"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def sheets(content: bytes) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {
        name: list(map(list, book.get_sheet_by_name(name).to_python())) for name in book.sheet_names
    }


def export(api: Api, unit: str, **query: str) -> dict[str, list[list[object]]]:
    answer = api.get(unit, "/ledger/export.xlsx", **query)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    return sheets(answer.content)


def test_the_ledger_and_the_three_lists_each_on_a_sheet_in_chinese(api: Api) -> None:
    ids = lived_weeks_ago(api)
    book = export(api, "district-office")
    assert list(book) == SHEETS
    header, *rows = book["台账"]
    assert header[:4] == ["序号", "企业名称", "统一社会信用代码", "镇街"]
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(by_name) == {"德感某家具厂", "德感某食品作坊", "白沙某石材厂", "白沙误列"}
    furniture = by_name["德感某家具厂"]
    assert furniture["统一社会信用代码"] == USCC
    assert furniture["镇街"] == "德感街道"
    assert furniture["分类"] == "整治规范"
    assert furniture["状态"] == "已分类"
    assert furniture["案件编号"] == str(ids["rectify"])
    assert isinstance(furniture["列入日期"], date | datetime), "a date, not text"
    assert by_name["白沙误列"]["状态"] == "已撤回"
    assert [r[1] for r in book["关停取缔一批"][1:]] == ["德感某食品作坊"]
    assert [r[1] for r in book["入园发展一批"][1:]] == ["白沙某石材厂"]
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "numbered from 1"


def test_the_header_row_is_frozen_and_the_columns_have_widths(api: Api) -> None:
    lived_weeks_ago(api)
    content = api.get("district-office", "/ledger/export.xlsx").content
    with zipfile.ZipFile(io.BytesIO(content)) as parts:
        sheet = parts.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<pane ySplit="1"[^>]*state="frozen"', sheet)
    assert re.search(r'<col min="2" max="2" width="28', sheet)
    assert "<autoFilter" in sheet


def test_an_export_is_filtered_and_within_the_readers_reach(api: Api) -> None:
    lived_weeks_ago(api)
    assert len(export(api, "district-office", disposition="close")["台账"]) == 2
    assert len(export(api, "district-office", state="withdrawn")["台账"]) == 2
    assert len(export(api, "district-office", town=OTHER_TOWN)["台账"]) == 3
    own = export(api, TOWN)["台账"]
    assert {r[3] for r in own[1:]} == {"德感街道"}
    assert len(own) == 3
    assert export(api, TOWN, town=OTHER_TOWN)["台账"] == [own[0]], "another town: nothing"
    assert api.get("power", "/ledger/export.xlsx").status_code == 403
    assert api.client.get("/ledger/export.xlsx").status_code == 401


@pytest.mark.parametrize(
    ("query", "status"),
    [({"listed_since": "0001-01-01"}, 200), ({"listed_until": "9999-12-31"}, 200),
     ({"listed_since": "2026-13-45"}, 422), ({"state": "\x00"}, 422),
     ({"disposition": "Infinity"}, 422), ({"town": "长" * 65}, 422)],
)  # fmt: skip
def test_hostile_filters_are_refused_or_answered(
    api: Api, query: dict[str, str], status: int
) -> None:
    lived_weeks_ago(api)
    answer = api.get("district-office", "/ledger/export.xlsx", **query)
    assert answer.status_code == status, answer.text[:300]
    if status == 422:
        assert answer.json()["field"] in query


def test_the_workbench_exports_what_the_ledger_page_shows(api: Api) -> None:
    lived_weeks_ago(api)
    office = signed_in(api, "district-office")
    page = office.get("/app/ledger?disposition=close").text
    link = re.search(r'href="(/app/ledger/export\.xlsx\?[^"]*)"', page)
    assert link is not None
    answer = office.get(link.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    assert [r[1] for r in sheets(answer.content)["台账"][1:]] == ["德感某食品作坊"]
    assert signed_in(api, "power").get("/app/ledger/export.xlsx").status_code == 403


def test_the_cli_writes_the_same_workbook(api: Api, tmp_path: Path) -> None:
    lived_weeks_ago(api)
    out = tmp_path / "台账.xlsx"
    done = liandong(api, "ledger", "export", str(out), "--town", TOWN)
    assert done.returncode == 0, done.stderr
    assert sheets(out.read_bytes()) == export(api, "district-office", town=TOWN)
    unknown = liandong(api, "ledger", "export", str(out), "--town", "town:nowhere")
    assert unknown.returncode != 0
    assert "town:nowhere" in unknown.stderr


def liandong(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a clerk runs it, on the test's view store (its events are in memory:
    the commands read the views only)."""
    env = {
        **os.environ,
        "LIANDONG_EVENT_STORE": "memory://",
        "LIANDONG_VIEW_STORE": api.services.settings.view_store,
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
