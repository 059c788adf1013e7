"""What an idle system costs, and how fast it still answers: `liandong serve --demo
--workers` (the API with the relay, receipts, projections, reminders and notify in one
process, as `./dev up` runs it) is left alone for a while and its CPU time measured from
/proc, beside a bare uvicorn app idle for as long (the baseline). Then a utility order is
requested and timed from the POST to its arrival on the power company's topic.

    python -m bench.bench_idle [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from kafka import KafkaConsumer

from bench.bench_api import start
from bench.common import kafka_bootstrap, percentile, report
from domain.values import Utility
from gateways.topics import Topics

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_share(pid: int, seconds: float) -> float:
    """The share of one core a process used while left alone for `seconds`."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def demo_key(data: Path, unit: str) -> str:
    for line in (data / "demo-keys.txt").read_text().splitlines():
        if line.split()[:1] == [unit]:
            return line.split()[-1]
    raise RuntimeError(f"no demo key for {unit}")


def order_latency(
    base: str, keys: dict[str, str], bootstrap: str, prefix: str, rounds: int
) -> list[float]:
    """From the POST of a utility order to its arrival on the power topic, after idling."""
    consumer = KafkaConsumer(
        Topics(prefix=prefix).orders(Utility.POWER).name,
        bootstrap_servers=bootstrap,
        group_id=f"bench-idle-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="latest",
        isolation_level="read_committed",
    )
    consumer.poll(timeout_ms=3000)  # joins the group and takes its partitions
    town, economy = (
        {"Authorization": f"Bearer {keys[unit]}"} for unit in ("town:degan", "economy")
    )
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(rounds):
            listed = client.post(
                "/cases", headers=town,
                json={
                    "name": f"空闲测试企业{n}", "address": "德感街道", "town": "town:degan",
                    "connections": [{"utility": "power", "account": f"P-idle-{n}"}],
                },
            ).json()  # fmt: skip
            case = f"/cases/{listed['created']['case_id']}"
            for path, headers, body in (
                ("/classify", economy, {"disposition": "close", "reason": "bench",
                                        "deadline": deadline, "document_number": f"B{n}"}),
                ("/concur-classification", town, {"agree": True}),
            ):  # fmt: skip
                client.post(case + path, headers=headers, json=body).raise_for_status()
            time.sleep(3)  # the system idles again before the timed request
            started = time.perf_counter()
            answer = client.post(
                f"{case}/request-utility-order", headers=economy,
                json={
                    "utility": "power", "kind": "cut", "grounds": "close_classification",
                    "document_number": f"江津经信〔2026〕停电{n}号", "deadline": deadline,
                },
            )  # fmt: skip
            if answer.status_code >= 300:
                raise RuntimeError(answer.text)
            while not any(consumer.poll(timeout_ms=50).values()):
                pass
            latencies.append((time.perf_counter() - started) * 1000)
    consumer.close()
    return latencies


QUIET_SECONDS = 35.0  # longer than the reminders' interval (30 s)


def settled(url: str, timeout_s: float) -> None:
    """Until /health is ok, every worker reports a lag of 0, and no event has been recorded
    for QUIET_SECONDS. Health is ok long before, while the views catch up; then the
    reminders' first passes record work of their own on the demo campaign (a reminder
    for each overdue task, a supervision notice and its task, reminders for those)."""
    deadline = time.monotonic() + timeout_s
    count, since = "", time.monotonic()
    while True:
        answer = httpx.get(url, timeout=10)
        checks = answer.json()["checks"]
        lags = [c["detail"] for c in checks.values() if "lag " in c["detail"]]
        recorded = checks["event_store"]["detail"]
        if recorded != count:
            count, since = recorded, time.monotonic()
        caught_up = answer.status_code == 200 and lags and all("lag 0" in d for d in lags)
        if caught_up and time.monotonic() - since >= QUIET_SECONDS:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the system never settled: {checks}")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bootstrap = kafka_bootstrap()
    with tempfile.TemporaryDirectory() as tmp:
        data, prefix = Path(tmp), f"idle{uuid.uuid4().hex[:6]}"
        env = {
            "LIANDONG_DATA_DIR": str(data),
            "LIANDONG_KAFKA_BOOTSTRAP": bootstrap,
            "LIANDONG_TOPIC_PREFIX": prefix,
            "LIANDONG_RELAY_TRANSACTIONAL_ID": f"relay-{prefix}",
        }
        system = start(
            [sys.executable, "-m", "api.cli", "serve", "--demo", "--workers", "--port", "18095"],
            env,
            18095,
        )
        bare = start(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", "18096",
             "--log-level", "warning"],
            {},
            18096,
        )  # fmt: skip
        try:
            settled("http://127.0.0.1:18095/health", timeout_s=300)
            time.sleep(5)  # the last batches' heartbeats and commits: now nothing happens
            system_share = idle_share(system.pid, args.seconds)
            bare_share = idle_share(bare.pid, args.seconds)
            keys = {u: demo_key(data, u) for u in ("town:degan", "economy")}
            latencies = order_latency(
                "http://127.0.0.1:18095", keys, bootstrap, prefix, args.rounds
            )
        finally:
            for process in (system, bare):
                process.terminate()
                process.wait(timeout=30)
    report(
        f"Idle cost over {args.seconds:.0f} s, and a utility order after idling",
        [
            ("bare uvicorn app, idle (baseline)", f"{bare_share:.2%} of a core"),
            ("serve --demo --workers, idle", f"{system_share:.2%} of a core"),
            (
                "request-utility-order to the power topic, after 3 s idle, p50 / max",
                f"{percentile(latencies, 50):.0f} / {max(latencies):.0f} ms",
            ),
        ],
    )


if __name__ == "__main__":
    main()
