"""Every actor is a person of a unit, named by the key (DOMAIN.md 12): keys belong to
persons, issuing and revoking them is on the audit trail, nothing the client asserts
besides the key is trusted, failed authentication is slowed, and every response carries
security headers."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.settings import Settings
from domain.credentials import KeyIssued, KeyRevoked, credential_id
from projections.workers import Beacon
from tests.api.conftest import Api, make_api
from tests.api.test_bad_input import TOWN, listing, refused


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Api]:
    """An API of this test's own (the throttle remembers failures for a minute)."""
    yield from make_api(
        Settings(
            event_store="memory://",
            view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
            kafka_bootstrap="127.0.0.1:1",
        )
    )


def test_the_person_acting_is_the_holder_of_the_key(fresh: Api) -> None:
    issued = fresh.services.keys.issue("economy", "desk", person="李四")
    case_id = fresh.post(TOWN, "/cases", listing()).json()["created"]["case_id"]
    body = {"disposition": "close", "reason": "关停", "deadline": "2030-01-01T00:00:00+08:00"}
    response = fresh.client.post(
        f"/cases/{case_id}/classify",
        json=body,
        headers={"Authorization": f"Bearer {issued.key}"},
    )
    assert response.status_code == 200, response.text
    timeline = fresh.get("district-office", f"/enterprises/{case_id}/timeline").json()
    classified = [e for e in timeline if e["event"] == "Classified"]
    assert [(e["unit"], e["person"]) for e in classified] == [("economy", "李四")]


def test_a_client_cannot_name_another_person(fresh: Api) -> None:
    before = fresh.events
    response = fresh.post(TOWN, "/cases", listing(), **{"X-Person": "director-wang"})
    refused(fresh, response, 400, "person_from_key", "X-Person")
    assert fresh.events == before


def test_two_authorization_headers_are_refused(fresh: Api) -> None:
    before = fresh.events
    response = fresh.client.post(
        "/cases",
        json=listing(),
        headers=[
            ("Authorization", f"Bearer {fresh.key(TOWN)}"),
            ("Authorization", f"Bearer {fresh.key('town:baisha')}"),
        ],
    )
    refused(fresh, response, 400, "ambiguous_credentials", "Authorization")
    assert fresh.events == before


def test_an_x_api_key_header_is_not_a_credential(fresh: Api) -> None:
    response = fresh.client.post("/cases", json=listing(), headers={"X-API-Key": fresh.key(TOWN)})
    refused(fresh, response, 401, "unauthenticated")


def test_issuing_and_revoking_keys_are_on_the_trail(fresh: Api) -> None:
    keys, app = fresh.services.keys, fresh.services.app
    issued = keys.issue("market", "inspector", person="赵六")
    assert keys.revoke(issued.key_id, reason="left the bureau")
    events = list(app.events.get(credential_id(issued.key_id)))
    assert [type(e) for e in events] == [KeyIssued, KeyRevoked]
    first, second = events
    assert isinstance(first, KeyIssued)
    assert isinstance(second, KeyRevoked)
    assert (first.unit, first.person, first.key_id) == ("market", "赵六", issued.key_id)
    assert second.reason == "left the bureau"
    assert issued.key.split("_", 2)[2] not in str(first.model_dump())  # the secret is not kept
    response = fresh.client.get("/enterprises", headers={"Authorization": f"Bearer {issued.key}"})
    refused(fresh, response, 401, "invalid_key")


def test_the_command_line_issues_a_key_to_a_person_on_the_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIANDONG_DATA_DIR", str(tmp_path))
    assert main(["units", "issue-key", "ecology", "--person", "钱七", "--by", "admin"]) == 0
    key_id = capsys.readouterr().out.split("key ")[1].split()[0]
    assert main(["units", "list-keys", "ecology"]) == 0
    assert "钱七" in capsys.readouterr().out
    assert main(["units", "revoke-key", key_id, "--reason", "lost"]) == 0
    from api.bootstrap import bootstrap

    services = bootstrap(Settings())
    kinds = [type(e).__name__ for e in services.app.events.get(credential_id(key_id))]
    services.close()
    assert kinds == ["KeyIssued", "KeyRevoked"]


