"""The views answer the district office's questions, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from projections.audit import AuditProjection
from projections.dashboard import OpenTasks, count_open, open_items, overview
from projections.db import Database
from projections.queries import (
    CaseFilter,
    accountability,
    audit_head,
    audit_page,
    count_enterprises,
    enterprise,
    enterprises,
    town_ledgers,
    wait_for_case,
)
from projections.runner import ProjectionRunner
from projections.status import StatusProjection
from tests.domain import parity
from tests.domain.scenario import T0, TOWN
from tests.projections.conftest import Pipeline, view_store_url
from tests.projections.scenario import campaign

pytestmark = pytest.mark.kafka
DAY = timedelta(days=1)


def answers(db: Database, now_days: float = 36) -> dict[str, object]:
    now = T0 + now_days * DAY
    return {
        "enterprises": enterprises(db, now, limit=100).items,
        "overdue": [c["case_id"] for c in enterprises(db, now, overdue=True).items],
        "accountability": [dataclasses.asdict(a) for a in accountability(db, now)],
        "ledgers": town_ledgers(db),
        "audit": audit_page(db, limit=1000)[2],
        "head": audit_head(db),
        # The workbench's reads: the overview, its lists, the ledger's search and weeks.
        "overview": dataclasses.asdict(overview(db, now)),
        "red": open_items(db, now, OpenTasks(colour="red"), limit=100),
        "town red": count_open(db, now, OpenTasks(town=TOWN, colour="red")),
        "searched": [
            [e["case_id"] for e in enterprises(db, now, search=text).items]
            for text in ("厂", "%", "_", "\\", "9150")
        ],
        "counted": count_enterprises(db, now, CaseFilter(disposition="unclassified")),
        "listed then": enterprises(db, now, listed=(T0 - DAY, T0 + 2 * DAY)).items,
    }


@pytest.mark.postgres
def test_the_overview_agrees_with_accountability_and_the_ledgers_on_both_stores(
    pipeline: Pipeline, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    campaign(pipeline.scenario)
    for kind in ("sqlite", "postgres"):
        db = Database(view_store_url(kind, request, tmp_path))
        pipeline.project(db)
        for days in (1, 20, 36, 90):
            assert parity.overview_disagreements(db, T0 + days * DAY) == [], (kind, days)
        assert overview(db, T0 + 36 * DAY).overdue_total > 0


@pytest.mark.postgres
def test_the_same_stream_gives_identical_answers_on_sqlite_and_postgres(
    pipeline: Pipeline, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    campaign(pipeline.scenario)
    sqlite = Database(view_store_url("sqlite", request, tmp_path))
    postgres = Database(view_store_url("postgres", request, tmp_path))
    pipeline.project(sqlite)
    pipeline.project(postgres)
    on_sqlite, on_postgres = answers(sqlite), answers(postgres)
    assert on_sqlite == on_postgres
    assert len(on_sqlite["enterprises"]) == 4  # type: ignore[arg-type]
    assert StatusProjection().digest(sqlite) == StatusProjection().digest(postgres)


def test_accountability_matches_a_hand_computed_scenario(
    pipeline: Pipeline, views: Database
) -> None:
    campaign(pipeline.scenario)
    pipeline.project(views)
    now = T0 + 36 * DAY  # day 36 (the campaign's last actions are at day 35)
    by_unit = {a.unit: a for a in accountability(views, now)}
    # The town: 3 concurrences with economy's classifications (会同, done day 0), 3
    # suspensions assigned day 0 (2 done day 10; the close case's stop order and 两断三清
    # verification open), 2 acceptance requests (1 done day 35, late), its sign-off on the
    # struck-off case (assigned day 35, done day 35 on time), the rectify case's acceptance
    # request still open, and the 回头看 of the struck-off case (due day 125).
    town = by_unit[TOWN]
    assert (town.assigned, town.done_on_time, town.done_late, town.open) == (11, 6, 1, 4)
    assert town.overdue_now == 3
    assert town.overdue_seconds_max == int(6 * DAY.total_seconds())  # deadline day 30
    # Planning signed the struck-off case on day 35, 5 days late; 35 days to act.
    planning = by_unit["planning"]
    assert (planning.assigned, planning.done_late, planning.open) == (1, 1, 0)
    assert planning.median_seconds_to_act == 35 * DAY.total_seconds()
    # Market revoked on day 10, on time.
    market = by_unit["market"]
    assert (market.done_on_time, market.median_seconds_to_act) == (1, 10 * DAY.total_seconds())
    # Economy has the power-cut request open and overdue, and one notice unanswered: its
    # answer is a task too, due day 38, so still green on day 36.
    economy = by_unit["economy"]
    assert (
        economy.open,
        economy.overdue_now,
        economy.notices_received,
        economy.notices_answered,
        economy.notices_overdue_now,
    ) == (2, 1, 1, 0, 0)
    assert economy.escalation == {"green": 1, "yellow": 0, "red": 1}
    # Ecology and fire have the rectify case's sign-offs open, red.
    assert by_unit["ecology"].escalation["red"] == 1
    assert by_unit["fire"].overdue_now == 1


def test_town_ledgers_count_the_three_lists(pipeline: Pipeline, views: Database) -> None:
    ids = campaign(pipeline.scenario)
    pipeline.project(views)
    ledgers = {t["town"]: t for t in town_ledgers(views)}
    degan = ledgers[TOWN]
    assert degan["listed"] == 3
    assert degan["by_disposition"] == {"rectify": 2, "close": 1}
    assert degan["struck_off"] == 1
    assert [c["case_id"] for c in degan["lists"]["close"]] == [str(ids["close"])]
    assert ledgers["town:baisha"]["by_disposition"] == {"unclassified": 1}


def test_enterprise_status_shows_state_supplies_lock_and_open_tasks(
    pipeline: Pipeline, views: Database
) -> None:
    ids = campaign(pipeline.scenario)
    pipeline.project(views)
    case = enterprise(views, str(ids["close"]), T0 + 36 * DAY)
    assert case is not None
    assert (case["disposition"], case["state"], case["approval_lock"]) == (
        "close",
        "classified",
        True,
    )
    assert case["licence_revoked"]
    assert (case["supply_power"], case["supply_water"], case["supply_gas"]) == (
        "on",
        "on",
        "not_connected",
    )
    assert {t["completes_on"] for t in case["open_tasks"]} == {
        "request_power_order",
        "request_water_order",
        "order_suspension",
        "verify_closure",
        "answer_supervision_notice",  # economy's answer to the notice, due day 38
    }
    assert all(
        t["escalation"] == "red"
        for t in case["open_tasks"]
        if t["completes_on"] != "answer_supervision_notice"
    )
    struck = enterprise(views, str(ids["struck"]), T0 + 36 * DAY)
    assert struck is not None
    assert (struck["state"], struck["approval_lock"]) == ("struck_off", False)


def test_filters_and_cursor_pagination(pipeline: Pipeline, views: Database) -> None:
    campaign(pipeline.scenario)
    pipeline.project(views)
    now = T0 + 36 * DAY
    first = enterprises(views, now, limit=2)
    second = enterprises(views, now, limit=2, cursor=first.next_cursor)
    assert len(first.items) == 2
    assert len(second.items) == 2
    assert second.next_cursor is None
    everything = [c["case_id"] for c in first.items + second.items]
    assert everything == sorted(everything)
    assert len(set(everything)) == 4
    assert [c["town"] for c in enterprises(views, now, town="town:baisha").items] == ["town:baisha"]
    assert len(enterprises(views, now, disposition="rectify").items) == 2
    assert len(enterprises(views, now, overdue=True).items) == 2


def test_read_your_writes_waits_until_the_view_has_the_command(
    pipeline: Pipeline, views: Database
) -> None:
    import threading

    runner = ProjectionRunner(
        StatusProjection(), views, pipeline.bootstrap, pipeline.topics.events.name
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        case_id = pipeline.scenario.list()
        version = pipeline.app.get_case(case_id).version
        assert wait_for_case(views, str(case_id), version, timeout_s=30)
        assert not wait_for_case(views, str(case_id), version + 5, timeout_s=0.2)
    finally:
        stop.set()
        thread.join(timeout=15)


def test_the_audit_trail_filters_by_case_unit_type_and_time(
    pipeline: Pipeline, views: Database
) -> None:
    ids = campaign(pipeline.scenario)
    pipeline.project(views, AuditProjection())
    _, _, by_case = audit_page(views, case_id=str(ids["struck"]), limit=1000)
    assert by_case
    assert {e["case_id"] for e in by_case} == {str(ids["struck"])}
    _, _, by_unit = audit_page(views, unit="planning", limit=1000)
    assert [e["event_type"] for e in by_unit] == ["AcceptanceSigned", "TaskCompleted"]
    _, _, by_type = audit_page(views, event_type="revoke_licence", limit=1000)
    assert [e["event_type"] for e in by_type] == ["LicenceRevoked"]  # linkage events have no action
    _, _, late = audit_page(views, since=T0 + 30 * DAY, limit=1000)
    assert late
    assert all(e["at"] >= "2021-12-01" for e in late)
    _, _, page = audit_page(views, limit=3)
    _, _, next_page = audit_page(views, after_seq=page[-1]["seq"], limit=3)
    assert [e["seq"] for e in page + next_page] == [1, 2, 3, 4, 5, 6]
    revoked = by_type[0]
    assert (revoked["unit"], revoked["document_number"], revoked["legal_basis"]) == (
        "market",
        "吊1",
        "依法",
    )
