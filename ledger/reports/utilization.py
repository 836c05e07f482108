"""Utilization by department, information system and month (资源利用率报表).

For every virtual resource (a cloud instance, as :mod:`ledger.compute` counts them) with daily
summaries: what it has (vCPU, memory),
what it used (the month's mean CPU and memory percentages applied to that), and on how many
of its judged days it was idle under the configured idle policy of its kind. A resource
belongs to the department and information system of the declared asset reconciliation
paired it with; an undeclared one to the department its target names and to no system.
Physical servers, hypervisors, network devices and UPS are no allocated compute: their
threads are capacity (the compute ledger), not allocation, so they are left out and the
report's vCPU agree with the compute ledger's.

Per (month, department, system): resources, allocated and used vCPU and memory, the idle
share (idle resource-days over judged resource-days, each weighted by its vCPUs), the
investment (the system's declared total investment, else the money of its resources:
purchase price or annual cost) and the idle investment (investment × idle share).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping, Sequence

from ledger.census.snapshot import Scope
from ledger.compute import is_physical
from ledger.idle import day_is_idle, merged_days
from ledger.policy import AnalysisPolicy
from ledger.reconcile.entities import Entity
from ledger.reports.model import Column, Report, Section

GIB = 1024 ** 3
Ref = tuple[str, int]
NO_SYSTEM = ("（未关联系统）", "(no information system)")

COLUMNS = (
    Column("month", "月份", "Month"),
    Column("department", "部门编码", "Department"),
    Column("department_name", "部门名称", "Department name"),
    Column("system", "系统编码", "System"),
    Column("system_name", "信息系统", "Information system"),
    Column("resources", "资源数", "Resources", "int"),
    Column("vcpu_allocated", "分配vCPU", "vCPU allocated", "number"),
    Column("vcpu_used", "使用vCPU", "vCPU used", "number"),
    Column("cpu_utilization", "CPU利用率", "CPU utilization", "percent"),
    Column("memory_allocated_gib", "分配内存(GiB)", "Memory allocated (GiB)", "number"),
    Column("memory_used_gib", "使用内存(GiB)", "Memory used (GiB)", "number"),
    Column("memory_utilization", "内存利用率", "Memory utilization", "percent"),
    Column("idle_share", "闲置占比", "Idle share", "percent"),
    Column("investment", "投资额(元)", "Investment (CNY)", "money"),
    Column("idle_investment", "闲置投资(元)", "Idle investment (CNY)", "money"),
)
NOTES = [
    ("使用量 = 当月日均利用率 × 分配量；闲置占比 = 闲置资源日 ÷ 已判定资源日（按 vCPU 加权）；"
     "闲置投资 = 投资额 × 闲置占比。",
     "Used = the month's mean utilization × allocation; idle share = idle resource-days ÷ "
     "judged resource-days (weighted by vCPU); idle investment = investment × idle share."),
    ("只统计云主机（虚拟资源）；物理服务器、网络设备和 UPS 不计入分配量。",
     "Only cloud instances (virtual resources) count; physical servers, network devices and "
     "UPS are not allocated compute."),
    ("投资额取信息系统的总投资，未填写时取其资源的采购价或年费用。",
     "Investment is the system's total investment, else its resources' purchase price or "
     "annual cost."),
]


@dataclasses.dataclass
class UtilizationInputs:
    """What the report's Python definition reads (the report itself is set-based:
    :mod:`ledger.reports.utilization_query`)."""

    entities: Sequence[Entity]
    summaries: Mapping[int, list]              # observed row id -> its daily summaries
    links: Mapping[int, Ref]                   # entity id -> declared asset
    declared: Mapping[Ref, Any]                # declared devices, resources, systems
    departments: Mapping[int, tuple[str, str]]  # id -> (code, name)
    first: dt.date                             # first day (inclusive)
    last: dt.date                              # last day (inclusive)


@dataclasses.dataclass
class _Cell:
    resources: int = 0
    vcpu: float = 0.0
    vcpu_used: float = 0.0
    memory: float = 0.0
    memory_used: float = 0.0
    judged: float = 0.0
    idle: float = 0.0

    def add(self, other: "_Cell") -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def is_allocated(entity: Entity) -> bool:
    """A virtual resource: an instance that is no physical machine (as the compute ledger)."""
    return not is_physical(entity) and any(r.kind == "instance" for r in entity.rows)


def allocation(entity: Entity, row: Any) -> tuple[float, float]:
    """vCPUs and memory GiB of an instance: observed first, then declared."""
    cpus = entity.value("vcpus")[0] or getattr(row, "vcpu", None) or 0
    memory = entity.value("memory_bytes")[0]
    gib = memory / GIB if memory else float(getattr(row, "memory_gib", None) or 0)
    return float(cpus), float(gib)


def _month_cell(days: list, cpus: float, gib: float, policy, first: dt.date,
                last: dt.date) -> _Cell | None:
    kept = [d for d in days if first <= d.day <= last and not d.low_coverage]
    if not kept:
        return None
    cell = _Cell(resources=1, vcpu=cpus, memory=gib)
    cpu = [d.cpu_mean for d in kept if d.cpu_mean is not None]
    mem = [d.memory_mean for d in kept if d.memory_mean is not None]
    if cpu:
        cell.vcpu_used = cpus * sum(cpu) / len(cpu) / 100
    if mem:
        cell.memory_used = gib * sum(mem) / len(mem) / 100
    weight = cpus or 1.0
    for day in kept:
        judged = day_is_idle(day, policy)
        if judged is not None:
            cell.judged += weight
            cell.idle += weight if judged[0] else 0
    return cell


def months(first: dt.date, last: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(YYYY-MM, first day, last day) of every month from ``first`` to ``last``."""
    out, day = [], first.replace(day=1)
    while day <= last:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append((f"{day:%Y-%m}", max(day, first), min(following - dt.timedelta(days=1),
                                                          last)))
        day = following
    return out


