"""The 督办 report as the district office files it: an Excel workbook (a sheet per town
and per unit, with a chart) and a PDF (the same tables, with charts drawn on the page).
Both render one `projections.reports.Report`; neither computes a figure of its own."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]
from fpdf.fonts import FontFace

from api.documents.names import Namer
from api.documents.pdf import FACE, ChinesePdf
from projections.dashboard import DISTRICT_TIME
from projections.reports import Figures, Report

TOWN_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("镇街", "name", 16),
    ("新列入", "listed", 9),
    ("已分类", "classified", 9),
    ("已销号", "struck_off", 9),
    ("回头看复发", "relapses", 11),
    ("断供指令执行", "orders_executed", 13),
    ("到期未办", "overdue", 10),
    ("按时办结率", "on_time_rate", 11),
)
UNIT_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("单位", "name", 20),
    ("办理事项", "actions", 10),
    ("新交办", "tasks_assigned", 9),
    ("已办结", "tasks_done", 9),
    ("按时办结", "done_on_time", 10),
    ("按时办结率", "on_time_rate", 11),
    ("到期未办", "overdue", 10),
    ("执行指令", "orders_executed", 10),
)


def title(report: Report) -> str:
    kind = "周报" if report.period.kind == "week" else "月报"
    return f"江津区“散乱污”企业整治督办{kind}"


def subtitle(report: Report) -> str:
    as_of = report.as_of.astimezone(DISTRICT_TIME)
    ended = report.as_of >= report.period.ends
    return f"{report.period.title_zh}　统计至 {as_of:%Y-%m-%d %H:%M}" + (
        "" if ended else "（本期未结束）"
    )


def cell(row: Figures, field: str, names: Namer) -> str | int | float | None:
    if field == "name":
        return names(row.key)
    if field == "on_time_rate":
        return row.on_time_rate
    value: int = getattr(row, field)
    return value


def as_text(value: str | int | float | None, field: str) -> str:
    if field == "on_time_rate":
        return "—" if value is None else f"{float(value):.0%}"
    return str(value)


# ---------------------------------------------------------------- Excel


def report_xlsx(report: Report, names: Namer) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
    percent = book.add_format({"num_format": "0%"})
    heading = book.add_format({"bold": True, "font_size": 14})
    for sheet_name, rows, columns, chart_field, chart_title in (
        ("镇街", report.towns, TOWN_COLUMNS, "listed", "各镇街新列入与已销号"),
        ("单位", report.units, UNIT_COLUMNS, "overdue", "各单位到期未办"),
    ):
        sheet = book.add_worksheet(sheet_name)
        sheet.write(0, 0, f"{title(report)}　{subtitle(report)}", heading)
        for col, (header, field, width) in enumerate(columns):
            sheet.write(2, col, header, bold)
            sheet.set_column(col, col, width, percent if field == "on_time_rate" else None)
        for r, row in enumerate(rows, start=3):
            for col, (_, field, _) in enumerate(columns):
                value = cell(row, field, names)
                if value is None:
                    sheet.write_blank(r, col, None)
                else:
                    sheet.write(r, col, value)
        sheet.freeze_panes(3, 1)
        if rows:
            sheet.autofilter(2, 0, 2 + len(rows), len(columns) - 1)
            chart = book.add_chart({"type": "bar"})
            fields = [f for _, f, _ in columns]
            series = [chart_field] + (["struck_off"] if sheet_name == "镇街" else [])
            for field in series:
                col = fields.index(field)
                chart.add_series(
                    {
                        "name": [sheet_name, 2, col],
                        "categories": [sheet_name, 3, 0, 2 + len(rows), 0],
                        "values": [sheet_name, 3, col, 2 + len(rows), col],
                    }
                )
            chart.set_title({"name": chart_title})
            chart.set_size({"width": 640, "height": max(320, 22 * len(rows))})
            chart.set_y_axis({"reverse": True})
            sheet.insert_chart(2, len(columns) + 1, chart)
    notes = book.add_worksheet("说明")
    for r, line in enumerate(DEFINITIONS):
        notes.write(r, 0, line)
    notes.set_column(0, 0, 110)
    book.close()
    return out.getvalue()


DEFINITIONS = (
    "统计口径（区政府督查办）",
    "新列入、已分类、已销号、回头看复发、断供指令执行：本期内审计链记录的相应事件数，按企业所在镇街计。",
    "办理事项：本单位本期在企业案件上记录的全部操作数。",
    "新交办：本期交办给本单位的事项；已办结：本期办结的事项；按时办结：办结时未超过期限。",
    "按时办结率 = 按时办结 ÷ 已办结；本期无办结事项时为“—”。",
    "到期未办：统计时点已过期限、尚未办结也未撤销的事项。",
    "周为 ISO 周（周一 0 时起），月为自然月，均按北京时间。",
)


# ---------------------------------------------------------------- PDF


def report_pdf(report: Report, names: Namer, font: tuple[Path, int]) -> bytes:
    pdf = ChinesePdf(f"{title(report)} · {report.period.name} · 联动系统生成", font, report.as_of)
    pdf.add_page()
    pdf.set_font(FACE, "B", 17)
    pdf.cell(0, 10, title(report), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FACE, size=10.5)
    pdf.cell(0, 7, subtitle(report), align="C", new_x="LMARGIN", new_y="NEXT")
    t = report.total
    pdf.ln(3)
    pdf.multi_cell(
        0,
        6.5,
        f"本期全区新列入 {t.listed} 户，已分类 {t.classified} 户，已销号 {t.struck_off} 户，"
        f"回头看复发 {t.relapses} 户，断供指令执行 {t.orders_executed} 条。"
        f"各单位新交办事项 {t.tasks_assigned} 件，办结 {t.tasks_done} 件，其中按时办结 "
        f"{t.done_on_time} 件（按时办结率 {as_text(t.on_time_rate, 'on_time_rate')}），"
        f"统计时点到期未办 {t.overdue} 件。",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    bars(
        pdf,
        "各镇街新列入与已销号（户）",
        [(names(r.key), (r.listed, r.struck_off)) for r in report.towns],
        ("新列入", "已销号"),
    )
    bars(
        pdf,
        "各单位到期未办（件）",
        [(names(r.key), (r.overdue,)) for r in report.units],
        ("到期未办",),
    )
    table(pdf, "一、各镇街", report.towns, TOWN_COLUMNS, names)
    table(pdf, "二、各单位", report.units, UNIT_COLUMNS, names)
    pdf.ln(4)
    pdf.set_font(FACE, size=8.5)
    for line in DEFINITIONS[1:]:
        pdf.multi_cell(0, 4.6, line, new_x="LMARGIN", new_y="NEXT")
    return pdf.bytes()


COLOURS = ((47, 94, 168), (222, 130, 40))


def bars(
    pdf: ChinesePdf,
    caption: str,
    rows: Sequence[tuple[str, tuple[int, ...]]],
    legend: tuple[str, ...],
    most: int = 15,
) -> None:
    """A horizontal bar chart of the rows with any figure, largest first (at most `most`)."""
    shown = sorted((r for r in rows if any(r[1])), key=lambda r: (-r[1][0], r[0]))[:most]
    pdf.set_font(FACE, "B", 11)
    pdf.cell(0, 8, caption, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FACE, size=8.5)
    if not shown:
        pdf.cell(0, 6, "本期无数据", new_x="LMARGIN", new_y="NEXT")
        return
    label_w, bar_h = 38.0, 3.4
    width = pdf.w - pdf.l_margin - pdf.r_margin - label_w - 14
    top = max(max(values) for _, values in shown) or 1
    if pdf.will_page_break(len(shown) * bar_h * len(legend) + 14):
        pdf.add_page()
    for label, values in shown:
        y = pdf.get_y()
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w, bar_h * len(values), label, align="R")
        for i, value in enumerate(values):
            pdf.set_fill_color(*COLOURS[i % len(COLOURS)])
            length = width * value / top
            if length > 0:
                pdf.rect(pdf.l_margin + label_w + 2, y + i * bar_h, length, bar_h - 0.6, "F")
            pdf.set_xy(pdf.l_margin + label_w + 3 + length, y + i * bar_h - 0.3)
            pdf.cell(10, bar_h, str(value))
        pdf.set_xy(pdf.l_margin, y + bar_h * len(values) + 1.2)
    x = pdf.l_margin + label_w + 2
    for i, name in enumerate(legend):
        pdf.set_fill_color(*COLOURS[i % len(COLOURS)])
        pdf.rect(x, pdf.get_y() + 1, 3, 3, "F")
        pdf.set_xy(x + 4, pdf.get_y())
        pdf.cell(20, 5, name)
        x += 26
    pdf.set_fill_color(255)
    pdf.ln(8)


def table(
    pdf: ChinesePdf,
    caption: str,
    rows: Sequence[Figures],
    columns: tuple[tuple[str, str, float], ...],
    names: Namer,
) -> None:
    pdf.set_font(FACE, "B", 11)
    pdf.cell(0, 9, caption, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FACE, size=8.5)
    widths = tuple(w for _, _, w in columns)
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *("RIGHT",) * (len(columns) - 1)),
        line_height=5.2,
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="BOLD", fill_color=(232, 238, 247)),
        cell_fill_color=(248, 248, 248),
        cell_fill_mode="ROWS",
    ) as grid:
        grid.row([h for h, _, _ in columns])
        for row in rows:
            grid.row([as_text(cell(row, f, names), f) for _, f, _ in columns])
        if not rows:
            grid.row(["本期无数据", *[""] * (len(columns) - 1)])