def test_failed_authentication_is_slowed_and_counted(fresh: Api) -> None:
    for attempt in range(10):
        response = fresh.client.get(
            "/enterprises", headers={"Authorization": f"Bearer ld_guess{attempt}_nope"}
        )
        assert response.status_code == 401
    throttled = fresh.client.get("/enterprises", headers=fresh.headers(TOWN))
    refused(fresh, throttled, 429, "too_many_failures", "Authorization")
    assert throttled.headers["Retry-After"] == "60"
    metrics = fresh.client.get("/metrics").text
    assert 'liandong_auth_refused_total{reason="invalid_key"}' in metrics
    assert 'liandong_auth_refused_total{reason="throttled"}' in metrics


def test_every_response_carries_security_headers(fresh: Api) -> None:
    for response in (
        fresh.get(TOWN, "/enterprises"),
        fresh.client.get("/enterprises"),
        fresh.client.post("/cases", content=b"x" * 2_000_000, headers=fresh.headers(TOWN)),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def with_metrics_token(tmp_path: Path) -> Any:
    """A deployment whose monitoring system has a token (and whose broker is down)."""
    return Settings(
        event_store="memory://",
        view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
        kafka_bootstrap="127.0.0.1:1",
        metrics_token="scrape-me",
    )


def test_metrics_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    settings = with_metrics_token(tmp_path)
    for api in make_api(settings):
        assert api.client.get("/metrics").status_code == 403
        assert api.client.get("/metrics", headers=api.headers("district-office")).status_code == 403
        ok = api.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200


def test_each_version_of_the_units_registry_is_on_the_trail(tmp_path: Path) -> None:
    """The registry is data the district office edits: a process that starts with a
    changed file records what changed; one that starts with the same file records nothing."""
    from api.bootstrap import bootstrap
    from domain.registry_record import (
        REGISTRY_RECORD_ID,
        UnitsRegistryAdopted,
        UnitsRegistryChanged,
    )
    from domain.units import DEFAULT_UNITS

    store = f"sqlite:///{tmp_path / 'events.sqlite'}"

    def start(units_file: Path | None) -> list[Any]:
        services = bootstrap(
            Settings(
                event_store=store,
                view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
                units_file=units_file,
            )
        )
        events = list(services.app.events.get(REGISTRY_RECORD_ID))
        services.close()
        return events

    assert [type(e) for e in start(None)] == [UnitsRegistryAdopted]
    assert [type(e) for e in start(None)] == [UnitsRegistryAdopted], "same file: nothing new"
    edited = json.loads(DEFAULT_UNITS.read_text(encoding="utf-8"))
    edited["units"] = [u for u in edited["units"] if u["id"] != "town:baisha"]
    edited["roles"]["ecology"] = [*edited["roles"]["ecology"], "strike_off"]
    units_file = tmp_path / "units.json"
    units_file.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    events = start(units_file)
    assert [type(e) for e in events] == [UnitsRegistryAdopted, UnitsRegistryChanged]
    change = events[1]
    assert isinstance(change, UnitsRegistryChanged)
    assert change.removed_units == ["town:baisha"]
    assert change.changed_roles == ["ecology"]
    assert change.actor.unit == "district-office"


def test_health_tells_anyone_what_is_down_and_only_monitoring_why(tmp_path: Path) -> None:
    """A load balancer needs the status; an error's text (the broker's address here) and
    each process's host and pid are for the monitoring system."""
    settings = with_metrics_token(tmp_path)
    for api in make_api(settings):
        where = f"{socket.gethostname()}:{os.getpid()}"
        Beacon(settings.view_store, "projection:status", member=True).report(
            "failed", lag=3, error="OperationalError: connection to server at 10.0.0.5 failed"
        )

        told = api.client.get("/health", headers=api.headers("district-office"))
        full = api.client.get("/health", headers={"Authorization": "Bearer scrape-me"})

        assert told.status_code == full.status_code == 503
        assert told.json()["checks"]["kafka"]["status"] == "down"
        assert told.json()["checks"]["projection:status"]["status"] == "down"
        assert set(told.json()["checks"]) == set(full.json()["checks"])
        for hidden in ("127.0.0.1:1", where, "10.0.0.5"):
            assert hidden not in told.text
            assert hidden in full.text
        assert "LIANDONG_METRICS_TOKEN" in told.json()["note"]
