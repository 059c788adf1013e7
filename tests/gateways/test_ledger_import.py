"""Importing a town's ledger as offices keep it: every row checked as a listing would
be, a dry run that records nothing and reports each bad row and column in Chinese, a
commit that lists each good row once (again and again, and after an interruption), and
the ledger's own export read back with no differences."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.values import Actor, ProblemKind, Utility
from gateways.ledger_import import import_ledger, listing_of, report_lines
from gateways.ledger_sheet import read_path, read_sheet
from tests.api.conftest import Api, make_api, memory_settings
from tests.api.test_inbox import project
from tests.api.test_ledger_export import liandong
from tests.gateways.office_workbook import BAD, FIRST_DATA_ROW, ROWS, office_workbook

TOWN = "town:degan"
CLERK = Actor(unit=TOWN, person="李明")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(memory_settings(tmp_path))


@pytest.fixture(scope="module")
def workbook() -> bytes:
    return office_workbook()


def test_a_dry_run_reports_exactly_the_bad_rows_and_records_nothing(
    api: Api, workbook: bytes
) -> None:
    before = api.events
    report = import_ledger(
        api.services.app, CLERK, TOWN, read_sheet(workbook, "台账.xlsx"), commit=False
    )
    assert api.events == before
    assert report.sheet == "德感街道台账", "the hidden instructions sheet is passed over"
    assert report.header_row == 3, "beneath the merged title row"
    assert report.unknown_columns == ["排查日期", "备注"], "reported, not dropped silently"
    assert report.not_imported_columns == ["序 号"]
    assert len(report.rows) == ROWS
    assert report.count("new") == ROWS - len(BAD)
    bad = {r.row: r for r in report.rows if r.outcome == "error"}
    assert sorted(bad) == [FIRST_DATA_ROW + b.index for b in BAD]
    for b in BAD:
        [(column, reason)] = bad[FIRST_DATA_ROW + b.index].problems
        assert column == b.column
        assert b.why in reason
    lines = report_lines(report)
    assert "可登记（试导入，未登记） 195 行" in lines[1]
    assert any(line.startswith(f"  第 {FIRST_DATA_ROW + 10} 行") for line in lines)


def test_a_commit_lists_each_good_row_once_as_the_office_typed_it(
    api: Api, workbook: bytes
) -> None:
    app = api.services.app
    report = import_ledger(app, CLERK, TOWN, read_sheet(workbook, "台账.xlsx"), commit=True)
    assert report.count("listed") == ROWS - len(BAD)
    assert report.count("error") == len(BAD)
    first = app.get_case(report.rows[0].case_id)  # type: ignore[arg-type]
    assert first.enterprise is not None
    assert first.enterprise.name == "德感某厂000", "stray spaces trimmed"
    assert first.town == TOWN, "德感 is 德感街道"
    assert {p.kind for p in first.problems.values()} == {
        ProblemKind.NO_EIA, ProblemKind.FIRE_HAZARD,
    }  # fmt: skip
    assert first.supplies[Utility.POWER].account == "DG-0001", "a formula's value"
    wide = app.get_case(report.rows[8].case_id)  # type: ignore[arg-type]
    assert wide.enterprise is not None
    assert wide.enterprise.uscc == "91500116MA00030082", "full-width digits read as digits"
    history = app.history(first.id)
    assert history[0].actor == CLERK, "listed by the importing unit"


def test_importing_the_same_file_again_records_nothing_new(api: Api, workbook: bytes) -> None:
    app = api.services.app
    sheet = read_sheet(workbook, "台账.xlsx")
    first = import_ledger(app, CLERK, TOWN, sheet, commit=True)
    events = api.events
    again = import_ledger(app, CLERK, TOWN, sheet, commit=True)
    assert api.events == events
    assert again.count("listed") == 0
    assert again.count("already") == ROWS - len(BAD)
    assert [r.case_id for r in again.rows] == [r.case_id for r in first.rows]


def test_an_import_interrupted_halfway_and_run_again_lists_each_row_exactly_once(
    api: Api, workbook: bytes
) -> None:
    app = api.services.app
    sheet = read_sheet(workbook, "台账.xlsx")

    class Killed(Exception):
        pass

    def killed_at_row_100(done: int, total: int) -> None:
        if done == 100:
            raise Killed

    with pytest.raises(Killed):
        import_ledger(app, CLERK, TOWN, sheet, commit=True, progress=killed_at_row_100)
    report = import_ledger(app, CLERK, TOWN, sheet, commit=True)
    assert report.count("already") + report.count("listed") == ROWS - len(BAD)
    assert 0 < report.count("listed") < ROWS - len(BAD)
    project(api)
    listed = api.get("district-office", "/enterprises", town=TOWN, limit=500).json()["items"]
    names = [c["name"] for c in listed]
    assert len(names) == len(set(names)) == ROWS - len(BAD), "each row listed exactly once"


def test_a_row_already_on_the_ledger_by_other_means_is_not_listed_again(
    api: Api, workbook: bytes
) -> None:
    app = api.services.app
    sheet = read_sheet(workbook, "台账.xlsx")
    _, values = sheet.rows[0]  # an unlicensed workshop: known by name and address
    command, problems = listing_of(app.units, TOWN, values)
    assert command is not None, problems
    case_id = app.handle(Actor(unit=TOWN), command).aggregate_id
    report = import_ledger(app, CLERK, TOWN, sheet, commit=True)
    assert report.rows[0].outcome == "already"
    assert report.rows[0].case_id == case_id


def test_the_ledgers_own_export_reads_back_with_no_differences(api: Api, workbook: bytes) -> None:
    app = api.services.app
    import_ledger(app, CLERK, TOWN, read_sheet(workbook, "台账.xlsx"), commit=True)
    project(api)
    exported = api.get("district-office", "/ledger/export.xlsx", town=TOWN).content
    events = api.events
    report = import_ledger(app, CLERK, TOWN, read_sheet(exported, "台账.xlsx"), commit=False)
    assert api.events == events
    assert report.unknown_columns == []
    assert report.count("error") == 0, report_lines(report)
    assert report.count("new") == 0
    assert report.count("already") == ROWS - len(BAD)


def test_a_csv_saved_by_a_chinese_excel_reads_as_the_workbook_does(api: Api) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["企业名称", "详细地址", "统一社会信用代码", "存在问题"])
    writer.writerow(["德感某石材厂", "德感街道某村1号", "", "无证无照"])
    writer.writerow(["", "德感街道某村2号", "", ""])
    sheet = read_sheet(text.getvalue().encode("gb18030"), "台账.csv")
    report = import_ledger(api.services.app, CLERK, TOWN, sheet, commit=False)
    assert [r.outcome for r in report.rows] == ["new", "error"]
    assert report.rows[1].row == 3
    with pytest.raises(ValueError, match="header"):
        read_sheet(b"a,b\n1,2\n", "x.csv")


def test_the_cli_dry_run_prints_the_report_and_fails_on_bad_rows(
    api: Api, workbook: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "德感台账.xlsx"
    path.write_bytes(workbook)
    done = liandong(api, "ledger", "import", str(path), "--town", TOWN, "--dry-run")
    assert done.returncode == 1, "rows in error fail the command"
    assert "有误 5 行" in done.stdout
    assert "未识别的列（未导入）：排查日期、备注" in done.stdout
    assert f"第 {FIRST_DATA_ROW + 10} 行" in done.stdout
    assert f"{ROWS}/{ROWS}" in done.stderr, "a progress bar"
    unknown = liandong(api, "ledger", "import", str(path), "--town", "town:nowhere")
    assert unknown.returncode != 0
    assert "town:nowhere" in unknown.stderr


def test_the_demo_workbook_in_docs_is_the_office_workbook(request: pytest.FixtureRequest) -> None:
    """The README imports docs/demo/ledger-degan.xlsx: it is this test's office workbook,
    so the README's report is the one these tests expect (195 listed, 5 bad rows)."""
    shipped = read_path(request.config.rootpath / "docs" / "demo" / "ledger-degan.xlsx")
    made = read_sheet(office_workbook(), "ledger-degan.xlsx")
    assert shipped == made
