"""`liandong report --period 2026-W48`: the 督办 report as PDF or Excel, from the views,
the same document GET /reports/{period}.pdf serves. `liandong campaign`: a synthetic
campaign driven through the commands (api/campaign.py)."""

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
    campaign = sub.add_parser(
        "campaign", help="drive a synthetic campaign through the commands (an empty store)"
    )
    size = campaign.add_mutually_exclusive_group(required=True)
    size.add_argument("--enterprises", type=int, help="how many enterprises to list")
    size.add_argument("--scale", choices=["demo", "district", "city", "national"])
    campaign.add_argument("--seed", type=int, default=1, help="the same seed, the same campaign")
    campaign.add_argument(
        "--days-ago", type=int, default=300, help="when the campaign starts (its clock moves on)"
    )
    campaign.set_defaults(func=_campaign)


def _report(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.documents.names import unit_names
    from api.documents.pdf import NoChineseFont, chinese_font
    from api.documents.report_files import report_pdf, report_xlsx
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
        out.write_bytes(report_xlsx(made, unit_names(services.app.units)))
    else:
        try:
            font = chinese_font(services.settings.pdf_font)
        except NoChineseFont as missing:
            raise SystemExit(f"liandong report: {missing}") from None
        out.write_bytes(report_pdf(made, unit_names(services.app.units), font))
    t = made.total
    print(
        f"{out}: {period.name}, {len(made.towns)} towns, {len(made.units)} units; listed "
        f"{t.listed}, struck off {t.struck_off}, overdue {t.overdue}",
        flush=True,
    )
    services.close()
    return 0


def _campaign(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.campaign import SCALES, SettableClock, bar, campaign_start, run_campaign
    from api.store_lock import Held, exclusive

    count = args.enterprises if args.enterprises is not None else SCALES[args.scale]
    if count < 1:
        raise SystemExit("liandong campaign: --enterprises must be at least 1")
    clock = SettableClock(campaign_start(args.days_ago))
    services = bootstrap(clock=clock)
    try:
        # Held until the campaign ends: a second one started meanwhile would also find
        # the store empty and interleave its cases with this one's.
        with exclusive(services.settings.event_store, "campaign"):
            if services.app.has_cases():
                raise SystemExit(
                    "liandong campaign: the event store already holds cases; a campaign is "
                    "generated into an empty one (LIANDONG_EVENT_STORE, LIANDONG_DATA_DIR)"
                )
            before = services.app.event_count()
            figures = run_campaign(services.app, clock, count, args.seed, progress=bar)
    except Held:
        raise SystemExit(
            "liandong campaign: another campaign is being generated into this event store; "
            "wait for it to end"
        ) from None
    print(
        f"{figures.enterprises} enterprises, {figures.commands} commands, "
        f"{services.app.event_count() - before} events (seed {args.seed})",
        flush=True,
    )
    for step, n in sorted(figures.steps.items()):
        print(f"  {step:20} {n}")
    for why, n in sorted(figures.refused.items()):
        print(f"  refused {n}: {why}")
    services.close()
    return 1 if figures.refused else 0
