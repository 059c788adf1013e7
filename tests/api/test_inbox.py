"""我的待办: every unit reads what waits on it, across cases, by deadline, with what
completes each item; the views are fed the campaign's events (no broker needed to read
a view; tests/api/test_end_to_end.py runs the same over Kafka)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain import commands as c
from domain.values import Actor, CaseState, ProblemKind, Utility
from projections.queries import inbox
from projections.status import StatusProjection
from tests.api.conftest import Api, make_api, memory_settings
from tests.domain import parity

TOWN = "town:degan"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def project(api: Api) -> None:
    """Feeds every stored event to the status view (as its runner would, from Kafka)."""
    projection = StatusProjection()
    with api.services.db.transaction() as tx:
        tx.execute(f"DELETE FROM {projection.t('cases')}")
        tx.execute(f"DELETE FROM {projection.t('tasks')}")
        projection.apply_all(tx, parity.records(api.services.app))


def do(api: Api, unit: str, command: c.Command) -> UUID:
    return api.services.app.handle(Actor(unit=unit), command).aggregate_id


def campaign(api: Api) -> dict[str, UUID]:
    later = datetime.now(tz=UTC) + timedelta(days=30)
    ids = {
        "rectify": do(
            api,
            TOWN,
            c.ListEnterprise(
                name="德感某家具厂",
                address="a",
                town=TOWN,
                problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
            ),
        ),
        "close": do(
            api,
            TOWN,
            c.ListEnterprise(
                name="德感某食品作坊",
                address="b",
                town=TOWN,
                connections=(c.Connection(utility=Utility.POWER, account="P-1"),),
            ),
        ),
    }
    for name, disposition in (("rectify", "rectify"), ("close", "close")):
        do(
            api,
            "economy",
            c.Classify(case_id=ids[name], disposition=disposition, reason="r", deadline=later),
        )
    do(
        api,
        "economy",
        c.RequestUtilityOrder(
            case_id=ids["close"], utility="power", kind="cut", grounds="close_classification",
            document_number="停电1号", deadline=later - timedelta(days=25),
        ),
    )  # fmt: skip
    case = api.services.app.get_case(ids["rectify"])
    sign = next(t.task_id for t in case.open_tasks() if t.unit == "ecology")
    do(
        api,
        "district-office",
        c.IssueSupervisionNotice(
            case_id=ids["rectify"], task_id=sign, respond_by=later - timedelta(days=27), note="n"
        ),
    )
    do(api, "ecology", c.RaiseDispute(case_id=ids["rectify"], task_id=sign, reason="非本局职责"))
    project(api)
    return ids


def test_each_unit_reads_what_waits_on_it_by_deadline_and_how_to_complete_it(
    api: Api,
) -> None:
    ids = campaign(api)
    body = api.get(TOWN, "/inbox").json()
    duties = [(i["case_name"], i["complete_with"]["action"]) for i in body["items"]]
    assert ("德感某家具厂", "concur_classification") in duties
    assert ("德感某食品作坊", "verify_closure") in duties
    deadlines = [i["deadline"] for i in body["items"]]
    assert deadlines == sorted(deadlines)
    assert all(i["assigned_by"] == "economy" and i["town"] == TOWN for i in body["items"])
    assert sum(body["counts"].values()) == len(body["items"])
    concur = next(
        i for i in body["items"] if i["complete_with"]["action"] == "concur_classification"
    )
    assert concur["complete_with"]["path"] == f"/cases/{ids['rectify']}/concur-classification"
    # The item's own request completes it, and it leaves the inbox.
    response = api.post(TOWN, concur["complete_with"]["path"], {"agree": True})
    assert response.status_code == 200, response.text
    project(api)
    again = api.get(TOWN, "/inbox").json()["items"]
    assert concur["task_id"] not in {
        i["task_id"] for i in again if i["case_id"] == concur["case_id"]
    }


def test_orders_acceptances_notices_and_disputes_are_in_the_inbox_of_who_owes_them(
    api: Api,
) -> None:
    ids = campaign(api)
    [order] = api.get("power", "/inbox").json()["items"]
    assert order["kind"] == "order"
    assert order["complete_with"]["path"] == f"/orders/{order['ref']}/execute"
    kinds = {i["kind"] for i in api.get("ecology", "/inbox").json()["items"]}
    assert kinds == {"acceptance", "supervision_notice"}
    [notice] = api.get("ecology", "/inbox", kind="supervision_notice").json()["items"]
    assert notice["assigned_by"] == "district-office"
    [dispute] = api.get("district-office", "/inbox").json()["items"]
    assert (dispute["kind"], dispute["case_id"]) == ("dispute", str(ids["rectify"]))


def test_paging_filters_and_who_may_read_whose_inbox(api: Api) -> None:
    campaign(api)
    everything = api.get(TOWN, "/inbox").json()["items"]
    first = api.get(TOWN, "/inbox", limit=2).json()
    second = api.get(TOWN, "/inbox", limit=2, cursor=first["next_cursor"]).json()
    assert [i["task_id"] for i in first["items"] + second["items"]] == [
        i["task_id"] for i in everything[:4]
    ]
    assert api.get(TOWN, "/inbox", town="town:baisha").json()["items"] == []

    def items(**filters: str) -> set[tuple[str, str]]:
        found = api.get(TOWN, "/inbox", **filters).json()["items"]
        return {(i["case_id"], i["task_id"]) for i in found}

    # Filtered by its case's state, the inbox splits into parts that make up the whole.
    parts = {state.value: items(state=state.value) for state in CaseState}
    assert parts["struck_off"] == set()
    assert sum(len(p) for p in parts.values()) == len(everything)
    assert set().union(*parts.values()) == {(i["case_id"], i["task_id"]) for i in everything}
    assert api.get(TOWN, "/inbox", state="nonsense").status_code == 422
    soon = (datetime.now(tz=UTC) + timedelta(days=10)).isoformat()
    assert {i["kind"] for i in api.get("power", "/inbox", due_before=soon).json()["items"]} == {
        "order"
    }

    def of(reader: str, unit: str) -> Any:
        return api.client.get("/inbox", params={"unit": unit}, headers=api.headers(reader))

    assert of("town:baisha", TOWN).status_code == 403
    assert of("district-office", TOWN).json()["items"] == everything
    assert api.get(TOWN, "/inbox", kind="nonsense").status_code == 422


def test_colours_follow_the_deadlines_as_time_passes(api: Api) -> None:
    campaign(api)
    now = datetime.now(tz=UTC)
    _, today, _ = inbox(api.services.db, "power", now)
    _, later, _ = inbox(api.services.db, "power", now + timedelta(days=4, hours=12))
    _, late, _ = inbox(api.services.db, "power", now + timedelta(days=6))
    assert (today["green"], later["yellow"], late["red"]) == (1, 1, 1)
    reds, _, _ = inbox(api.services.db, "power", now + timedelta(days=6), colour="red")
    assert len(reds) == 1
