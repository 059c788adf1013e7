"""GET /inbox/stream, over a real socket: a unit's page learns at once what changes in its
inbox, resumes from Last-Event-ID after a reconnect, and sees nothing of another unit's
inbox. (The status view is fed the stored events directly, as its runner would.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest

from api.bootstrap import Services, bootstrap
from domain import commands as c
from domain.values import Actor, ProblemKind
from projections.status import StatusProjection
from tests.api.conftest import memory_settings, served_over_http
from tests.domain import parity

TOWN = "town:degan"


@dataclass
class Live:
    services: Services
    url: str
    keys: dict[str, str]
    projection: StatusProjection
    applied: int = 0

    def project(self) -> None:
        """Applies the events stored since the last call to the status view."""
        records = parity.records(self.services.app)
        with self.services.db.transaction() as tx:
            self.projection.apply_all(tx, records[self.applied :])
        self.applied = len(records)

    def headers(self, unit: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[unit]}", **extra}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    services = bootstrap(memory_settings(tmp_path))
    keys = {u: services.keys.issue(u, "t").key for u in (TOWN, "town:baisha", "district-office")}
    with served_over_http(services) as url:
        yield Live(services, url, keys, StatusProjection())
    services.close()


class Stream:
    """An open event stream, read frame by frame."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def next_event(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for line in self.lines:
            if line == "":
                if "data" in fields:
                    fields["data"] = orjson.loads(fields["data"])
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")


def open_stream(live: Live, unit: str, **headers: str) -> Any:
    client = httpx.Client(timeout=httpx.Timeout(30.0))
    return client, client.stream(
        "GET", f"{live.url}/inbox/stream", headers=live.headers(unit, **headers)
    )


def list_and_classify(live: Live, n: int, town: str = TOWN) -> str:
    app = live.services.app
    case_id = app.handle(
        Actor(unit=town),
        c.ListEnterprise(
            name=f"德感某厂{n}",
            address=f"某村{n}组",
            town=town,
            problems=(c.ProblemInput(kind=ProblemKind.NO_EIA),),
        ),
    ).aggregate_id
    app.handle(
        Actor(unit="economy"),
        c.Classify(
            case_id=case_id,
            disposition="rectify",
            reason="r",
            deadline=datetime.now(tz=UTC) + timedelta(days=30),
        ),
    )
    return str(case_id)


def test_a_units_page_is_told_each_change_in_its_inbox_as_it_happens(live: Live) -> None:
    client, request = open_stream(live, TOWN)
    with client, request as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        case_id = list_and_classify(live, 1)
        live.project()
        first = stream.next_event()
        assert first["event"] == "inbox"
        assert first["data"]["case_id"] == case_id
        assert first["data"]["change"] == "opened"
        item = first["data"]["item"]
        assert item["case_name"] == "德感某厂1"
        assert item["complete_with"]["path"].startswith(f"/cases/{case_id}/")
        # Everything the town was asked arrives, in the order it was recorded.
        opened = {first["data"]["task_id"]}
        case = live.services.app.get_case(UUID(case_id))
        expected = {t.task_id for t in case.open_tasks() if t.unit == TOWN}
        ids = [int(first["id"])]
        while opened != expected:
            event = stream.next_event()
            opened.add(event["data"]["task_id"])
            ids.append(int(event["id"]))
        assert ids == sorted(ids)


def test_a_reconnecting_page_resumes_after_the_last_event_it_saw(live: Live) -> None:
    client, request = open_stream(live, TOWN)
    with client, request as response:
        stream = Stream(response)
        list_and_classify(live, 1)
        live.project()
        first, second = stream.next_event(), stream.next_event()
    list_and_classify(live, 2)  # while the page is away
    live.project()
    client, request = open_stream(live, TOWN, **{"Last-Event-ID": first["id"]})
    with client, request as response:
        again = Stream(response).next_event()
    assert again["id"] == second["id"]
    assert again["data"] == second["data"]


