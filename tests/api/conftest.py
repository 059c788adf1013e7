from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import Services, bootstrap
from api.settings import Settings
from gateways.topics import ensure_topics


@dataclass
class Api:
    """The REST API in-process (TestClient), with an API key for every unit."""

    client: TestClient
    services: Services
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, unit: str) -> str:
        if unit not in self.keys:
            self.keys[unit] = self.services.keys.issue(unit, "test").key
        return self.keys[unit]

    def headers(self, unit: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(unit)}", **extra}

    def post(self, unit: str, path: str, body: dict[str, Any], **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(unit, **headers))

    def get(self, unit: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(unit))

    @property
    def events(self) -> int:
        return self.services.app.event_count()


def make_api(settings: Settings) -> Iterator[Api]:
    services = bootstrap(settings)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        api = Api(client, services)
        # Issuing a key is an event on the trail: every unit's key is issued up front, so
        # a test counting events sees only what its requests record.
        for unit in services.app.units.all():
            api.key(unit.id)
        yield api
    services.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Commands only: an in-memory event store, views on SQLite (keys, idempotency)."""
    tmp = tmp_path_factory.mktemp("api")
    yield from make_api(
        Settings(
            data_dir=tmp,
            event_store="memory://",
            view_store=f"sqlite:///{tmp / 'views.sqlite'}",
            kafka_bootstrap="127.0.0.1:1",
        )
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def system(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Api]:
    """The whole system: event store, relay, receipts, projections, over the real broker;
    views on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        views = f"sqlite:///{tmp_path / 'views.sqlite'}"
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        views = f"{dsn}?schema=api_{uuid.uuid4().hex[:10]}"
    settings = Settings(
        data_dir=tmp_path,
        event_store=f"sqlite:///{tmp_path / 'events.sqlite'}",
        view_store=views,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        relay_transactional_id=f"relay-{uuid.uuid4().hex[:8]}",
    )
    for api in make_api(settings):
        services, stop = api.services, threading.Event()
        workers = [
            services.relay().run,
            services.receipt_gateway(group_id=f"receipts-{settings.topic_prefix}").run,
            services.projection_runner("status").run,
            services.projection_runner("audit").run,
        ]
        threads = [threading.Thread(target=w, args=(stop,), daemon=True) for w in workers]
        ensure_topics(kafka_bootstrap, services.topics.all())  # the projections read the topic
        for thread in threads:
            thread.start()
        try:
            yield api
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)


def memory_settings(tmp_path: Path, **extra: Any) -> Settings:
    """Commands on an in-memory event store, views on SQLite, no broker."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "event_store": "memory://",
        "view_store": f"sqlite:///{tmp_path / 'views.sqlite'}",
        "kafka_bootstrap": "127.0.0.1:1",
    }
    return Settings(**{**values, **extra})


@contextmanager
def served_over_http(services: Services) -> Iterator[str]:
    """The app under uvicorn on a loopback port, in a thread (a real socket, for
    streams and browsers); yields its base URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs the test can fill, where mounting one is allowed (root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Writes until the disk is full. Unbuffered: a buffered file would keep the bytes
    the last write could not place, and raise ENOSPC again when closed."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
    return filler
