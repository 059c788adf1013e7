"""Flags of resumed production from power readings (DOMAIN.md section 8).

A flag is a reason for the town to look, never a penalty: it becomes a
verification task. Two rules used in campaigns elsewhere: night use above 1.5
times day use, and a daily total more than three standard deviations above the
enterprise's own history.
"""

from __future__ import annotations

import math
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


class ConsumptionHistory(Frozen):
    """An enterprise's daily power use so far, folded into running statistics (Welford's
    method): a case's state stays the same size however long it is monitored, and replay
    stays linear."""

    days: int = 0
    mean: float = 0.0
    m2: float = 0.0  # the sum of squared deviations from the mean
    last_day: date | None = None

    @property
    def sigma(self) -> float:
        return math.sqrt(self.m2 / self.days) if self.days else 0.0

    def including(self, readings: list[Reading]) -> ConsumptionHistory:
        days, mean, m2, last = self.days, self.mean, self.m2, self.last_day
        for reading in sorted(readings, key=lambda r: r.day):
            days += 1
            delta = reading.total - mean
            mean += delta / days
            m2 += delta * (reading.total - mean)
            last = reading.day
        return ConsumptionHistory(days=days, mean=mean, m2=m2, last_day=last)


def anomalies(history: ConsumptionHistory, new: list[Reading]) -> list[Anomaly]:
    """Flags in `new`, judged against `history` (older readings of the same enterprise)."""
    found: list[Anomaly] = []
    past = history
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
        elif past.days >= MIN_HISTORY_DAYS:
            mean, sigma = past.mean, past.sigma
            if reading.total > mean + SIGMA_JUMP * max(sigma, 1e-9) and reading.total > mean:
                found.append(
                    Anomaly(
                        reading.day,
                        "three_sigma_jump",
                        f"{reading.total:g} kWh > mean {mean:.1f} + 3σ ({sigma:.1f})",
                    )
                )
        past = past.including([reading])
    return found
