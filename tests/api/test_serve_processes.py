"""`liandong serve --processes N`: several API processes on one port, on PostgreSQL; and
the HTTP protocol they run, which turns Nagle's algorithm off on every connection."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.server import ServerState

from api.http_protocol import NoDelayHTTPProtocol
from api.settings import store_env
from domain.application import Liandong
from tests.api.test_cli import CLI, env, free_port, liandong, wait_until_answering

TOWN = "town:degan"
__all__ = ["env"]  # the CLI tests' stores and broker, a fixture here too


class Transport:
    """Just enough of an asyncio transport for a protocol's connection_made."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"socket": self.sock, "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return False


def nodelay_after_connection(protocol: type[Any]) -> int:
    config = Config(app="bench.bare_app:app")
    config.load()
    # A socket as the multiprocess supervisor's listener hands it on: proto 0, Nagle on.
    # The protocol's own loop, given: asking for the current one fails once an earlier
    # test's asyncio.run has ended and left none.
    loop = asyncio.new_event_loop()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            made = protocol(config, ServerState(), app_state={}, _loop=loop)
            made.connection_made(Transport(sock))
            return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        loop.close()


def test_every_connection_has_nagles_algorithm_off() -> None:
    assert nodelay_after_connection(AutoHTTPProtocol) == 0  # uvicorn issue #3149
    assert nodelay_after_connection(NoDelayHTTPProtocol) == 1


@pytest.fixture
def pg_env(env: dict[str, str], postgres_store_url: str) -> dict[str, str]:
    return {**env, "LIANDONG_EVENT_STORE": postgres_store_url,
            "LIANDONG_VIEW_STORE": postgres_store_url}  # fmt: skip


@pytest.fixture
def two_processes(pg_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [CLI, "serve", "--processes", "2", "--port", str(port)],
        env=pg_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            process,
            lambda: httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200,
            (tmp_path / "serve.log").read_text,
            "serve --processes 2 never answered",
        )
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0


@pytest.mark.postgres
def test_two_api_processes_on_postgresql_record_every_command(
    pg_env: dict[str, str], two_processes: str, postgres_store_url: str, tmp_path: Path
) -> None:
    key = liandong(pg_env, "units", "issue-key", TOWN).strip().splitlines()[-1]

    def list_one(serial: int) -> int:
        # A connection each: the kernel spreads them over both processes' accept queues.
        response = httpx.post(
            f"{two_processes}/cases",
            json={"name": f"德感企业{serial}", "address": "德感街道", "town": TOWN},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(list_one, range(80)))
    assert answers == [201] * 80
    logged = access_lines(tmp_path / "serve.log", "/cases")
    assert len(logged) == 80, "each process logs each of its requests, once"
    assert {line["status"] for line in logged} == {201}
    assert {line["unit"] for line in logged} == {TOWN}
    store = Liandong(env=store_env(postgres_store_url))
    try:
        stored = store.recorder.select_notifications(1, 10_000)
        assert len([n for n in stored if n.topic.endswith(":EnterpriseListed")]) == 80
    finally:
        store.close()


def test_several_processes_cannot_run_the_workers_inside(env: dict[str, str]) -> None:
    refused = liandong(env, "serve", "--processes", "2", "--workers", expect=2)
    assert refused == ""


@pytest.mark.parametrize("count", ["0", "-3"])
def test_a_count_of_processes_below_one_is_refused(env: dict[str, str], count: str) -> None:
    liandong(env, "serve", "--processes", count, expect=2)


def access_lines(log: Path, path: str) -> list[dict[str, Any]]:
    """The access log's lines for `path`, JSON with a request id each; uvicorn's own
    plain access line is not written besides ours."""
    text = log.read_text()
    assert 'HTTP/1.1" ' not in text, "uvicorn's plain access line too"
    lines = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line["logger"] == "liandong.access"]
    assert len({line["request_id"] for line in logged}) == len(logged)
    return [line for line in logged if line["path"] == path]


def test_one_api_process_logs_each_request_once_as_json(
    env: dict[str, str], tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [CLI, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            process,
            lambda: httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200,
            log.read_text,
            "serve never answered",
        )
        for _ in range(3):
            httpx.get(f"{url}/enterprises", timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0

    logged = access_lines(log, "/enterprises")
    assert [line["status"] for line in logged] == [401, 401, 401]
