"""The district office's overview and the ledger page at city scale, beside a bare
FastAPI endpoint serving a page from memory, measured by the same client in one run.

    .venv/bin/python -m bench.bench_workbench [--events 2000000] [--requests 200]

The campaign is bench_inbox's (40,000 cases, 2,000,000 events on the bench broker,
projected into the status view on SQLite); `liandong serve` (one process) serves the
pages to a signed-in session, one request at a time. Goal (issue #14): p95 under
300 ms for the overview and the ledger.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import httpx

from bench.bench_api import start
from bench.bench_inbox import build_city, figures, issue_keys, measure
from bench.bench_projections import drop_topics
from bench.common import kafka_bootstrap, percentile, report

API = "http://127.0.0.1:18092"


def signed_in(client: httpx.Client, key: str) -> None:
    """Signs the client in as a browser does: the form's CSRF token, then the key."""
    form = client.get(f"{API}/app/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = client.post(f"{API}/app/login", data={"key": key, "csrf": csrf.group(1)})
    assert answer.status_code == 303, answer.text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    bootstrap_servers = kafka_bootstrap()
    with tempfile.TemporaryDirectory() as tmp_dir:
        city = build_city(Path(tmp_dir), args.events, bootstrap_servers)
        keys = issue_keys(city, bootstrap_servers, ("district-office", "town:degan"))
        env = city.env(bootstrap_servers)
        api = start([sys.executable, "-m", "api.cli", "serve", "--port", "18092"], env, 18092)
        bare = start(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", "18093",
             "--log-level", "warning"],
            {},
            18093,
        )  # fmt: skip
        office_pages = [
            ("GET /app/overview (督办总览)", "/app/overview"),
            ("GET /dashboard (the overview's model)", "/dashboard"),
            ("GET /app/ledger, first page and count", "/app/ledger"),
            ("GET /app/ledger?q= (a name's part, whole ledger scanned)", "/app/ledger?q=厂3"),
            ("GET /app/ledger, one town, overdue only",
             "/app/ledger?town=town:degan&overdue=on"),
            ("GET /app/ledger, a batch and a state",
             "/app/ledger?disposition=close&state=suspended"),
            ("GET /app/tasks?colour=red (every overdue item)", "/app/tasks?colour=red"),
        ]  # fmt: skip
        rows: list[tuple[str, str]] = [
            ("events on the topic / cases", f"{city.written:,} / {city.cases:,}"),
            ("open tasks in the view", f"{city.open_tasks:,}"),
        ]
        try:
            with httpx.Client(timeout=60) as client:
                base = measure(client, "http://127.0.0.1:18093/bare/items", {}, args.requests)
                base95 = percentile(base, 95)
                rows.append(
                    ("bare FastAPI page from memory, p50 / p95",
                     f"{percentile(base, 50):.1f} / {base95:.1f} ms"),
                )  # fmt: skip
            for reader in ("district-office", "town:degan"):
                with httpx.Client(timeout=60) as client:
                    signed_in(client, keys[reader])
                    bearer = {"Authorization": f"Bearer {keys[reader]}"}
                    pages = (
                        office_pages
                        if reader == "district-office"
                        else [("GET /app/ledger, a town's own", "/app/ledger")]
                    )
                    for title, path in pages:
                        lat = measure(client, f"{API}{path}", bearer, args.requests)
                        rows.append((f"{title}, p50 / p95 / p99", figures(lat, base95)))
        finally:
            for process in (api, bare):
                process.terminate()
                process.wait(timeout=30)
            drop_topics(bootstrap_servers, [city.topic])
        report(f"Workbench pages at {city.cases:,} cases, {city.written:,} events", rows)


if __name__ == "__main__":
    main()
