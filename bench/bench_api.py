"""A command endpoint beside a bare FastAPI endpoint, on the same machine, in one run.

    .venv/bin/python -m bench.bench_api [--seconds 10] [--concurrency 16]

Both run under uvicorn (one process each, started here). The load generator is an
asyncio httpx client in this process. Measured: the maximum requests per second each
sustains, then p50/p99 latency of the command endpoint at a fixed offered load of half
its measured maximum. The command is `deny-approval` (one event) spread over 300 cases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import REPO, percentile, report

BODY = {"approval_kind": "filing", "application_ref": "2021-1", "reason": "listed"}


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on {port} did not start")


async def saturate(
    url_of: list[str], headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[float, int]:
    done = errors = 0
    stop_at = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal done, errors
        i = offset
        while time.monotonic() < stop_at:
            response = await client.post(url_of[i % len(url_of)], json=BODY, headers=headers)
            errors += response.status_code >= 300
            done += 1
            i += concurrency

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client, k) for k in range(concurrency)))
        return done / (time.monotonic() - started), errors


async def fixed_load(
    url_of: list[str], headers: dict[str, str], rate: float, seconds: float
) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=256), timeout=30) as client:

        async def one(i: int) -> None:
            started = time.perf_counter()
            await client.post(url_of[i % len(url_of)], json=BODY, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies


def prepare(env: dict[str, str], cases: int) -> tuple[str, list[str]]:
    """Issues keys and lists `cases` enterprises through the API's own stores."""
    code = f"""
import json
from api.bootstrap import bootstrap
from domain import commands as c
from domain.values import Actor
s = bootstrap()
town = s.keys.issue("town:degan", "bench").key
ecology = s.keys.issue("ecology", "bench").key
ids = [str(s.app.handle(Actor(unit="town:degan"), c.ListEnterprise(
    name=f"e{{i}}", address="a", town="town:degan")).aggregate_id) for i in range({cases})]
print(json.dumps({{"key": ecology, "ids": ids}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["key"], data["ids"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "LIANDONG_EVENT_STORE": f"sqlite:///{Path(tmp) / 'events.sqlite'}",
            "LIANDONG_VIEW_STORE": f"sqlite:///{Path(tmp) / 'views.sqlite'}",
            "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        }
        key, ids = prepare(env, 300)
        api = start([sys.executable, "-m", "api.cli", "serve", "--port", "18080"], env, 18080)
        bare = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                "18081",
                "--log-level",
                "warning",
            ],
            env,
            18081,
        )
        try:
            headers = {"Authorization": f"Bearer {key}"}
            command_urls = [f"http://127.0.0.1:18080/cases/{i}/deny-approval" for i in ids]
            bare_urls = [f"http://127.0.0.1:18081/bare/{i}" for i in ids]
            bare_rate, _ = asyncio.run(saturate(bare_urls, headers, args.seconds, args.concurrency))
            command_rate, errors = asyncio.run(
                saturate(command_urls, headers, args.seconds, args.concurrency)
            )
            latencies = asyncio.run(
                fixed_load(command_urls, headers, command_rate / 2, args.seconds)
            )
        finally:
            api.terminate()
            bare.terminate()
            api.wait(timeout=30)
            bare.wait(timeout=30)
    report(
        "bench_api: one uvicorn process each, client in this process",
        [
            ("bare FastAPI endpoint", f"{bare_rate:,.0f} requests/s"),
            (
                "command endpoint",
                f"{command_rate:,.0f} requests/s ({errors} non-2xx), "
                f"{command_rate / bare_rate:.2f} of bare",
            ),
            (
                f"command p50 / p99 at {command_rate / 2:,.0f}/s",
                f"{percentile(latencies, 50):.1f} ms / {percentile(latencies, 99):.1f} ms",
            ),
        ],
    )


if __name__ == "__main__":
    main()
