"""The ledger as an Excel workbook in the layout offices file it: the whole ledger on one
sheet and each of the three lists (三个一批) on its own, Chinese headers, the header row
frozen, sensible widths, dates as dates (district time).

Written in xlsxwriter's constant-memory mode from pages of the status view, so a city's
40,000 cases take no more memory than a page: each row goes to a temporary file as the
next begins, and the workbook is assembled at the end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import xlsxwriter  # type: ignore[import-untyped]

from domain.names import zh
from projections.db import Database, parse_utc
from projections.queries import CaseFilter, enterprises

DISTRICT_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
PAGE = 1000
# (header, width, the view's column or how to read it)
COLUMNS: list[tuple[str, int, str]] = [
    ("序号", 6, "#"),
    ("企业名称", 28, "name"),
    ("统一社会信用代码", 22, "uscc"),
    ("镇街", 12, "town"),
    ("地址", 32, "address"),
    ("行业", 14, "industry"),
    ("分类", 10, "disposition"),
    ("状态", 14, "state"),
    ("列入日期", 12, "listed_at"),
    ("整治期限", 12, "deadline"),
    ("审批锁定", 9, "approval_lock"),
    ("供电", 9, "supply_power"),
    ("供水", 9, "supply_water"),
    ("供气", 9, "supply_gas"),
    ("销号日期", 12, "struck_off_at"),
    ("案件编号", 38, "case_id"),
]
SHEETS = {
    "relocate": "入园发展一批",
    "rectify": "整治规范一批",
    "close": "关停取缔一批",
}
DATES = frozenset({"listed_at", "deadline", "struck_off_at"})


def cases_of(db: Database, now: datetime, chosen: CaseFilter) -> Iterator[dict[str, Any]]:
    """Every case the filter selects, a page at a time."""
    cursor: str | None = None
    while True:
        page = enterprises(db, now, chosen=chosen, cursor=cursor, limit=PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _local_date(value: str | None) -> datetime | None:
    """A stored moment as the date the district reads (Excel has no time zones)."""
    if not value:
        return None
    return parse_utc(value).astimezone(DISTRICT_TIME).replace(tzinfo=None)


def write_ledger(
    cases: Iterator[dict[str, Any]],
    target: str | Path | IO[bytes],
    town_names: dict[str, str],
) -> int:
    """Writes the cases to `target` (a path or a binary file); returns how many."""
    book = xlsxwriter.Workbook(
        target, {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    header = book.add_format({"bold": True, "bg_color": "#DDE7F3", "border": 1})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheets = {"ledger": book.add_worksheet("台账")}
    sheets.update({k: book.add_worksheet(name) for k, name in SHEETS.items()})
    rows = dict.fromkeys(sheets, 0)
    for sheet in sheets.values():
        for col, (title, width, _) in enumerate(COLUMNS):
            sheet.set_column(col, col, width)
            sheet.write_string(0, col, title, header)
        sheet.freeze_panes(1, 0)
    count = 0
    for case in cases:
        count += 1
        for key in ("ledger", case.get("disposition")):
            if key not in sheets:
                continue
            rows[key] += 1
            _write_row(sheets[key], rows[key], case, town_names, date)
    for key, sheet in sheets.items():
        if rows[key]:
            sheet.autofilter(0, 0, rows[key], len(COLUMNS) - 1)
    book.close()
    return count


def _write_row(
    sheet: Any, row: int, case: dict[str, Any], town_names: dict[str, str], date: Any
) -> None:
    for col, (_, _, source) in enumerate(COLUMNS):
        if source == "#":
            sheet.write_number(row, col, row)
        elif source in DATES:
            moment = _local_date(case.get(source))
            if moment is not None:
                sheet.write_datetime(row, col, moment, date)
        elif source == "approval_lock":
            sheet.write_string(row, col, "是" if case.get(source) else "否")
        elif source == "town":
            sheet.write_string(row, col, town_names.get(case["town"], case["town"]))
        else:
            value = case.get(source)
            text = zh(str(value)) if value not in (None, "") else ""
            sheet.write_string(row, col, text)


def export_ledger(
    db: Database,
    now: datetime,
    chosen: CaseFilter,
    target: str | Path | IO[bytes],
    town_names: dict[str, str],
) -> int:
    """The selected cases of the status view as the ledger workbook; returns how many."""
    return write_ledger(cases_of(db, now, chosen), target, town_names)