def _money(row: Any) -> Decimal | None:
    for column in ("total_investment", "purchase_price", "annual_cost"):
        value = getattr(row, column, None)
        if value is not None:
            return Decimal(value)
    return None


def _owner(entity: Entity, row: Any, declared: Mapping[Ref, Any]) -> tuple[Any, Any]:
    """(department id, system row or None) of a resource."""
    if row is None:
        return entity.primary.department_id, None
    if "usage_status" in getattr(row, "_fields", ()):     # the declared asset is a system
        return row.department_id, row
    system = declared.get(("information_system", getattr(row, "information_system_id", None)))
    return row.department_id, system


def build(inputs: UtilizationInputs, policy: AnalysisPolicy, scope: Scope) -> dict:
    """Per (month, department id, system id): the figures, the system rows and the money of
    resources with no system; only departments ``scope`` covers."""
    cells: dict[tuple, _Cell] = defaultdict(_Cell)
    systems: dict[int, Any] = {}
    money: dict[tuple, Decimal] = defaultdict(Decimal)
    periods = months(inputs.first, inputs.last)
    for entity in filter(is_allocated, inputs.entities):
        ref = inputs.links.get(entity.id)
        row = inputs.declared.get(ref) if ref else None
        department, system = _owner(entity, row, inputs.declared)
        if not scope.covers(department):
            continue
        days = merged_days(entity, inputs.summaries)
        if not days:
            continue
        cpus, gib = allocation(entity, row)
        idle_policy = policy.idle_policy(entity.primary.kind)
        system_id = system.id if system is not None else None
        if system is not None:
            systems[system.id] = system
        for name, first, last in periods:
            cell = _month_cell(days, cpus, gib, idle_policy, first, last)
            if cell is None:
                continue
            cells[(name, department, system_id)].add(cell)
            if row is not None and row is not system and _money(row) is not None:
                money[(name, department, system_id)] += _money(row)
    return {"cells": cells, "systems": systems, "money": money}


