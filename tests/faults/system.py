"""The whole system as an operator runs it, one process per role, for the fault suite:
`liandong serve` (the API), `relay`, `receipts` and `projections run`, over the real
broker, each of which the suite may SIGKILL and start again at any instant."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ROLES: dict[str, list[str]] = {
    "api": ["serve"],
    "relay": ["relay"],
    "receipts": ["receipts"],
    "projections": ["projections", "run"],
    # The projections split: the audit chain in one process, the status view shared out
    # among the processes of a consumer group.
    "audit": ["projections", "run", "audit"],
    "status-in-group": ["projections", "run", "status", "--in-group"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


@dataclass
class System:
    root: Path
    kafka_bootstrap: str
    view_store: str
    port: int = field(default_factory=free_port)
    prefix: str = field(default_factory=lambda: f"f{uuid.uuid4().hex[:10]}")
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)

    @property
    def event_store(self) -> str:
        return f"sqlite:///{self.root / 'events.sqlite'}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "LIANDONG_EVENT_STORE": self.event_store,
            "LIANDONG_VIEW_STORE": self.view_store,
            "LIANDONG_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "LIANDONG_TOPIC_PREFIX": self.prefix,
            "LIANDONG_API_PORT": str(self.port),
            "LIANDONG_RELAY_BATCH_SIZE": "50",
            **extra,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, role: str, name: str | None = None, **extra: str) -> None:
        """Starts a process of `role` as `name` (several processes may share a role)."""
        name = name or role
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *ROLES[role]],
            cwd=REPO,
            env=self.env(**extra),
            stdout=log,
            stderr=log,
        )
        if role == "api":
            wait_until(self.api_answers, "the API answered")

    def api_answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/openapi.json", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.kills[name] = self.kills.get(name, 0) + 1

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
