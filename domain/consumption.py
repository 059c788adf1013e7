"""Flags of resumed production from power readings (DOMAIN.md section 8).

A flag is a reason for the town to look, never a penalty: it becomes a
verification task. Two rules used in campaigns elsewhere: night use above 1.5
times day use, and a daily total more than three standard deviations above the
enterprise's own history.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from pydantic import Field

from domain.values import Frozen

NIGHT_OVER_DAY_RATIO = 1.5
SIGMA_JUMP = 3.0
MIN_HISTORY_DAYS = 7  # fewer days of history say nothing about a jump


class Reading(Frozen):
    day: date
    day_kwh: float = Field(ge=0)
    night_kwh: float = Field(ge=0)

    @property
    def total(self) -> float:
        return self.day_kwh + self.night_kwh


@dataclass(frozen=True)
class Anomaly:
    day: date
    rule: str
    detail: str


def anomalies(history: list[Reading], new: list[Reading]) -> list[Anomaly]:
    """Flags in `new`, judged against `history` (older readings of the same enterprise)."""
    found: list[Anomaly] = []
    past = [r.total for r in history]
    for reading in sorted(new, key=lambda r: r.day):
        if reading.night_kwh > NIGHT_OVER_DAY_RATIO * reading.day_kwh and reading.night_kwh > 0:
            found.append(
                Anomaly(
                    reading.day,
                    "night_over_day",
                    f"night {reading.night_kwh:g} kWh > {NIGHT_OVER_DAY_RATIO} x day "
                    f"{reading.day_kwh:g} kWh",
                )
            )
        elif len(past) >= MIN_HISTORY_DAYS:
            mean = statistics.fmean(past)
            sigma = statistics.pstdev(past)
            if reading.total > mean + SIGMA_JUMP * max(sigma, 1e-9) and reading.total > mean:
                found.append(
                    Anomaly(
                        reading.day,
                        "three_sigma_jump",
                        f"{reading.total:g} kWh > mean {mean:.1f} + 3σ ({sigma:.1f})",
                    )
                )
        past.append(reading.total)
    return found
