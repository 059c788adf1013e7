"""Importing a town's ledger: each row of the sheet (ledger_sheet) validated as a
listing command would be, reported per row and column in Chinese; committed, each
valid row listed once by the importing unit.

Once: each row's listing carries an idempotency key made of the row's identity (its
USCC, or for an unlicensed workshop its town, name and address), saved with the
listing's events. A file imported again, or an import interrupted and run again, finds
each row already done and records nothing new; a row on the ledger by other means is
found by its USCC, or by the workshop index for its name and address."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from pydantic import ValidationError

from domain import commands as c
from domain.application import Liandong, RequestKey
from domain.errors import ConcurrencyConflict, DomainError, DuplicateListing
from domain.names import VALUE_NAMES
from domain.units import UnitsRegistry
from domain.uscc import uscc_problem
from domain.validation_zh import message_zh
from domain.values import Actor, ProblemKind, Utility
from gateways.ledger_sheet import Sheet, normalised

Outcome = Literal["new", "listed", "already", "error"]
# Problems as offices write them: the names the workbench shows, and common short forms.
SYNONYMS: dict[str, ProblemKind] = {
    "未环评": ProblemKind.NO_EIA,
    "无环评": ProblemKind.NO_EIA,
    "无排污许可证": ProblemKind.NO_DISCHARGE_PERMIT,
    "无排污许可": ProblemKind.NO_DISCHARGE_PERMIT,
    "违建": ProblemKind.ILLEGAL_STRUCTURE,
    "违章建筑": ProblemKind.ILLEGAL_STRUCTURE,
    "无证无照": ProblemKind.UNLICENSED,
    "无照经营": ProblemKind.UNLICENSED,
    "消防": ProblemKind.FIRE_HAZARD,
    "安全隐患": ProblemKind.PRODUCTION_SAFETY,
    "无治污设施": ProblemKind.POLLUTION_CONTROL,
    "污染治理设施不全": ProblemKind.POLLUTION_CONTROL,
    "不符合产业政策": ProblemKind.INDUSTRIAL_POLICY,
    "应入园": ProblemKind.INDUSTRIAL_POLICY,
    "污水直排": ProblemKind.SEWER_CONNECTION,
    "四山": ProblemKind.PROTECTED_ZONE,
}
PROBLEM_WORDS: dict[str, ProblemKind] = {
    **{normalised(VALUE_NAMES[k.value][0]): k for k in ProblemKind},
    **{normalised(k.value): k for k in ProblemKind},
    **{normalised(word): k for word, k in SYNONYMS.items()},
}
YES = frozenset({"是", "有", "已办", "已办理", "y", "yes", "√", "✓", "1", "true"})
NO = frozenset({"否", "无", "未办", "未办理", "n", "no", "×", "0", "false", ""})
HEADERS_ZH = {
    "name": "企业名称", "uscc": "统一社会信用代码", "address": "地址", "town": "镇街",
    "industry": "行业", "licensed": "营业执照", "problems": "问题", "power": "供电户号",
    "water": "供水户号", "gas": "供气户号", "contact": "联系人",
}  # fmt: skip


@dataclass
class RowReport:
    row: int  # the row's number in the sheet
    outcome: Outcome
    name: str
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    case_id: UUID | None = None


@dataclass
class ImportReport:
    sheet: str
    header_row: int
    columns: dict[str, str]
    unknown_columns: list[str]
    not_imported_columns: list[str]
    rows: list[RowReport]
    committed: bool

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.rows)


def row_key(town: str, values: dict[str, str]) -> str:
    """A row's identity: its USCC, or for a workshop without one its town, name and
    address (as the workshop index knows it)."""
    uscc = normalised(values.get("uscc", "")).upper()
    identity = (
        f"uscc|{uscc}" if uscc else f"workshop|{town}|{values.get('name')}|{values.get('address')}"
    )
    return "ledger-import:" + hashlib.sha256(identity.encode()).hexdigest()[:40]


def town_of(units: UnitsRegistry, text: str) -> str | None:
    """A town as a sheet names it (德感街道, 德感, or town:degan)."""
    key = normalised(text)
    for unit in units.all():
        if unit.is_territorial and key in (unit.id, normalised(unit.name_zh)):
            return unit.id
    for unit in units.all():  # 德感 for 德感街道, 白沙 for 白沙镇
        if unit.is_territorial and key and normalised(unit.name_zh).startswith(key):
            return unit.id
    return None


def listing_of(
    units: UnitsRegistry, town: str, values: dict[str, str]
) -> tuple[c.ListEnterprise | None, list[tuple[str, str]]]:
    """The listing a row asks for, or the reasons it cannot be one (column, reason)."""
    found: list[tuple[str, str]] = []
    row_town = town
    if values.get("town"):
        named = town_of(units, values["town"])
        if named is None:
            found.append(("镇街", f"“{values['town']}”不是登记的镇街"))
        elif named != town:
            found.append(("镇街", f"“{values['town']}”不是本次导入的镇街"))
        else:
            row_town = named
    uscc = normalised(values.get("uscc", "")).upper() or None
    if uscc is not None:
        problem = uscc_problem(uscc)
        if problem:
            found.append(("统一社会信用代码", f"{uscc} 校验失败：{problem}"))
    problems: list[c.ProblemInput] = []
    for word in re.split(r"[、，,；;/\n]+", values.get("problems", "")):
        if not normalised(word):
            continue
        kind = PROBLEM_WORDS.get(normalised(word))
        if kind is None:
            found.append(("问题", f"“{word.strip()}”不是可识别的问题类别"))
        else:
            problems.append(c.ProblemInput(kind=kind))
    licensed_text = normalised(values.get("licensed", "")).lower()
    if licensed_text not in YES | NO:
        found.append(("营业执照", f"“{values['licensed']}”应为 有 或 无"))
    connections = [
        c.Connection(utility=Utility(u), account=values[u] or None)
        for u in ("power", "water", "gas")
        if values.get(u)
    ]
    fields: dict[str, Any] = {
        "name": values.get("name", ""),
        "uscc": uscc,
        "address": values.get("address", ""),
        "town": row_town,
        "industry": values.get("industry", ""),
        "licensed": licensed_text in YES or (not licensed_text and uscc is not None),
        "contact": values.get("contact") or None,
        "connections": connections,
        "problems": problems,
    }
    try:
        command = c.ListEnterprise.model_validate(fields)
    except ValidationError as refused:
        for e in refused.errors():
            column = HEADERS_ZH.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else ""
            found.append((column, message_zh(dict(e))))
        return None, found
    return (None, found) if found else (command, [])


def import_ledger(
    app: Liandong,
    actor: Actor,
    town: str,
    sheet: Sheet,
    *,
    commit: bool,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validates every row (and with `commit`, lists each valid one once); a bad row
    records nothing and is reported with its row number and reasons."""
    report = ImportReport(
        sheet.name, sheet.header_row, sheet.columns, sheet.unknown, sheet.not_imported, [],
        commit,
    )  # fmt: skip
    missing = [HEADERS_ZH[f] for f in ("name", "address") if f not in sheet.columns]
    seen: dict[str, int] = {}
    for done, (number, values) in enumerate(sheet.rows, start=1):
        name = values.get("name", "")
        command, problems = listing_of(app.units, town, values)
        problems = [(col, f"缺少“{col}”列") for col in missing] + problems
        key = row_key(town, values)
        if key in seen and not problems:
            problems.append(("企业名称", f"与第 {seen[key]} 行是同一家企业"))
        seen.setdefault(key, number)
        if problems or command is None:
            report.rows.append(RowReport(number, "error", name, problems))
        else:
            report.rows.append(_list_once(app, actor, command, key, number, commit))
        if progress is not None:
            progress(done, len(sheet.rows))
    return report


