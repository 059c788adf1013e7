"""Power readings that suggest resumed production (DOMAIN.md section 8)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

from domain.consumption import ConsumptionHistory, Reading, anomalies

D0 = date(2021, 10, 1)


def days(values: list[tuple[float, float]], start: int = 0) -> list[Reading]:
    return [
        Reading(day=D0 + timedelta(days=start + i), day_kwh=d, night_kwh=n)
        for i, (d, n) in enumerate(values)
    ]


def folded(readings: list[Reading]) -> ConsumptionHistory:
    return ConsumptionHistory().including(readings)


def test_running_statistics_equal_the_statistics_of_the_whole_history() -> None:
    readings = days([(10, 1), (11, 1), (9, 1), (10, 2), (10, 1), (11, 1), (9, 1), (30, 4)])
    history = folded(readings[:3]).including(readings[3:])
    totals = [r.total for r in readings]
    assert history.days == len(totals)
    assert abs(history.mean - statistics.fmean(totals)) < 1e-9
    assert abs(history.sigma - statistics.pstdev(totals)) < 1e-9
    assert history.last_day == readings[-1].day


def test_night_use_above_one_and_a_half_times_day_use_is_flagged() -> None:
    found = anomalies(ConsumptionHistory(), days([(10, 15), (10, 16)]))
    assert [a.rule for a in found] == ["night_over_day"]
    assert found[0].day == D0 + timedelta(days=1)


def test_a_three_sigma_jump_on_its_own_history_is_flagged() -> None:
    history = days([(10, 1), (11, 1), (9, 1), (10, 2), (10, 1), (11, 1), (9, 1)])
    found = anomalies(folded(history), days([(60, 5)], start=7))
    assert [a.rule for a in found] == ["three_sigma_jump"]


def test_ordinary_variation_and_short_history_raise_nothing() -> None:
    history = days([(10, 1), (11, 1), (9, 1), (10, 2), (10, 1), (11, 1), (9, 1)])
    assert anomalies(folded(history), days([(12, 1)], start=7)) == []
    assert anomalies(folded(days([(1, 0)])), days([(50, 1)], start=1)) == [], "one day says nothing"
