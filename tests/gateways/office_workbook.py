"""A town's ledger workbook made the way an office makes one: a hidden instructions sheet
before it, a merged title row and a blank row above the headers, headers with spaces
and full-width brackets, a date column stored as numbers, a formula column, full-width
digits and stray spaces in the cells; 200 rows, 5 of them bad."""

from __future__ import annotations

import io
from dataclasses import dataclass

import xlsxwriter  # type: ignore[import-untyped]

from tests.domain.scenario import uscc

HEADERS = [
    "序 号", "企业名称", "统一社会信用代码 ", "镇（街道）", "详细地址", "所属行业",
    "有无营业执照", "存在问题", "供电户号", "排查日期", "备注",
]  # fmt: skip
ROWS = 200
FIRST_DATA_ROW = 4  # the sheet's row number of the first enterprise (title, blank, headers)


@dataclass(frozen=True)
class BadRow:
    index: int  # 0-based among the data rows
    column: str  # the column the report must name
    why: str  # a word the reason must contain


BAD = [
    BadRow(10, "统一社会信用代码", "校验失败"),
    BadRow(50, "企业名称", "内容过短或为空"),
    BadRow(90, "问题", "不是可识别的问题类别"),
    BadRow(130, "镇街", "不是本次导入的镇街"),
    BadRow(170, "营业执照", "应为 有 或 无"),
]


def row_values(i: int) -> list[object]:
    """The cells of data row i as an office typed them."""
    licensed = i % 3 != 0
    code = uscc(3000 + i) if licensed else ""
    if i % 7 == 1 and code:  # typed with full-width digits and letters
        code = code.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    row: list[object] = [
        i + 1,
        f"  德感某厂{i:03d} " if i % 5 == 0 else f"德感某厂{i:03d}",
        code,
        "德感街道" if i % 2 else "德感",
        f"德感街道某村{i}号",
        "家具制造" if i % 4 else "",
        "有" if licensed else "无",
        "未环评、消防" if i % 6 == 0 else ("无证无照" if not licensed else "违章搭建"),
        "",  # the power account: a formula, written below
        45230 + i,  # 排查日期: a date stored as a plain number
        "",
    ]
    bad = {b.index: b for b in BAD}.get(i)
    if bad is not None:
        if bad.column == "统一社会信用代码":
            row[2] = str(code or uscc(3000 + i))[:17] + ("0" if str(code)[-1:] != "0" else "1")
            row[6] = "有"
        elif bad.column == "企业名称":
            row[1] = "   "
        elif bad.column == "问题":
            row[7] = "噪声扰民"
        elif bad.column == "镇街":
            row[3] = "白沙镇"
        elif bad.column == "营业执照":
            row[6] = "可能"
    return row


def office_workbook() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    notes = book.add_worksheet("填表说明")
    notes.write(0, 0, "请按表头填写，问题用顿号分隔。")
    notes.hide()
    sheet = book.add_worksheet("德感街道台账")
    sheet.activate()
    title = book.add_format({"bold": True, "align": "center"})
    sheet.merge_range(0, 0, 0, len(HEADERS) - 1, "德感街道散乱污企业排查台账（2021年）", title)
    for col, header in enumerate(HEADERS):
        sheet.write_string(2, col, header)
    for i in range(ROWS):
        for col, value in enumerate(row_values(i)):
            if isinstance(value, str):
                sheet.write_string(FIRST_DATA_ROW - 1 + i, col, value)
            else:
                sheet.write_number(FIRST_DATA_ROW - 1 + i, col, float(value))  # type: ignore[arg-type]
        # The power account as a formula, with the value Excel cached for it.
        sheet.write_formula(
            FIRST_DATA_ROW - 1 + i, 8, f'="DG-"&TEXT(A{FIRST_DATA_ROW + i},"0000")', None,
            f"DG-{i + 1:04d}",
        )  # fmt: skip
    book.close()
    return out.getvalue()
