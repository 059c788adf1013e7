"""The names a document prints for the units in it: each unit's Chinese name from the
registry, and 合计 for a report's total row."""

from __future__ import annotations

from collections.abc import Callable

from domain.units import UnitsRegistry

Namer = Callable[[str], str]
TOTAL = "total"  # the key of a report's row that sums the others


def unit_names(units: UnitsRegistry) -> Namer:
    """A unit's key to its name; a key the registry does not know prints as itself
    (a unit since retired still shows in the reports of its time)."""

    def name(key: str) -> str:
        if key == TOTAL:
            return "合计"
        return str(units.get(key).name_zh) if key in units else key

    return name
