"""Reading a town's ledger as offices keep it (.xlsx, .xls, .ods or .csv): the first
visible sheet, its header row found beneath any merged title rows, headers recognised
in their common variants (full-width brackets, stray spaces, a required-mark *), formula
cells as their cached values. What is read is rows of text keyed by field; whether a
row is a valid listing is ledger_import's business."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook, SheetVisibleEnum

# Each field a listing takes, by the headers offices give it (normalised: NFKC, no
# spaces, no *). The first of each is the template's.
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "名称", "单位名称", "企业(单位)名称", "企业名", "经营者名称",
             "企业名称(个体户字号)"),
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码",
             "统一社会信用代码(注册号)"),
    "address": ("地址", "经营地址", "详细地址", "生产经营地址", "所在地址", "企业地址"),
    "town": ("镇街", "所属镇街", "镇(街道)", "镇街名称", "街镇", "所在镇街"),
    "industry": ("行业", "所属行业", "行业类别", "行业类型"),
    "licensed": ("营业执照", "有无营业执照", "是否有营业执照", "是否办证", "是否办理营业执照"),
    "problems": ("问题", "存在问题", "主要问题", "问题类型", "存在的主要问题"),
    "power": ("供电户号", "电表户号", "用电户号", "电户号"),
    "water": ("供水户号", "用水户号", "水表户号", "水户号"),
    "gas": ("供气户号", "用气户号", "燃气户号", "气户号"),
    "contact": ("联系人", "联系方式", "负责人", "联系人及电话"),
}  # fmt: skip
# Columns of the ledger's own export, recognised but not imported: what the system
# decides (batch, state, dates, locks, supply states) is not taken from a sheet.
DECIDED_HERE: tuple[str, ...] = (
    "序号", "分类", "状态", "列入日期", "整治期限", "审批锁定", "供电", "供水", "供气",
    "销号日期", "案件编号",
)  # fmt: skip
HEADER_SEARCH_ROWS = 10  # a header row lies beneath at most this many title rows


def normalised(text: str) -> str:
    """A header or code as typed, made comparable: full-width to half-width (NFKC), no
    white space of any width, no required-mark asterisks."""
    return re.sub(r"[\s*]", "", unicodedata.normalize("NFKC", text))


KNOWN: dict[str, str] = {
    normalised(variant): f for f, variants in FIELDS.items() for variant in variants
}


@dataclass
class Sheet:
    """The rows of a ledger sheet, keyed by field; `number` is the row's number in the
    sheet as the office sees it (1-based, title rows counted)."""

    name: str
    header_row: int
    columns: dict[str, str]  # field -> the header as written
    unknown: list[str] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0 (a code typed as a number), dates as
    ISO days, everything NFKC-normalised and stripped (full-width digits and letters,
    ideographic spaces)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == time() else value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def read_sheet(content: bytes, filename: str) -> Sheet:
    """The ledger sheet of a workbook (the first visible sheet) or a CSV file."""
    if filename.lower().endswith(".csv"):
        return _from_rows("csv", _csv_rows(content))
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    visible = [
        m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible
    ] or book.sheet_names
    sheet = book.get_sheet_by_name(visible[0])
    return _from_rows(sheet.name, sheet.to_python(skip_empty_area=False))


def read_path(path: Path) -> Sheet:
    return read_sheet(path.read_bytes(), path.name)


def _csv_rows(content: bytes) -> list[list[Any]]:
    """CSV as offices save it: UTF-8 (with or without a BOM) or GB18030 (Excel's own
    "CSV" on a Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("the CSV file is neither UTF-8 nor GB18030 text")
    return [list(r) for r in csv.reader(io.StringIO(text))]


def _from_rows(name: str, rows: list[list[Any]]) -> Sheet:
    header_at = _header_row(rows)
    if header_at is None:
        raise ValueError(
            "no header row found: the first rows name none of 企业名称, 地址, 统一社会信用代码"
        )
    headers = [cell_text(h) for h in rows[header_at]]
    sheet = Sheet(name=name, header_row=header_at + 1, columns={})
    positions: dict[str, int] = {}
    for i, header in enumerate(headers):
        key = normalised(header)
        if not key:
            continue
        found = KNOWN.get(key)
        if found is not None and found not in positions:
            positions[found] = i
            sheet.columns[found] = header
        elif key in {normalised(d) for d in DECIDED_HERE}:
            sheet.not_imported.append(header)
        else:
            sheet.unknown.append(header)
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = {f: cell_text(row[i]) if i < len(row) else "" for f, i in positions.items()}
        if any(values.values()):
            sheet.rows.append((offset, values))
    return sheet


def _header_row(rows: list[list[Any]]) -> int | None:
    """The first row naming at least two known fields (a merged title row names none)."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        named = {KNOWN.get(normalised(cell_text(c))) for c in row} - {None}
        if len(named) >= 2:
            return i
    return None
