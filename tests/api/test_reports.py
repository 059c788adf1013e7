"""The weekly and monthly 督办 reports: every figure equals what the events themselves say
(worked out here from the cases' histories, not from the views), on SQLite and on
PostgreSQL; the Excel and PDF files say the same; each unit reads only its share."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from python_calamine import CalamineWorkbook

from api.settings import store_env
from domain import commands as c
from domain.application import Liandong
from domain.events import (
    CaseReopened,
    CaseStruckOff,
    Classified,
    EnterpriseListed,
    UtilityOrderExecuted,
)
from domain.values import Utility
from projections.audit import AuditProjection
from projections.db import Database
from projections.reports import Figures, Period, parse_period, report
from projections.runner import setup
from projections.status import StatusProjection
from tests.api import pdf_reading as pdf
from tests.api.conftest import Api
from tests.api.test_inbox import project as project_status
from tests.api.views import chain_audit
from tests.domain import parity
from tests.domain.scenario import OTHER_TOWN, TOWN, FrozenClock, Scenario, evidence

# T0 is Monday 1 November 2021, 17:00 in Jiangjin: the campaign runs over weeks 44 to 49.
PERIODS = ["2021-W43", "2021-W44", "2021-W45", "2021-W46", "2021-W47", "2021-W48", "2021-W49"]
PERIODS += ["2021-10", "2021-11", "2021-12"]


def close_and_strike_off(s: Scenario, serial: int) -> UUID:
    case_id = s.list(serial=serial, connections=(Utility.POWER, Utility.WATER, Utility.GAS))
    s.classify(case_id, "close")
    s.clock.advance(days=1)
    s.act(
        "market",
        c.RevokeLicence(
            case_id=case_id,
            document_number="江津市监〔2021〕9号",
            legal_basis="《无证无照经营查处办法》",
        ),
    )
    s.act(TOWN, c.OrderSuspension(case_id=case_id, document_number="德感〔2021〕停字2号"))
    s.cut(case_id, Utility.POWER, "economy", "close_classification")
    s.cut(case_id, Utility.WATER, "housing", "close_classification")
    s.clock.advance(days=6)  # the gas company's cut runs late
    s.cut(case_id, Utility.GAS, TOWN, "close_classification")
    s.act(
        TOWN,
        c.VerifyClosure(
            case_id=case_id,
            water_and_power_cut=True,
            raw_materials_cleared=True,
            products_cleared=True,
            equipment_cleared=True,
            evidence=evidence("cleared-site"),
        ),
    )
    s.act(TOWN, c.StrikeOff(case_id=case_id))
    return case_id


def campaign(s: Scenario) -> list[UUID]:
    """Listings in two towns, classifications, a close case struck off in its second week
    and found producing again (a relapse) two weeks later; tasks done on time, done late,
    and left to go overdue."""
    cases = [close_and_strike_off(s, 1)]
    cases.append(s.list(serial=2))
    cases.append(s.list(town=OTHER_TOWN, serial=3))
    s.classify(cases[1], "rectify")
    s.clock.advance(days=9)
    cases.append(s.list(serial=4))
    s.classify(cases[2], "close", unit=OTHER_TOWN)
    s.clock.advance(days=5)
    s.act(
        TOWN,
        c.RecordFollowUp(
            case_id=cases[0], relapse=True, findings="夜间恢复生产", evidence=evidence("night")
        ),
    )
    s.clock.advance(days=20, hours=3)  # and past the deadlines of the work left open
    return cases


def expected(app: Liandong, cases: list[UUID], period: Period, now: datetime) -> dict[str, Any]:
    """The report's figures from the cases' histories and tasks (the oracle)."""
    as_of = min(period.ends, now)
    towns: dict[str, Counter[str]] = defaultdict(Counter)
    units: dict[str, Counter[str]] = defaultdict(Counter)
    for case_id in cases:
        case = app.get_case(case_id)
        for e in app.history(case_id):
            if not period.starts <= e.timestamp < period.ends:
                continue
            units[e.actor.unit]["actions"] += 1
            if type(e) is EnterpriseListed:
                towns[case.town]["listed"] += 1
            if type(e) is Classified:
                towns[case.town]["classified"] += 1
            if type(e) is CaseStruckOff:
                towns[case.town]["struck_off"] += 1
            if type(e) is UtilityOrderExecuted:
                towns[case.town]["orders_executed"] += 1
                units[e.actor.unit]["orders_executed"] += 1
            if isinstance(e, CaseReopened) and e.relapse:
                towns[case.town]["relapses"] += 1
        for t in case.tasks.values():
            if t.cancelled_at is not None and t.cancelled_at <= as_of:
                continue
            done_in = t.done_at is not None and period.starts <= t.done_at < period.ends
            late = t.deadline < as_of and (t.done_at is None or t.done_at > as_of)
            for row in (towns[case.town], units[t.unit]):
                row["tasks_assigned"] += period.starts <= t.assigned_at < period.ends
                row["tasks_done"] += done_in
                row["done_on_time"] += done_in and t.done_at is not None and t.done_at <= t.deadline
                row["overdue"] += t.assigned_at < as_of and late
    return {
        "towns": {k: +v for k, v in towns.items() if +v},
        "units": {k: +v for k, v in units.items() if +v},
    }


FIELDS = (
    "listed", "classified", "struck_off", "relapses", "orders_executed", "actions",
    "tasks_assigned", "tasks_done", "done_on_time", "overdue",
)  # fmt: skip


def figures(rows: list[Figures]) -> dict[str, Counter[str]]:
    found = {r.key: Counter({f: getattr(r, f) for f in FIELDS}) for r in rows}
    return {k: +v for k, v in found.items() if +v}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'views.sqlite'}")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        db = Database(f"{dsn}?schema=rep_{uuid.uuid4().hex[:10]}")
    yield db
    db.close()


def test_every_figure_of_every_period_is_what_the_events_say(
    views: Database, tmp_path: Path
) -> None:
    clock = FrozenClock()
    app = Liandong(env=store_env("memory://"), clock=clock)
    s = Scenario(app, clock)
    cases = campaign(s)
    for projection in (StatusProjection(), AuditProjection()):
        setup(views, projection)
        with views.transaction() as tx:
            projection.apply_all(tx, parity.records(app))
    seen_any = Counter[str]()
    for name in PERIODS:
        period = parse_period(name)
        assert period is not None
        made = report(views, period, clock.now)
        want = expected(app, cases, period, clock.now)
        assert figures(made.towns) == want["towns"], name
        assert figures(made.units) == want["units"], name
        for rows in want["towns"].values():
            seen_any.update(rows)
        for rows in want["units"].values():
            seen_any.update(rows)
        # A town's report is its own row, with the same figures.
        own = report(views, period, clock.now, town=TOWN)
        assert figures(own.towns) == {k: v for k, v in want["towns"].items() if k == TOWN}
    # The campaign exercises every figure, so none of the comparisons above is vacuous.
    assert set(seen_any) == set(FIELDS)


def test_a_period_is_a_district_week_or_month() -> None:
    week = parse_period("2026-W48")
    assert week is not None
    assert (week.starts.isoformat(), week.ends.isoformat()) == (
        "2026-11-23T00:00:00+08:00",
        "2026-11-30T00:00:00+08:00",
    )
    month = parse_period("2026-12")
    assert month is not None
    assert month.ends.isoformat() == "2027-01-01T00:00:00+08:00"
    for nonsense in (
        "2026-W54",
        "2026-13",
        "2026-00",
        "2026-W4",
        "W48",
        "2026-11-01",
        "２０２６-11",
    ):
        assert parse_period(nonsense) is None, nonsense


# ---------------------------------------------------------------- over the API


def this_week() -> str:
    year, week, _ = datetime.now(UTC).astimezone(parse_tz()).isocalendar()
    return f"{year}-W{week:02d}"


def parse_tz() -> Any:
    from projections.dashboard import DISTRICT_TIME

    return DISTRICT_TIME


def listed_this_week(api: Api) -> None:
    for serial, town in ((1, TOWN), (2, TOWN), (3, OTHER_TOWN)):
        answer = api.post(
            town, "/cases", {"name": f"报表企业{serial}", "address": "某村", "town": town}
        )
        assert answer.status_code == 201, answer.text
    project_status(api)
    chain_audit(api)


def test_the_district_reads_every_town_a_town_its_own_and_a_utility_none(api: Api) -> None:
    listed_this_week(api)
    week = this_week()
    whole = api.get("district-office", f"/reports/{week}")
    assert whole.status_code == 200, whole.text
    listed = {r["key"]: r["listed"] for r in whole.json()["towns"]}
    assert listed[TOWN] >= 2
    assert listed[OTHER_TOWN] >= 1
    assert whole.json()["total"]["listed"] == sum(listed.values())
    own = api.get(TOWN, f"/reports/{week}").json()
    assert [r["key"] for r in own["towns"]] == [TOWN]
    assert {r["key"] for r in own["units"]} <= {TOWN}
    asked_for_another = api.get(TOWN, f"/reports/{week}", town=OTHER_TOWN).json()
    assert [r["key"] for r in asked_for_another["towns"]] == [TOWN]
    for fmt in ("", ".xlsx", ".pdf"):
        assert api.get("power", f"/reports/{week}{fmt}").status_code == 403
        assert api.client.get(f"/reports/{week}{fmt}").status_code == 401


def test_a_town_that_is_not_one_is_refused_naming_it(api: Api) -> None:
    answer = api.get("district-office", f"/reports/{this_week()}", town="town:atlantis")
    assert answer.status_code == 422
    assert answer.json()["field"] == "town"


@pytest.mark.parametrize("period", ["2026-W60", "2026-13", "last-week", "2026-W4", "2026-1"])
def test_a_period_that_is_not_one_is_refused_naming_it(api: Api, period: str) -> None:
    answer = api.get("district-office", f"/reports/{period}")
    assert answer.status_code == 422
    assert answer.json()["field"] == "period"


def test_the_workbook_holds_the_same_figures_with_chinese_headers(api: Api) -> None:
    listed_this_week(api)
    week = this_week()
    figures_json = api.get("district-office", f"/reports/{week}").json()
    answer = api.get("district-office", f"/reports/{week}.xlsx")
    assert answer.status_code == 200
    assert f"report-{week}.xlsx" in answer.headers["content-disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(answer.content))
    assert book.sheet_names == ["镇街", "单位", "说明"]
    towns = book.get_sheet_by_name("镇街").to_python()
    assert towns[2][:4] == ["镇街", "新列入", "已分类", "已销号"]
    by_name = {row[0]: row for row in towns[3:]}
    for row in figures_json["towns"]:
        assert by_name[row["name"]][1] == row["listed"]
        assert by_name[row["name"]][6] == row["overdue"]


def test_the_pdf_reads_in_chinese_with_its_figures_and_a_chart(api: Api) -> None:
    listed_this_week(api)
    week = this_week()
    figures_json = api.get("district-office", f"/reports/{week}").json()
    answer = api.get("district-office", f"/reports/{week}.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    content = answer.content
    assert pdf.embeds_the_cjk_font(content)
    text = pdf.pdf_text(content)
    assert "江津区“散乱污”企业整治督办周报" in text
    assert f"第{int(week[6:])}周" in text
    assert "德感街道" in text  # town:degan, by its Chinese name
    assert f"本期全区新列入 {figures_json['total']['listed']} 户" in text
    page = pdf.pdf_image(content)
    assert pdf.inked(page) > 0.01
    # The chart's bars are drawn in the listing colour.
    assert pdf.pixels_of(page, (47, 94, 168)) > 200


def test_liandong_report_writes_the_same_pdf_and_workbook(api: Api, tmp_path: Path) -> None:
    listed_this_week(api)
    week = this_week()
    env = {
        **os.environ,
        "LIANDONG_DATA_DIR": str(tmp_path),
        "LIANDONG_EVENT_STORE": "memory://",
        "LIANDONG_VIEW_STORE": api.services.settings.view_store,
        "LIANDONG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }

    def liandong_report(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", "report", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    for fmt in ("pdf", "xlsx"):
        out = tmp_path / f"week.{fmt}"
        ran = liandong_report("--period", week, "--format", fmt, "--out", str(out))
        assert ran.returncode == 0, ran.stderr
        assert out.stat().st_size > 1000
    assert "督办周报" in pdf.pdf_text((tmp_path / "week.pdf").read_bytes())
    wrong = liandong_report("--period", "2026-W99")
    assert wrong.returncode != 0
    assert "neither a week" in wrong.stderr
