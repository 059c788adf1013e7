"""Exporting the ledger of a city (40,000 cases) to Excel: wall time and peak memory,
beside reading the same cases from the view without writing anything, each in a
process of its own so that its peak memory is its own.

    .venv/bin/python -m bench.bench_ledger_export [--views sqlite:///path] [--events N]

Without --views, bench_inbox's city is built first (2,000,000 events on the bench
broker, projected into a status view on SQLite)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import report

CHILD = """
import json, resource, sys, time
from datetime import UTC, datetime
from projections.db import Database
from projections.queries import CaseFilter
from projections.ledger_xlsx import cases_of, export_ledger
db = Database(sys.argv[1])
started = time.perf_counter()
if sys.argv[2] == "read":
    count = sum(1 for _ in cases_of(db, datetime.now(tz=UTC), CaseFilter()))
else:
    count = export_ledger(db, datetime.now(tz=UTC), CaseFilter(), sys.argv[3], {})
elapsed = time.perf_counter() - started
print(json.dumps({"count": count, "seconds": elapsed,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(views: str, mode: str, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, views, mode, str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", help="an existing status view (sqlite:///... or postgresql://)")
    parser.add_argument("--events", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        views = args.views
        if views is None:
            from bench.bench_inbox import build_city
            from bench.bench_projections import drop_topics
            from bench.common import kafka_bootstrap

            bootstrap_servers = kafka_bootstrap()
            city = build_city(tmp, args.events, bootstrap_servers)
            drop_topics(bootstrap_servers, [city.topic])
            views = city.views
        out = tmp / "ledger.xlsx"
        read = run(views, "read", out)
        written = run(views, "export", out)
        rows = [
            ("cases", f"{int(written['count']):,}"),
            ("read every case from the view (baseline): time, peak memory",
             f"{read['seconds']:.1f} s, {read['peak_mib']:.0f} MiB"),
            ("export the ledger workbook: time, peak memory",
             f"{written['seconds']:.1f} s, {written['peak_mib']:.0f} MiB "
             f"({written['seconds'] / read['seconds']:.1f}x the time, "
             f"{written['peak_mib'] - read['peak_mib']:+.0f} MiB)"),
            ("workbook size", f"{out.stat().st_size / 2**20:.1f} MiB"),
        ]  # fmt: skip
        report(f"Ledger export ({datetime.now(tz=UTC):%Y-%m-%d})", rows)


if __name__ == "__main__":
    main()
