"""Deployment tells the truth: an installed package keeps its data where the settings say
(never under site-packages) and finds its units registry as package data; the compose
file runs every process, each with a command that exists and the view store set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_an_installed_package_keeps_its_data_in_the_data_directory(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "office"
    elsewhere.mkdir()
    probe = (
        "from api.settings import Settings; from domain.units import default_registry; "
        "s = Settings(); print(s.event_store); print(s.view_store); "
        "print(len(default_registry().all()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0] == f"sqlite:///{elsewhere / '.data' / 'liandong-events.sqlite'}"
    assert out[1] == f"sqlite:///{elsewhere / '.data' / 'liandong-views.sqlite'}"
    assert int(out[2]) > 40, "the units registry was read from the installed package"
    assert not list(target.rglob("*.sqlite"))


def compose() -> dict[str, dict[str, object]]:
    loaded = yaml.safe_load((REPO / "infra" / "docker-compose.yml").read_text())
    services: dict[str, dict[str, object]] = loaded["services"]
    return services


def test_the_compose_file_runs_every_process_with_the_view_store_set() -> None:
    services = compose()
    runs = {" ".join(map(str, s["command"])) for s in services.values() if "command" in s}  # type: ignore[call-overload]
    assert runs == {
        "liandong serve",
        "liandong relay",
        "liandong receipts",
        "liandong projections run status",
        "liandong projections run audit",
        "liandong reminders",
        "liandong notify",
    }
    for name, service in services.items():
        if name in ("kafka", "postgres"):
            continue
        env = service["environment"]
        assert isinstance(env, dict)
        assert env["LIANDONG_VIEW_STORE"].startswith("postgresql://"), name
        assert env["LIANDONG_EVENT_STORE"].startswith("postgresql://"), name


@pytest.mark.parametrize("name", [n for n in compose() if n not in ("kafka", "postgres")])
def test_each_compose_command_exists(name: str) -> None:
    command = compose()[name]["command"]
    assert isinstance(command, list)
    assert command[0] == "liandong"
    with pytest.raises(SystemExit) as exited:
        main([*command[1:], "--help"])
    assert exited.value.code == 0
