"""The units registry: who takes part and what each may post (rule 1).

Loaded from data (`data/units.json` by default), because the district office, not
a programmer, keeps the list of towns, platforms and permissions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.actions import Action
from domain.errors import NotFound, PermissionDenied
from domain.values import Utility

UnitKind = Literal["office", "department", "utility", "town", "subdistrict", "platform"]
TERRITORIAL_KINDS = frozenset({"town", "subdistrict", "platform"})
# The registry shipped with the package, read as package data (importlib.resources), so it
# is found wherever the package is installed; the district office's own copy is a setting.
DEFAULT_UNITS = resources.files("domain") / "data" / "units.json"

# Which unit requests which utility's orders (三: economy→power; 五: housing→water;
# 十五: the town→gas), and which action that is.
ORDER_REQUEST_ACTION: dict[Utility, Action] = {
    Utility.POWER: Action.REQUEST_POWER_ORDER,
    Utility.WATER: Action.REQUEST_WATER_ORDER,
    Utility.GAS: Action.REQUEST_GAS_ORDER,
}


class Unit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: UnitKind
    role: str
    name_zh: str
    name_en: str
    duty: str  # the numbered duty in section 四 of the plan

    @property
    def is_territorial(self) -> bool:
        return self.kind in TERRITORIAL_KINDS


class UnitsRegistry:
    def __init__(self, units: Iterable[Unit], roles: dict[str, frozenset[Action]]) -> None:
        self._units = {u.id: u for u in units}
        self._roles = roles
        for unit in self._units.values():
            if unit.role not in roles:
                raise ValueError(f"unit {unit.id} has unknown role {unit.role!r}")

    @classmethod
    def from_file(cls, path: Path | Traversable = DEFAULT_UNITS) -> UnitsRegistry:
        raw = json.loads(path.read_text(encoding="utf-8"))
        roles = {name: frozenset(Action(a) for a in acts) for name, acts in raw["roles"].items()}
        return cls((Unit.model_validate(u) for u in raw["units"]), roles)

    def roles(self) -> dict[str, frozenset[Action]]:
        """Each role and the actions it may post."""
        return dict(self._roles)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._units.values())

    def all(self) -> list[Unit]:
        return list(self._units.values())

    def get(self, unit_id: str) -> Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise NotFound(
                f"unknown unit {unit_id!r}",
                rule="rule 1: actions are posted by registered units",
                field="unit",
                message_zh=f"未知单位 {unit_id!r}",
            ) from None

    def actions_of(self, unit_id: str) -> frozenset[Action]:
        return self._roles[self.get(unit_id).role]

    def permits(self, unit_id: str, action: Action) -> bool:
        return unit_id in self._units and action in self.actions_of(unit_id)

    def territories(self) -> list[str]:
        return [u.id for u in self._units.values() if u.is_territorial]

    def require(self, unit_id: str, action: Action) -> Unit:
        """Rule 1: only the unit named for an action may post it."""
        if unit_id not in self._units:
            raise PermissionDenied(
                f"unknown unit {unit_id!r} may not post anything",
                rule="rule 1: only the unit named for an action may post it",
                field="unit",
                message_zh=f"未登记的单位 {unit_id!r} 无权操作",
            )
        unit = self._units[unit_id]
        if action not in self._roles[unit.role]:
            raise PermissionDenied(
                f"unit {unit_id!r} may not post {action.value!r}",
                rule="rule 1: only the unit named for an action may post it",
                field="unit",
                message_zh=f"单位 {unit.name_zh} 无权执行操作 {action.value}",
                details={"action": action.value},
            )
        return unit

    def require_territory(self, unit_id: str, territory: str) -> None:
        """Rule 1: a town or platform acts only in its own territory."""
        unit = self.get(unit_id)
        if unit.is_territorial and unit.id != territory:
            raise PermissionDenied(
                f"{unit_id!r} acts only in its own territory, not in {territory!r}",
                rule="rule 1: a town acts only in its own territory",
                field="town",
                message_zh=f"{unit.name_zh} 只能在本辖区内操作（目标辖区 {territory}）",
            )


@cache
def default_registry() -> UnitsRegistry:
    return UnitsRegistry.from_file()
