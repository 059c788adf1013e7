"""Every command of the `liandong` CLI, run once as an operator would run it: the
installed console script, in its own process, against SQLite stores and the real broker."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.kafka
CLI = str(Path(sys.executable).with_name("liandong"))


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LIANDONG_EVENT_STORE": f"sqlite:///{tmp_path / 'events.sqlite'}",
        "LIANDONG_VIEW_STORE": f"sqlite:///{tmp_path / 'views.sqlite'}",
        "LIANDONG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIANDONG_TOPIC_PREFIX": f"cli{uuid.uuid4().hex[:8]}",
        "LIANDONG_DATA_DIR": str(tmp_path / "data"),
    }


def liandong(env: dict[str, str], *args: str, expect: int = 0) -> str:
    done = subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == expect, f"liandong {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def beating(env: dict[str, str], worker: str) -> bool:
    """Whether the worker's heartbeat is in the view store (what /health reads); a member of
    a consumer group beats as `worker@host:pid`."""
    path = env["LIANDONG_VIEW_STORE"].removeprefix("sqlite:///")
    try:
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT 1 FROM worker_status WHERE worker = ? OR worker LIKE ?",
                (worker, f"{worker}@%"),
            ).fetchall()
    except sqlite3.Error:
        return False
    return bool(rows)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answering(
    process: subprocess.Popen[Any],
    answers: Callable[[], bool],
    said: Callable[[], str],
    what: str,
    timeout_s: float = 120,
) -> None:
    """Waits for a server process to answer; fails with its output if it exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, said()
        try:
            if answers():
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    """`liandong serve --demo --workers`: the whole system in one process."""
    port = free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--demo", "--workers", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            process,
            lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200,
            lambda: process.stdout.read() if process.stdout else "",
            "serve --demo never answered /health with 200",
        )
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0


def test_unit_keys_are_issued_listed_rotated_and_revoked(env: dict[str, str]) -> None:
    assert "区政府办公室" in liandong(env, "units", "list")
    issued = liandong(env, "units", "issue-key", "economy", "--person", "张三", "--label", "t")
    key_id = issued.split("key ")[1].split()[0]
    listed = liandong(env, "units", "list-keys", "economy")
    assert key_id in listed
    assert "张三" in listed
    rotated = liandong(env, "units", "rotate-key", "economy", "--person", "张三")
    assert f"revoked {key_id}" in rotated
    new_id = rotated.split("new key ")[1].split(",")[0]
    assert "revoked" in liandong(env, "units", "revoke-key", new_id, "--reason", "离职")
    assert "revoked" in liandong(env, "units", "list-keys", "economy").splitlines()[-1]
    liandong(env, "units", "revoke-key", new_id, expect=1)  # nothing active to revoke
    liandong(env, "units", "issue-key", "nobody", expect=2)


def test_serve_demo_answers_health_and_the_views_export_and_verify(
    env: dict[str, str], server: str, tmp_path: Path
) -> None:
    keys = (Path(env["LIANDONG_DATA_DIR"]) / "demo-keys.txt").read_text(encoding="utf-8")
    office = next(line.split()[1] for line in keys.splitlines() if "district-office" in line)
    headers = {"Authorization": f"Bearer {office}"}
    deadline = time.monotonic() + 60
    while not httpx.get(f"{server}/enterprises", headers=headers).json()["items"]:
        assert time.monotonic() < deadline, "the demo ledger never reached the status view"
        time.sleep(0.2)
    head = httpx.get(f"{server}/audit/head", headers=headers).json()
    while head["position"] < 10:
        assert time.monotonic() < deadline
        time.sleep(0.2)
        head = httpx.get(f"{server}/audit/head", headers=headers).json()
    out = tmp_path / "trail.jsonl"
    liandong(env, "audit", "export", "--out", str(out))
    assert out.read_text(encoding="utf-8").count("\n") >= head["position"] - 1
    liandong(env, "audit", "verify", str(out))
    digests = liandong(env, "projections", "digest").split()
    assert digests[0] == "status"
    assert len(digests[1]) == 64


def test_the_receipts_gateway_runs_until_told_to_stop(env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [CLI, "receipts"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and not beating(env, "receipts"):
        assert time.monotonic() < deadline, "the receipts gateway never reported in"
        time.sleep(0.2)
    assert process.poll() is None, process.stdout.read() if process.stdout else ""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.mark.parametrize(
    ("variable", "given", "rule"),
    [
        ("LIANDONG_PROJECTION_BATCH_RECORDS", "0", "greater than or equal to 1"),
        ("LIANDONG_PROJECTION_BATCH_RECORDS", "Infinity", "valid integer"),
        ("LIANDONG_RELAY_IDLE_SECONDS", "-1", "greater than 0"),
        ("LIANDONG_PROJECTION_FEED_BACKLOG", "12\x01", "valid integer"),
    ],
)
def test_a_bad_setting_is_named_with_its_rule_and_nothing_starts(
    env: dict[str, str], variable: str, given: str, rule: str
) -> None:
    done = subprocess.run(
        [CLI, "projections", "run", "status"],
        env={**env, variable: given},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [said] = done.stderr.strip().splitlines()
    assert said.startswith(f"liandong projections: {variable}: ")
    assert rule in said
    assert given not in said  # a value is not echoed: a malformed one may be a secret
    assert not (Path(env["LIANDONG_VIEW_STORE"].removeprefix("sqlite:///"))).exists()
