"""The ledger template a town downloads (GET /ledger/template.xlsx): the headers the
import reads first, an example row, and a sheet explaining each column, in Chinese."""

from __future__ import annotations

import io

import xlsxwriter  # type: ignore[import-untyped]

from domain.names import VALUE_NAMES
from domain.values import ProblemKind
from gateways.ledger_sheet import FIELDS

HELP = {
    "name": "必填。营业执照上的名称；无照作坊填常用名称。",
    "uscc": "有营业执照的填写 18 位代码（系统按 GB 32100 校验）；无照的留空。",
    "address": "必填。生产经营地址。",
    "town": "可填 德感街道、德感 等；须为本次导入的镇街，留空即为本次导入的镇街。",
    "industry": "选填。",
    "licensed": "有 或 无；留空时有信用代码即视为有。",
    "problems": "用顿号分隔，例如 未环评、消防。可填："
    + "、".join(VALUE_NAMES[k.value][0] for k in ProblemKind),
    "power": "选填。供电户号（表号），断电指令凭此执行。",
    "water": "选填。供水户号。",
    "gas": "选填。供气户号。",
    "contact": "选填。联系人及电话。",
}
EXAMPLE = {
    "name": "德感某家具厂", "uscc": "", "address": "德感街道某村1号", "town": "德感街道",
    "industry": "家具制造", "licensed": "无", "problems": "未环评、消防", "power": "P-0001",
    "water": "", "gas": "", "contact": "张三 13800000000",
}  # fmt: skip


def template_workbook() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    header = book.add_format({"bold": True, "bg_color": "#DDE7F3", "border": 1})
    sheet = book.add_worksheet("台账")
    notes = book.add_worksheet("填表说明")
    for col, (name, variants) in enumerate(FIELDS.items()):
        sheet.write_string(0, col, variants[0], header)
        sheet.write_string(1, col, EXAMPLE[name])
        sheet.set_column(col, col, 16 if name not in ("address", "problems") else 28)
        notes.write_string(col, 0, variants[0], header)
        notes.write_string(col, 1, HELP[name])
        notes.write_string(col, 2, "也认：" + "、".join(variants[1:]))
    sheet.freeze_panes(1, 0)
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 70)
    notes.set_column(2, 2, 50)
    book.close()
    return out.getvalue()
