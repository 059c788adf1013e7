"""Importing a town's 10,000-row workbook: the dry run, the commit and the same file
again, beside the same listings handled by the application directly, each on a fresh
SQLite event store, in one run.

    .venv/bin/python -m bench.bench_ledger_import [--rows 10000]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import xlsxwriter  # type: ignore[import-untyped]

from api.settings import store_env
from bench.common import report, timed
from domain.application import Liandong
from domain.uscc import with_check_character
from domain.values import Actor
from gateways.ledger_import import import_ledger, listing_of
from gateways.ledger_sheet import read_sheet

TOWN = "town:degan"
HEADERS = ["企业名称", "统一社会信用代码", "镇街", "地址", "行业", "存在问题", "供电户号"]


def workbook(rows: int) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("台账")
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header)
    for i in range(rows):
        uscc = with_check_character(f"91500116MA{i:07d}") if i % 2 else ""
        values = [f"德感某厂{i:05d}", uscc, "德感街道", f"德感街道某村{i}号", "家具制造",
                  "未环评、消防" if i % 3 else "无证无照", f"P-{i:05d}"]  # fmt: skip
        for col, value in enumerate(values):
            sheet.write_string(i + 1, col, value)
    book.close()
    return out.getvalue()


def fresh_app(tmp: Path, name: str) -> Liandong:
    return Liandong(env=store_env(f"sqlite:///{tmp / name}.sqlite"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    content = workbook(args.rows)
    clerk = Actor(unit=TOWN, person="bench")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sheet, read_s = timed(lambda: read_sheet(content, "台账.xlsx"))
        direct = fresh_app(tmp, "direct")
        commands = [listing_of(direct.units, TOWN, values)[0] for _, values in sheet.rows]
        _, direct_s = timed(lambda: [direct.handle(clerk, cmd) for cmd in commands if cmd])
        app = fresh_app(tmp, "imported")
        dry, dry_s = timed(lambda: import_ledger(app, clerk, TOWN, sheet, commit=False))
        done, commit_s = timed(lambda: import_ledger(app, clerk, TOWN, sheet, commit=True))
        again, again_s = timed(lambda: import_ledger(app, clerk, TOWN, sheet, commit=True))
        assert dry.count("new") == done.count("listed") == again.count("already") == args.rows
        rows = [
            ("workbook", f"{args.rows:,} rows, {len(content) / 2**20:.1f} MiB"),
            ("read the sheet (calamine)", f"{read_s:.2f} s"),
            ("baseline: the same listings handled by the application",
             f"{direct_s:.1f} s ({args.rows / direct_s:,.0f} rows/s)"),
            ("dry run (validate, look up each row)",
             f"{dry_s:.1f} s ({dry_s / direct_s:.2f}x the baseline)"),
            ("commit (each row listed with its idempotency key)",
             f"{commit_s:.1f} s ({commit_s / direct_s:.2f}x the baseline)"),
            ("the same file again (every row already listed)",
             f"{again_s:.1f} s ({again_s / direct_s:.2f}x the baseline)"),
        ]  # fmt: skip
        report(f"Ledger import of {args.rows:,} rows", rows)


if __name__ == "__main__":
    main()
