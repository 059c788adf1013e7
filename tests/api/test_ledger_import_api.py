"""The ledger import over HTTP: the template to fill in, a dry run that records nothing,
a commit that lists each row once, within the importing unit's territory; a file that
is not a ledger is refused naming the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_workbench import csrf_of
from tests.api.test_workbench_pages import signed_in
from tests.gateways.office_workbook import BAD, ROWS, office_workbook

TOWN = "town:degan"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


def upload(api: Api, unit: str, content: bytes, name: str = "台账.xlsx", **query: Any) -> Any:
    return api.client.post(
        "/ledger/import",
        params={"town": TOWN, **query},
        files={"file": (name, content, XLSX)},
        headers=api.headers(unit),
    )


def test_the_template_is_a_ledger_the_import_reads(api: Api) -> None:
    template = api.client.get("/ledger/template.xlsx", headers=api.headers(TOWN))
    assert template.status_code == 200
    assert template.headers["content-type"] == XLSX
    answer = upload(api, TOWN, template.content)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["unknown_columns"] == []
    assert body["counts"] == {"new": 1, "listed": 0, "already": 0, "error": 0}


def test_a_dry_run_then_a_commit_then_the_same_file_again(api: Api) -> None:
    workbook = office_workbook()
    before = api.events
    dry = upload(api, TOWN, workbook).json()
    assert api.events == before, "a dry run records nothing"
    assert dry["committed"] is False
    assert dry["counts"]["new"] == ROWS - len(BAD)
    assert dry["counts"]["error"] == len(BAD)
    assert dry["unknown_columns"] == ["排查日期", "备注"]
    bad = [r for r in dry["rows"] if r["outcome"] == "error"]
    assert {p["column"] for r in bad for p in r["problems"]} == {b.column for b in BAD}
    done = upload(api, TOWN, workbook, dry_run="false").json()
    assert done["counts"]["listed"] == ROWS - len(BAD)
    events = api.events
    again = upload(api, TOWN, workbook, dry_run="false").json()
    assert again["counts"]["already"] == ROWS - len(BAD)
    assert api.events == events


def test_only_a_unit_that_lists_in_that_town_may_import(api: Api) -> None:
    workbook = office_workbook()
    before = api.events
    assert upload(api, "town:baisha", workbook, dry_run="false").status_code == 403
    assert upload(api, "power", workbook, dry_run="false").status_code == 403
    assert api.client.post("/ledger/import", params={"town": TOWN}).status_code == 401
    assert api.events == before


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"", "a.xlsx"), (b"PK\x03\x04 not really", "a.xlsx"), (b"\x00" * 64, "a.xls"),
     ("名称,电话\n甲,1\n".encode(), "a.csv"), (b"\xff\xfe\x00", "a.csv")],
)  # fmt: skip
def test_a_file_that_is_not_a_ledger_is_refused_naming_the_file(
    api: Api, content: bytes, name: str
) -> None:
    answer = upload(api, TOWN, content, name)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "file"


def test_a_town_that_is_not_one_is_refused_naming_the_town(api: Api) -> None:
    answer = upload(api, "district-office", office_workbook(), town="town:nowhere")
    assert answer.status_code in (403, 422)
    if answer.status_code == 422:
        assert answer.json()["field"] == "town"


def test_the_workbench_imports_an_uploaded_ledger_on_the_session(api: Api) -> None:
    page = signed_in(api, TOWN)
    form = page.get("/app/ledger/import")
    assert form.status_code == 200
    assert 'type="file"' in form.text
    assert page.get("/app/ledger/template.xlsx").headers["content-type"] == XLSX
    workbook = office_workbook()
    files = {"file": ("台账.xlsx", workbook, XLSX)}
    before = api.events
    tried = page.post(
        "/app/ledger/import", data={"csrf": csrf_of(form.text), "town": TOWN}, files=files
    )
    assert tried.status_code == 200, tried.text[-500:]
    assert tried.text.count('data-outcome="new"') == ROWS - len(BAD)
    assert tried.text.count('data-outcome="error"') == len(BAD)
    assert api.events == before
    done = page.post(
        "/app/ledger/import",
        data={"csrf": csrf_of(form.text), "town": TOWN, "commit": "on"},
        files=files,
    )
    assert done.text.count('data-outcome="listed"') == ROWS - len(BAD)
    forged = page.post("/app/ledger/import", data={"csrf": "x", "town": TOWN}, files=files)
    assert forged.status_code == 403
    nothing = page.post("/app/ledger/import", data={"csrf": csrf_of(form.text), "town": TOWN})
    assert nothing.status_code == 422
    other = page.post(
        "/app/ledger/import",
        data={"csrf": csrf_of(form.text), "town": "town:baisha", "commit": "on"},
        files=files,
    )
    assert other.status_code == 403
    assert signed_in(api, "power").get("/app/ledger/import").status_code == 403
