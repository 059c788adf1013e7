"""`liandong ledger export FILE`: the ledger and the three lists as an Excel workbook,
from the status view, filtered as GET /ledger/export.xlsx is."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from domain.values import CaseState, Disposition


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = sub.add_parser("ledger", help="the ledger in Excel")
    lsub = ledger.add_subparsers(dest="ledger_command", required=True)
    export = lsub.add_parser("export", help="write the ledger and the three lists as .xlsx")
    export.add_argument("file", type=Path)
    export.add_argument("--town", help="one town's (e.g. town:degan)")
    export.add_argument("--disposition", choices=[d.value for d in Disposition] + ["unclassified"])
    export.add_argument("--state", choices=[s.value for s in CaseState])
    export.add_argument("--since", type=date.fromisoformat, help="listed on or after YYYY-MM-DD")
    export.add_argument("--until", type=date.fromisoformat, help="listed on or before")
    export.set_defaults(func=_export)
    load = lsub.add_parser("import", help="list a town's ledger from .xlsx or .csv")
    load.add_argument("file", type=Path)
    load.add_argument("--town", required=True, help="the town whose ledger it is")
    load.add_argument("--dry-run", action="store_true", help="report only; record nothing")
    load.add_argument("--as", dest="unit", help="the importing unit (default: the town)")
    load.set_defaults(func=_import)


def _export(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.routers.ledger import listed_between, town_names
    from projections.ledger_xlsx import export_ledger
    from projections.queries import CaseFilter

    services = bootstrap()
    if args.town and args.town not in services.app.units.territories():
        raise SystemExit(f"liandong ledger export: no town {args.town!r}")
    chosen = CaseFilter(
        town=args.town,
        disposition=args.disposition,
        state=args.state,
        listed=listed_between(args.since, args.until),
    )
    count = export_ledger(
        services.db, datetime.now(tz=UTC), chosen, args.file, town_names(services)
    )
    print(f"{args.file}: {count} cases", flush=True)
    services.close()
    return 0


def _import(args: argparse.Namespace) -> int:
    import sys

    from api.bootstrap import bootstrap
    from domain.values import Actor
    from gateways.ledger_import import import_ledger, report_lines
    from gateways.ledger_sheet import read_path

    services = bootstrap()
    if args.town not in services.app.units.territories():
        raise SystemExit(f"liandong ledger import: no town {args.town!r}")
    try:
        sheet = read_path(args.file)
    except (OSError, ValueError) as unreadable:
        raise SystemExit(f"liandong ledger import: {args.file}: {unreadable}") from None

    def progress(done: int, total: int) -> None:
        filled = done * 30 // max(total, 1)
        print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", end="", file=sys.stderr)

    report = import_ledger(
        services.app,
        Actor(unit=args.unit or args.town),
        args.town,
        sheet,
        commit=not args.dry_run,
        progress=progress,
    )
    print(file=sys.stderr)
    print("\n".join(report_lines(report)), flush=True)
    services.close()
    return 1 if report.count("error") else 0
