"""The adversarial input suite: every command's every field, and every query parameter,
given hostile values (non-finite and huge numbers, NUL and control characters, lone
surrogates, very long strings, wrong types, extreme dates). Each request gets a 4xx and
records nothing, or it is stored, loads again, projects into both view stores (SQLite and
PostgreSQL) through the real broker, and exports an audit trail that verifies.

Event stores: SQLite and PostgreSQL. Hypothesis prints the falsifying request.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.settings import Settings
from domain.actions import Action
from domain.case_lifecycle import CORRECTABLE
from projections.audit import AuditProjection, iter_entries
from projections.db import Database
from projections.export import jsonl_lines, read_export, verify
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from tests.api.conftest import Api, make_api
from tests.api.test_permissions import PREPARE, REGISTRY, UNITS, Prep

pytestmark = pytest.mark.kafka

HOSTILE_TEXT = [
    "\x00",
    "名称\x00",
    "\ud800",
    "a\udfffb",
    "\x1b[31mred",
    "\x07\x08",
    "\x85",
    " ",
    "\u200b\u200b",
    "\ufeff",
    "\u202eevil",
    "x" * 100_000,
    "长" * 5_000,
    "'; DROP TABLE status_cases; --",
    "%s%s%n",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
HOSTILE_MOMENTS = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "2026-11-29T25:00:00Z",
    "2026-11-29",
    "NaN",
    "Infinity",
    "1e999",
]
HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1e13]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_MOMENTS),
    st.text(max_size=20),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(HOSTILE_TEXT[:6]), max_size=3),
    st.dictionaries(st.text(max_size=4), st.sampled_from(HOSTILE_TEXT[:6]), max_size=2),
)
PERMITTED = {action: next(u for u in UNITS if REGISTRY.permits(u, action)) for action in Action}
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=STORES)
def target(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("adversarial")
    if request.param == "sqlite":
        events = f"sqlite:///{tmp / 'events.sqlite'}"
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"adv_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        events = f"{dsn}?schema={schema}"
    settings_ = Settings(
        event_store=events,
        view_store=f"sqlite:///{tmp / 'api.sqlite'}",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"adv{uuid.uuid4().hex[:10]}",
        relay_transactional_id=f"adv-{uuid.uuid4().hex[:8]}",
    )
    for api in make_api(settings_):
        yield api
        # Everything that was accepted projects into both view stores and exports.
        project_everything(api, request, tmp)


def project_everything(api: Api, request: pytest.FixtureRequest, tmp: Path) -> None:
    services = api.services
    relay, stop = services.relay(), threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = datetime.now(tz=UTC).timestamp() + 120
        while relay.position < services.app.event_count():
            assert datetime.now(tz=UTC).timestamp() < deadline, "the relay did not publish all"
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=15)
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None
    stores = [f"sqlite:///{tmp / 'views.sqlite'}"]
    if dsn:
        stores.append(f"{dsn}?schema=advv_{uuid.uuid4().hex[:10]}")
    topic = services.topics.events.name
    for url in stores:
        db = Database(url)
        for projection in (StatusProjection(), AuditProjection()):
            ProjectionRunner(projection, db, services.settings.kafka(), topic).catch_up()
        exported = tmp / f"audit-{uuid.uuid4().hex[:6]}.jsonl"
        exported.write_bytes(b"".join(jsonl_lines(iter_entries(db, AuditProjection()))))
        assert verify(read_export(exported)) == []
        count = db.query("SELECT count(*) FROM audit_entries")[0][0]
        assert count == services.app.event_count()
        db.close()


def post_checked(api: Api, unit: str, path: str, body: Any) -> None:
    before = api.events
    # Serialized as a careless client would: NaN and Infinity as bare words, lone
    # surrogates as \u escapes (httpx's own json= refuses to send either).
    response = api.client.post(
        path,
        content=json.dumps(body, ensure_ascii=True, allow_nan=True),
        headers={**api.headers(unit), "Content-Type": "application/json"},
    )
    assert response.status_code < 500, f"{path} {body!r:.300}: {response.text}"
    if response.status_code >= 400:
        assert api.events == before, f"refused but recorded: {path} {body!r:.300}"
        problem = response.json()
        assert problem["code"]
        assert problem["detail"]
        return
    case_id = response.json()["aggregate_id"]
    if path.startswith("/patrols"):
        assert api.get("district-office", "/patrols").status_code == 200
        return
    if path.startswith(("/control-areas", "/registration-refusals")):
        assert api.get("district-office", "/control-areas").status_code == 200
        return
    assert api.get("district-office", f"/enterprises/{case_id}/timeline").status_code == 200
    now = datetime.now(tz=UTC).isoformat()
    as_of = api.get("district-office", f"/enterprises/{case_id}", as_of=now)
    assert as_of.status_code == 200, as_of.text


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_field_of_every_command_refuses_or_survives_hostile_values(
    target: Api, action: Action, data: st.DataObject
) -> None:
    unit = PERMITTED[action]
    path, body = PREPARE[action](Prep(target.services.app, unit))
    fields = [*sorted(body), "an_unknown_field"]
    name = data.draw(st.sampled_from(fields), label="field")
    if action is Action.CORRECT_RECORD and name == "changes":
        key = data.draw(st.sampled_from(sorted(CORRECTABLE)), label="changes key")
        value: Any = {key: data.draw(HOSTILE, label="changes value")}
    else:
        value = data.draw(HOSTILE, label="value")
    post_checked(target, unit, path, {**body, name: value})


QUERIES: list[tuple[str, str]] = [
    ("/enterprises", "town"),
    ("/enterprises", "state"),
    ("/enterprises", "disposition"),
    ("/enterprises", "overdue"),
    ("/enterprises", "cursor"),
    ("/enterprises", "q"),
    ("/dashboard", "at"),
    ("/ledger/export.xlsx", "town"),
    ("/ledger/export.xlsx", "listed_since"),
    ("/audit", "case_id"),
    ("/audit", "unit"),
    ("/audit", "type"),
    ("/audit", "since"),
    ("/audit", "until"),
    ("/audit", "after_seq"),
    ("/accountability", "at"),
    ("/approval-lock", "uscc"),
    ("/approval-lock", "address"),
    ("/patrols", "town"),
    ("/inbox", "kind"),
    ("/inbox", "colour"),
    ("/inbox", "due_before"),
    ("/inbox", "cursor"),
    ("/inbox", "limit"),
    ("/inbox", "unit"),
    ("/patrols", "since"),
    ("/patrols", "cursor"),
    ("/enterprises/00000000-0000-0000-0000-000000000000", "as_of"),
]


@pytest.mark.parametrize(("path", "param"), QUERIES, ids=[f"{p} {q}" for p, q in QUERIES])
@pytest.mark.parametrize("value", ["%00", "a%00b", "%1B%5B2J", "%ED%A0%80", "%EF%BF%BF"])
def test_a_query_parameter_holding_nul_or_control_characters_is_refused_and_named(
    target: Api, path: str, param: str, value: str
) -> None:
    """PostgreSQL refuses to be asked about NUL; nothing stored holds such text: refused at
    the edge on either store, the parameter named, before any route reads it."""
    response = target.client.get(
        f"{path}?{param}={value}", headers=target.headers("district-office")
    )
    if value == "%ED%A0%80":  # not UTF-8: decoded as U+FFFD, an ordinary character
        assert response.status_code < 500, response.text
        return
    assert response.status_code == 422, response.text
    assert response.json()["field"] == param


@pytest.mark.parametrize(("path", "param"), QUERIES, ids=[f"{p} {q}" for p, q in QUERIES])
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(value=st.one_of(HOSTILE, st.sampled_from(["-1", "99999999999999999999999", "1e400"])))
def test_every_query_parameter_refuses_or_answers_hostile_values(
    target: Api, path: str, param: str, value: Any
) -> None:
    text = (value if isinstance(value, str) else repr(value))[:2000]  # URLs have a limit
    # Percent-encoded as bytes, lone surrogates too (they arrive as invalid UTF-8).
    query = quote(text.encode("utf-8", "surrogatepass"), safe="")
    response = target.client.get(
        f"{path}?{param}={query}", headers=target.headers("district-office")
    )
    assert response.status_code < 500, f"{path}?{param}={text!r:.200}: {response.text}"
