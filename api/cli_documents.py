"""`liandong report --period 2026-W48`: the 督办 report as PDF or Excel, from the views,
the same document GET /reports/{period}.pdf serves."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="the weekly or monthly 督办 report (PDF or Excel)")
    report.add_argument(
        "--period", required=True, help="an ISO week (2026-W48) or a month (2026-11)"
    )
    report.add_argument("--format", choices=["pdf", "xlsx"], default="pdf")
    report.add_argument("--town", help="only this town (e.g. town:degan)")
    report.add_argument("--out", type=Path, help="where to write (default: report-PERIOD.FMT)")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.documents.pdf import NoChineseFont, chinese_font
    from api.documents.report_files import report_pdf, report_xlsx
    from api.routers.reports import namer
    from projections.reports import parse_period, report

    period = parse_period(args.period)
    if period is None:
        raise SystemExit(
            f"liandong report: --period {args.period!r} is neither a week (2026-W48) nor a "
            "month (2026-11)"
        )
    services = bootstrap()
    if args.town and args.town not in services.app.units.territories():
        raise SystemExit(f"liandong report: no town {args.town!r}")
    made = report(services.db, period, datetime.now(UTC), town=args.town)
    out: Path = args.out or Path(f"report-{period.name}.{args.format}")
    if args.format == "xlsx":
        out.write_bytes(report_xlsx(made, namer(services)))
    else:
        try:
            font = chinese_font(services.settings.pdf_font)
        except NoChineseFont as missing:
            raise SystemExit(f"liandong report: {missing}") from None
        out.write_bytes(report_pdf(made, namer(services), font))
    t = made.total
    print(
        f"{out}: {period.name}, {len(made.towns)} towns, {len(made.units)} units; listed "
        f"{t.listed}, struck off {t.struck_off}, overdue {t.overdue}",
        flush=True,
    )
    services.close()
    return 0