def _list_once(
    app: Liandong, actor: Actor, command: c.ListEnterprise, key: str, number: int, commit: bool
) -> RowReport:
    existing = _already_listed(app, actor, command, key)
    if existing is not None:
        return RowReport(number, "already", command.name, case_id=existing)
    if not commit:
        return RowReport(number, "new", command.name)
    fingerprint = hashlib.sha256(command.model_dump_json().encode()).hexdigest()
    try:
        result = app.handle(actor, command, RequestKey(key, fingerprint, 201))
    except DuplicateListing as duplicate:
        found = duplicate.details.get("existing_case_id")
        return RowReport(
            number, "already", command.name, case_id=UUID(str(found)) if found else None
        )
    except ConcurrencyConflict:  # the same row, listed meanwhile by another import
        again = _already_listed(app, actor, command, key)
        return RowReport(number, "already", command.name, case_id=again)
    except DomainError as refused:
        column = HEADERS_ZH.get(refused.field or "", refused.field or "")
        return RowReport(number, "error", command.name, [(column, refused.message_zh)])
    return RowReport(number, "listed", command.name, case_id=result.aggregate_id)


def _already_listed(
    app: Liandong, actor: Actor, command: c.ListEnterprise, key: str
) -> UUID | None:
    """The case this row is already on the ledger as: imported before (its key), listed
    by USCC, or an open workshop of the same town, name and address."""
    handled = app.find_request(actor.unit, key)
    if handled is not None:
        return handled.aggregate_id
    if command.uscc:
        return app.case_for_uscc(command.uscc)
    listed = app.open_workshops(command.town, command.name, command.address)
    return listed[0] if listed else None


def report_lines(report: ImportReport) -> list[str]:
    """The report as an office reads it, in Chinese: what was read, then each bad row."""
    verb = "已登记" if report.committed else "可登记（试导入，未登记）"
    done = report.count("listed") if report.committed else report.count("new")
    lines = [
        f"工作表“{report.sheet}”，表头在第 {report.header_row} 行，共 {len(report.rows)} 行：",
        f"  {verb} {done} 行；已在台账 {report.count('already')} 行；"
        f"有误 {report.count('error')} 行（有误的行未登记）",
    ]
    if report.unknown_columns:
        lines.append("  未识别的列（未导入）：" + "、".join(report.unknown_columns))
    if report.not_imported_columns:
        lines.append("  由系统生成、不导入的列：" + "、".join(report.not_imported_columns))
    for row in report.rows:
        for column, reason in row.problems:
            lines.append(f"  第 {row.row} 行（{row.name or '无名称'}）{column}：{reason}")
    return lines
