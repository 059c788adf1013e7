"""Every benchmark, one after another, at one scale: `./dev bench [--scale district|city]`.

Each benchmark runs in its own process against the real broker and PostgreSQL and
prints its figures beside the baselines it measures in the same run. The figures that
come as JSON (the API under open-loop load, the projections scaled out) are gathered
into docs/benchmarks.json with the date and scale, and drawn as docs/benchmarks.png
(each figure as a ratio to its baseline), which docs/benchmarks.md shows.

District scale is sized to finish in about 15 minutes on this project's 2-core machine;
city scale fills the read-side benchmarks with 2,000,000 events and takes much longer.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chart import draw
from bench.common import REPO

EVENTS = {"district": "100000", "city": "2000000"}


def plan(scale: str, json_dir: Path) -> list[tuple[str, list[str]]]:
    """(benchmark module, its arguments) for the scale, in the order they run."""
    events = EVENTS[scale]
    quick = scale == "district"
    return [
        ("bench_commands", ["--repeats", "1" if quick else "3"]),
        ("bench_relay", []),
        ("bench_projections", ["--events", events]),
        ("bench_scale_out", ["--scale", scale, "--json", str(json_dir / "scale_out.json")]),
        (
            "bench_api",
            ["--seconds", "5" if quick else "10", "--json", str(json_dir / "api.json")],
        ),
        ("bench_inbox", ["--events", events, "--requests", "200"]),
        ("bench_workbench", ["--events", events, "--requests", "100"]),
        ("bench_ledger_export", ["--events", events]),
        ("bench_ledger_import", ["--rows", "2000" if quick else "10000"]),
        ("bench_webhooks", ["--seconds", "20" if quick else "60"]),
        ("bench_idle", ["--seconds", "15", "--rounds", "2"] if quick else []),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="./dev bench")
    parser.add_argument("--scale", choices=sorted(EVENTS), default="district")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (module names)")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where the JSON and PNG go")
    args = parser.parse_args()
    started, failed = time.monotonic(), []
    durations: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        json_dir = Path(tmp)
        for module, bench_args in plan(args.scale, json_dir):
            if args.only and module not in args.only:
                continue
            print(f"\n=== {module} {' '.join(bench_args)}", flush=True)
            began = time.monotonic()
            done = subprocess.run([sys.executable, "-m", f"bench.{module}", *bench_args], cwd=REPO)
            durations[module] = round(time.monotonic() - began, 1)
            if done.returncode != 0:
                failed.append(module)
        figures: dict[str, Any] = {
            "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "scale": args.scale,
            "seconds": durations,
        }
        for name in ("scale_out", "api"):
            path = json_dir / f"{name}.json"
            if path.exists():
                figures[name] = json.loads(path.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    draw(figures, args.out / "benchmarks.png")
    total = time.monotonic() - started
    print(f"\nall benchmarks: {total / 60:.1f} min at {args.scale} scale; figures in "
          f"{args.out / 'benchmarks.json'}, chart in {args.out / 'benchmarks.png'}")  # fmt: skip
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