@pytest.mark.parametrize("last_event_id", ["abc", "99999999999999999999", "-1", "1e9"])
def test_a_nonsense_last_event_id_starts_from_now(live: Live, last_event_id: str) -> None:
    list_and_classify(live, 1)
    live.project()
    client, request = open_stream(live, TOWN, **{"Last-Event-ID": last_event_id})
    with client, request as response:
        assert response.status_code == 200
        stream = Stream(response)
        case_id = list_and_classify(live, 2)
        live.project()
        assert stream.next_event()["data"]["case_id"] == case_id  # nothing older came first


def test_a_unit_streams_only_its_own_inbox(live: Live) -> None:
    with httpx.Client(timeout=30) as client:
        assert client.get(f"{live.url}/inbox/stream").status_code == 401
        other = client.get(
            f"{live.url}/inbox/stream", params={"unit": TOWN}, headers=live.headers("town:baisha")
        )
        assert other.status_code == 403
        assert other.json()["field"] == "unit"
    baisha_client, baisha_request = open_stream(live, "town:baisha")
    with (
        baisha_client,
        baisha_request as baisha,
        httpx.Client(timeout=30) as office_client,
        office_client.stream(
            "GET",
            f"{live.url}/inbox/stream",
            params={"unit": TOWN},  # the district office may follow a town's inbox
            headers=live.headers("district-office"),
        ) as office,
    ):
        degan_case = list_and_classify(live, 3)
        baisha_case = list_and_classify(live, 4, town="town:baisha")
        live.project()
        assert Stream(office).next_event()["data"]["case_id"] == degan_case
        # Baisha hears of Degan's case nothing: the first thing it is told is its own.
        assert Stream(baisha).next_event()["data"]["case_id"] == baisha_case


def test_many_open_pages_each_hear_their_own_units_changes(live: Live) -> None:
    """Forty pages open at once (one reader of the log serves them all): each hears
    the first change of its own unit, and no page hears another unit's."""

    async def pages() -> tuple[list[str], list[str], str, str]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def first_case(unit: str, opened: asyncio.Event, ready: list[int]) -> str:
                url = f"{live.url}/inbox/stream"
                async with client.stream("GET", url, headers=live.headers(unit)) as response:
                    lines = response.aiter_lines()
                    assert (await anext(lines)).startswith("retry")
                    ready.append(1)
                    if len(ready) == 40:
                        opened.set()
                    async for line in lines:
                        if line.startswith("data: "):
                            return str(orjson.loads(line[6:])["case_id"])
                raise AssertionError("the stream ended")

            opened, ready = asyncio.Event(), list[int]()
            units = [TOWN] * 30 + ["town:baisha"] * 10
            tasks = [asyncio.create_task(first_case(u, opened, ready)) for u in units]
            await opened.wait()
            degan = await asyncio.to_thread(list_and_classify, live, 1)
            baisha = await asyncio.to_thread(list_and_classify, live, 2, "town:baisha")
            await asyncio.to_thread(live.project)
            return units, list(await asyncio.gather(*tasks)), degan, baisha

    # In a thread of its own: a browser test's Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as thread:
        units, heard, degan, baisha = thread.submit(asyncio.run, pages()).result()
    by_unit = list(zip(units, heard, strict=True))
    assert {case for unit, case in by_unit if unit == TOWN} == {degan}
    assert {case for unit, case in by_unit if unit == "town:baisha"} == {baisha}


def test_a_page_is_told_when_an_item_is_done_and_the_stream_goes_on(live: Live) -> None:
    client, request = open_stream(live, TOWN)
    with client, request as response:
        stream = Stream(response)
        case_id = list_and_classify(live, 1)
        live.project()
        opened = {stream.next_event()["data"]["task_id"] for _ in range(3)}
        live.services.app.handle(
            Actor(unit=TOWN), c.ConcurClassification(case_id=UUID(case_id), agree=True)
        )
        live.project()
        done = stream.next_event()["data"]
        assert (done["change"], done["item"]["colour"]) == ("done", "done")
        assert done["task_id"] in opened
        later = list_and_classify(live, 2)  # the stream carries on after it
        live.project()
        assert stream.next_event()["data"]["case_id"] == later