def report(inputs: UtilizationInputs, policy: AnalysisPolicy, scope: Scope, *,
           scope_name: str | None, now: dt.datetime, period: str | None = None) -> Report:
    """The utilization report of ``scope`` from ``inputs.first`` to ``inputs.last``."""
    return report_of(build(inputs, policy, scope), inputs.departments, inputs.first,
                     inputs.last, policy, scope, scope_name=scope_name, now=now, period=period)


def report_of(built: dict, departments: Mapping[int, tuple[str, str]], first: dt.date,
              last: dt.date, policy: AnalysisPolicy, scope: Scope, *,
              scope_name: str | None, now: dt.datetime, period: str | None = None) -> Report:
    """The report of figures ``built`` (by :func:`build`, or set-based by
    :mod:`ledger.reports.utilization_query`) from ``first`` to ``last``."""
    rows = []
    for (month, department, system_id), cell in sorted(
            built["cells"].items(), key=lambda kv: (kv[0][0], _code(departments, kv[0][1]),
                                                    kv[0][2] is None, kv[0][2] or 0)):
        system = built["systems"].get(system_id)
        investment = (_money(system) if system is not None else None) or \
            built["money"].get((month, department, system_id))
        code, name = departments.get(department, (None, None))
        rows.append({"month": month, "department": code or "(unknown)",
                     "department_name": name,
                     "system": system.code if system is not None else None,
                     "system_name": system.name if system is not None else NO_SYSTEM[0],
                     **_figures(cell, investment)})
    by_department = _rollup(rows, ("month", "department", "department_name"))
    by_month = _rollup(rows, ("month",))
    total = _rollup(rows, ())
    period = period or f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"
    keys = [c.key for c in COLUMNS]
    department_columns = tuple(c for c in COLUMNS if c.key not in ("system", "system_name"))
    month_columns = tuple(c for c in department_columns if not c.key.startswith("department"))
    single = len({r["month"] for r in rows}) <= 1
    for row in rows + by_department + by_month + total:
        row.pop("_cell")
    return Report("utilization", scope.root, scope_name, period, now, policy.timezone, [
        Section("by_system", "按部门与信息系统", "By department and system", COLUMNS, rows,
                {**dict.fromkeys(keys), **total[0]} if total and single else None),
        Section("by_department", "按部门", "By department", department_columns, by_department),
        Section("by_month", "按月份", "By month", month_columns, by_month),
    ], NOTES)


def _code(departments: Mapping[int, tuple[str, str]], department: int | None) -> str:
    return departments.get(department, ("~",))[0] or "~"


def _figures(cell: _Cell, investment: Decimal | None) -> dict[str, Any]:
    share = cell.idle / cell.judged if cell.judged else None
    idle = None if investment is None or share is None else \
        (investment * Decimal(repr(cell.idle)) / Decimal(repr(cell.judged))).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
    return {"resources": cell.resources, "vcpu_allocated": round(cell.vcpu, 2),
            "vcpu_used": round(cell.vcpu_used, 2),
            "cpu_utilization": round(cell.vcpu_used / cell.vcpu, 4) if cell.vcpu else None,
            "memory_allocated_gib": round(cell.memory, 1),
            "memory_used_gib": round(cell.memory_used, 1),
            "memory_utilization": round(cell.memory_used / cell.memory, 4)
            if cell.memory else None,
            "idle_share": round(share, 4) if share is not None else None,
            "investment": investment, "idle_investment": idle,
            "_cell": cell}


def _rollup(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Rows summed over everything but ``keys`` (money added, shares recomputed)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    out = []
    for key, members in groups.items():
        cell = _Cell()
        for member in members:
            cell.add(member["_cell"])
        figures = _figures(cell, None)
        figures["investment"] = _sum(m["investment"] for m in members)
        figures["idle_investment"] = _sum(m["idle_investment"] for m in members)
        out.append({**dict(zip(keys, key)), **figures})
    return out


def _sum(values) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal("0.00")) if present else None
