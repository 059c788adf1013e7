"""A real browser against the running app: Debian's Chromium, headless, driven by
Playwright, kept off every network but the app's own (docs/decisions.md, "Workbench")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.bootstrap import Services, bootstrap
from projections.status import StatusProjection
from tests.api.conftest import memory_settings, served_over_http
from tests.domain import parity

CHROMIUM = "/usr/bin/chromium"
# Assertions wait for their condition up to this long: generous, for a busy machine.
expect.set_options(timeout=20_000)
OFF_THE_NETWORK = [
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "./dev test installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=OFF_THE_NETWORK)
        yield browser
        browser.close()


@dataclass
class Served:
    services: Services
    url: str
    projection: StatusProjection
    applied: int = 0

    def key(self, unit: str, person: str | None = None) -> str:
        return self.services.keys.issue(unit, "browser test", person=person).key

    _lock: threading.Lock = field(default_factory=threading.Lock)

    def project(self) -> None:
        """Feeds the events stored since the last call to the status view, as its runner
        would from the topic."""
        with self._lock:
            records = parity.records(self.services.app)
            with self.services.db.transaction() as tx:
                self.projection.apply_all(tx, records[self.applied :])
            self.applied = len(records)

    @contextmanager
    def projecting(self) -> Iterator[None]:
        """The status view follows the store by itself meanwhile, as its runner does."""
        stop = threading.Event()

        def follow() -> None:
            while not stop.wait(0.1):
                self.project()

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    services = bootstrap(memory_settings(tmp_path))
    with served_over_http(services) as url:
        yield Served(services, url, StatusProjection())
    services.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def axe(pytestconfig: pytest.Config) -> Path:
    """axe-core, vendored (the tests run off the network)."""
    return pytestconfig.rootpath / "tests" / "browser" / "vendor" / "axe.min.js"


@pytest.fixture
def screenshots(pytestconfig: pytest.Config) -> Path:
    """Where the tests keep a screenshot of each page (the README shows a few)."""
    folder = pytestconfig.rootpath / ".data" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def accessibility_problems(page: Page, axe: Path) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.add_script_tag(path=str(axe))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run()).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return found


@pytest.fixture
def audit_page(chromium: Browser) -> Iterator[Page]:
    """A page whose content security policy lets the test inject axe-core (the app's
    own pages run no inline script; the other pages keep the policy on)."""
    context = chromium.new_context(locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()
