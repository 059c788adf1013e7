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
