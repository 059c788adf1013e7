"""Printable notices made from the events themselves: the 停产整治通知书 (from a
suspension order) and the 督办单 (from a supervision notice).

Every figure on the paper comes from the recorded event and the case as it stood then;
the foot of each page carries the event's audit entry (its number in the chain and its
hash), so a paper in a file can be checked against the trail: the entry with that hash
must exist and say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from api.documents.pdf import FACE, ChinesePdf
from domain.case import Case
from domain.events import CaseEvent, SupervisionNoticeIssued, SuspensionOrdered
from domain.names import zh
from projections.dashboard import DISTRICT_TIME

PLAN = "《江津区“散乱污”企业整治部门（单位）联动机制实施方案》"
SUSPENSION_BASIS = f"{PLAN}第四部分第（十五）项"
SUPERVISION_BASIS = f"{PLAN}（区政府督查办督促检查各单位履职）"
PRINTABLE: dict[type[CaseEvent], tuple[str, str]] = {
    SuspensionOrdered: ("suspension_notice", "停产整治通知书"),
    SupervisionNoticeIssued: ("supervision_notice", "督办单"),
}


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    entry_hash: str


def chinese_date(moment: datetime) -> str:
    local = moment.astimezone(DISTRICT_TIME)
    return f"{local.year}年{local.month}月{local.day}日"


def chinese_time(moment: datetime) -> str:
    local = moment.astimezone(DISTRICT_TIME)
    return f"{chinese_date(moment)} {local:%H:%M}"


def document_number(event: CaseEvent, entry: AuditEntry) -> str:
    """The 文号 recorded with the event; a 督办单 issued without one (the automatic ones)
    is numbered by its audit entry, which is unique and never reused."""
    if event.document_number:
        return event.document_number
    return f"联动督〔{event.timestamp.astimezone(DISTRICT_TIME).year}〕{entry.seq}号"


def notice_pdf(
    event: CaseEvent,
    case: Case,
    entry: AuditEntry,
    names: Callable[[str], str],
    font: tuple[Path, int],
    extra: dict[str, Any] | None = None,
) -> bytes:
    _, title = PRINTABLE[type(event)]
    number = document_number(event, entry)
    pdf = ChinesePdf(f"{title} {number} · 联动系统据审计链生成", font, event.timestamp)
    pdf.add_page()
    if isinstance(event, SuspensionOrdered):
        _suspension(pdf, event, case, number, names)
    else:
        assert isinstance(event, SupervisionNoticeIssued)
        _supervision(pdf, event, case, number, names, extra or {})
    _check_line(pdf, event, case, entry)
    return pdf.bytes()


def _heading(pdf: ChinesePdf, issuer: str, title: str, number: str) -> None:
    pdf.set_font(FACE, "B", 20)
    pdf.set_text_color(180, 0, 0)
    pdf.cell(0, 13, issuer, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font(FACE, "B", 18)
    pdf.cell(0, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FACE, size=11)
    pdf.cell(0, 8, number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(180, 0, 0)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    pdf.ln(6)


def _paragraph(pdf: ChinesePdf, text: str, size: float = 12.5, indent: bool = True) -> None:
    pdf.set_font(FACE, size=size)
    pdf.multi_cell(0, 8, ("　　" if indent else "") + text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _signature(pdf: ChinesePdf, issuer: str, moment: datetime) -> None:
    pdf.ln(10)
    pdf.set_font(FACE, size=12.5)
    pdf.cell(0, 8, issuer, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, chinese_date(moment), align="R", new_x="LMARGIN", new_y="NEXT")


def _suspension(
    pdf: ChinesePdf,
    event: SuspensionOrdered,
    case: Case,
    number: str,
    names: Callable[[str], str],
) -> None:
    issuer = names(event.actor.unit)
    e = case.enterprise
    assert e is not None  # a case is listed with its enterprise
    _heading(pdf, issuer, "停产整治通知书", number)
    _paragraph(pdf, f"{e.name}（统一社会信用代码：{e.uscc or '无'}）：", indent=False)
    problems = "；".join(
        zh(p.kind.value)
        # The description beside the kind, unless it only repeats the kind's code.
        + (f"（{p.description}）" if p.description and p.description != p.kind.value else "")
        for p in case.problems.values()
    )
    disposition = zh(case.disposition.value) if case.disposition else "待定"
    basis = event.legal_basis or SUSPENSION_BASIS
    _paragraph(
        pdf,
        f"经查，你单位位于{e.address}（{names(case.town)}），已列入《江津区“散乱污”企业整治"
        f"台账》，整治类别为“{disposition}”。"
        + (f"存在的主要问题：{problems}。" if problems else ""),
    )
    _paragraph(
        pdf,
        f"依据{basis}，现责令你单位自收到本通知之日起立即停止生产，按要求进行整治。"
        "整治完成后向属地镇街申请验收；未经验收合格，不得擅自恢复生产。拒不执行停产整治"
        "的，将会同相关部门依法开展联合执法。",
    )
    if event.note:
        _paragraph(pdf, f"其他事项：{event.note}")
    _paragraph(pdf, "如对本通知有异议，可自收到之日起依法提出陈述、申辩或申请听证。", size=11.5)
    _signature(pdf, issuer, event.timestamp)


def _supervision(
    pdf: ChinesePdf,
    event: SupervisionNoticeIssued,
    case: Case,
    number: str,
    names: Callable[[str], str],
    extra: dict[str, Any],
) -> None:
    notice = event.notice
    task = case.tasks.get(notice.task_id)
    assert case.enterprise is not None
    _heading(pdf, "江津区“散乱污”企业整治", "督　办　单", number)
    rows = [
        ("督办对象", names(notice.unit)),
        ("涉及企业", f"{case.enterprise.name}（{names(case.town)}，{case.enterprise.address}）"),
        ("督办事项", str(extra.get("duty") or (task.duty if task else notice.task_id))),
        ("原定期限", chinese_time(task.deadline) if task else "—"),
        ("督办要求", event.note or "请抓紧办理"),
        ("回复时限", f"请于 {chinese_time(notice.respond_by)} 前书面回复办理情况"),
        ("依　　据", event.legal_basis or SUPERVISION_BASIS),
        ("督办单位", names(event.actor.unit)),
        ("签发时间", chinese_time(event.timestamp)),
    ]
    pdf.set_font(FACE, size=12)
    with pdf.table(col_widths=(30, 144), line_height=8, first_row_as_headings=False) as grid:
        for label, value in rows:
            grid.row([label, value])
    pdf.ln(4)
    _paragraph(
        pdf,
        "请责任单位按期办结并回复；逾期未回复的，计入部门（单位）履职考核。",
        size=11.5,
    )


def _check_line(pdf: ChinesePdf, event: CaseEvent, case: Case, entry: AuditEntry) -> None:
    pdf.ln(8)
    pdf.set_draw_color(150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(FACE, size=8.5)
    pdf.set_text_color(80)
    pdf.multi_cell(
        0,
        4.6,
        f"核验：本件据联动系统审计链第 {entry.seq} 条记录生成（事件 {case.id}/"
        f"{event.originator_version}，{type(event).__name__}）。\n条目哈希 SHA-256："
        f"{entry.entry_hash}\n核对方法：GET /audit?case_id={case.id} 中该条 entry_hash 应与上"
        "值一致；或导出审计链后运行 liandong audit verify。",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_text_color(0)
