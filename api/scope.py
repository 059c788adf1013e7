"""Who may read what (DOMAIN.md 12; docs/security.md): one rule, used by every GET route.

- Departments and the district office read everything.
- A town or platform reads only the cases in its territory (a park platform also those
  relocating into it). A case outside it answers
  exactly as a case that does not exist (404 with the same problem), so nobody can probe
  which ids exist elsewhere.
- A utility reads only what its own orders need: the cases it holds an order for, and of
  those only the enterprise's name, USCC, address and town, its own supply and its own
  orders. Nothing else of a case (no timeline, no time travel, no other utility's orders
  or accounts, no contact details).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends

from api.deps import ActorDep, ServicesDep
from api.errors import ApiError
from domain.application import no_such_case

Reach = Literal["all", "territory", "own_orders"]


@dataclass(frozen=True)
class ReadScope:
    unit: str
    reach: Reach

    @property
    def town(self) -> str | None:
        """The only town this reader sees, when it is a town or platform."""
        return self.unit if self.reach == "territory" else None

    @property
    def utility(self) -> str | None:
        return self.unit if self.reach == "own_orders" else None

    def require_town(self, case_id: UUID | str, town: str, park: str | None = None) -> None:
        """Raises the not-found of a missing case when the reader may not see this one. A
        park platform also sees the enterprises relocating into it (`park`)."""
        if self.reach == "territory" and self.unit not in (town, park):
            raise no_such_case(UUID(str(case_id)))

    def require_not_utility(self) -> None:
        """Reads that are the departments' and towns' business (approvals, patrols, 四山):
        a utility gets 403."""
        if self.reach == "own_orders":
            raise ApiError(
                403,
                "permission_denied",
                "utilities read only their own orders",
                "供水、供电、供气单位只能查看本单位的指令",
                field="unit",
                rule="DOMAIN.md 12: a utility reads only its own orders",
            )

    def require_full_reader(self, case_id: UUID | str) -> None:
        """Utilities see no more of a case than their orders need (no timeline, no time
        travel): for them such a read answers as for a case that does not exist."""
        if self.reach == "own_orders":
            raise no_such_case(UUID(str(case_id)))

    def minimal_for_utility(self, case: dict[str, Any]) -> dict[str, Any]:
        """What a utility may see of a case it holds an order for; raises not-found if
        it holds none."""
        utility = self.unit
        orders = [o for o in case.get("orders", []) if o.get("utility") == utility]
        if not orders:
            raise no_such_case(UUID(str(case["case_id"])))
        return {
            "source": case.get("source"),
            "case_id": case["case_id"],
            "name": case["name"],
            "uscc": case.get("uscc"),
            "address": case["address"],
            "town": case["town"],
            f"supply_{utility}": case.get(f"supply_{utility}"),
            "orders": orders,
        }


def read_scope(actor: ActorDep, services: ServicesDep) -> ReadScope:
    return scope_of(services, actor.unit)


def scope_of(services: Any, unit_id: str) -> ReadScope:
    """What a unit may read (the workbench's pages ask for their signed-in unit)."""
    unit = services.app.units.get(unit_id)
    if unit.is_territorial:
        return ReadScope(unit.id, "territory")
    if unit.kind == "utility":
        return ReadScope(unit.id, "own_orders")
    return ReadScope(unit.id, "all")


ScopeDep = Annotated[ReadScope, Depends(read_scope)]
