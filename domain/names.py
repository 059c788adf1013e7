"""The values of the domain's enumerations (states, batches, supplies, orders, problems)
as the offices name them, in Chinese and in English: one list for the workbench, the
Excel ledger and the reports."""

from __future__ import annotations

VALUE_NAMES: dict[str, tuple[str, str]] = {
    "listed": ("已列入", "listed"),
    "classified": ("已分类", "classified"),
    "suspended": ("停产整治", "suspended"),
    "acceptance_requested": ("待验收", "acceptance requested"),
    "accepted": ("已验收", "accepted"),
    "closure_verified": ("两断三清已核实", "closure verified"),
    "struck_off": ("已销号", "struck off"),
    "reopened": ("回头看重新整治", "reopened"),
    "withdrawn": ("已撤回", "withdrawn"),
    "relocate": ("搬迁入园", "relocate"),
    "rectify": ("整治规范", "rectify"),
    "close": ("关停取缔", "close"),
    "unclassified": ("未分类", "unclassified"),
    "power": ("供电", "power"),
    "water": ("供水", "water"),
    "gas": ("供气", "gas"),
    "on": ("正常供应", "on"),
    "cut": ("已断", "cut"),
    "limited": ("限供", "limited"),
    "limit": ("限供", "limit"),
    "restore": ("恢复", "restore"),
    "not_connected": ("未接入", "not connected"),
    "issued": ("已下达", "issued"),
    "acknowledged": ("已签收", "acknowledged"),
    "executed": ("已执行", "executed"),
    "refused": ("已拒绝", "refused"),
    "cancelled": ("已撤销", "cancelled"),
    "passed": ("通过", "passed"),
    "failed": ("未通过", "failed"),
    # Problems (DOMAIN.md 5)
    "industrial_policy": ("不符合产业政策或布局", "against industrial policy"),
    "pollution_control": ("污染治理设施缺失或不完善", "pollution control lacking"),
    "no_eia": ("未办理环评", "no EIA"),
    "no_discharge_permit": ("未申领排污许可证", "no discharge permit"),
    "illegal_structure": ("违章搭建", "illegal structure"),
    "sewer_connection": ("污水未接入管网", "sewer connection"),
    "protected_zone": ("位于保护区或四山管控区", "in a protected zone"),
    "unlicensed": ("无证无照", "unlicensed"),
    "food_drug_safety": ("食品药品安全", "food and drug safety"),
    "land_use_plan": ("不符合土地利用规划", "against the land-use plan"),
    "production_safety": ("安全生产隐患", "production safety"),
    "fire_hazard": ("消防隐患", "fire hazard"),
    "transport_violation": ("运输违规", "transport violation"),
}


def zh(value: str) -> str:
    """A value's Chinese name (the value itself when it has none)."""
    return VALUE_NAMES.get(value, (value, value))[0]
