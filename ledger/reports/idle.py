"""Idle resources with rightsizing and what can be reclaimed (闲置资源与规格优化清单).

Built from the active ``idle`` and ``oversized`` findings of the scope (as
:func:`ledger.findings.listing` returns them). An idle resource can give back everything it
was allocated; an oversized one what its rightsizing recommends giving back. A resource
both idle and oversized counts once, as idle.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ledger.census.fields import CATEGORIES
from ledger.census.snapshot import Scope
from ledger.const import FINDING_KINDS, FINDING_STATES, Labels
from ledger.reports.model import Column, Report, Section

BASIS: Labels = {"observed": ("实测", "observed"), "declared": ("申报", "declared")}
CATEGORY_LABELS: Labels = {key: (c.zh, c.en) for key, c in CATEGORIES.items()}
KINDS = ("idle", "oversized")

COLUMNS = (
    Column("kind", "类型", "Kind", "label", FINDING_KINDS),
    Column("department", "部门", "Department"),
    Column("category", "资产类别", "Category", "label", CATEGORY_LABELS),
    Column("code", "资产编码", "Asset code"),
    Column("name", "资产名称", "Asset name"),
    Column("source", "采集来源", "Observed by"),
    Column("basis", "依据", "Basis", "label", BASIS),
    Column("idle_days", "闲置天数/判定天数", "Idle days / judged"),
    Column("cpu_p95", "CPU P95(%)", "CPU p95 (%)", "number"),
    Column("vcpus", "vCPU", "vCPU", "int"),
    Column("recommended_vcpus", "建议vCPU", "Recommended vCPU", "int"),
    Column("memory_gib", "内存(GiB)", "Memory (GiB)", "number"),
    Column("recommended_memory_gib", "建议内存(GiB)", "Recommended memory (GiB)", "number"),
    Column("reclaimable_vcpus", "可回收vCPU", "Reclaimable vCPU", "int"),
    Column("reclaimable_memory_gib", "可回收内存(GiB)", "Reclaimable memory (GiB)", "number"),
    Column("amount", "占用投资(元)", "Investment tied up (CNY)", "money"),
    Column("approving_department", "审批部门", "Approving department"),
    Column("state", "处理状态", "State", "label", FINDING_STATES),
    Column("first_seen", "首次发现", "First seen", "datetime"),
)
SUMMARY = (
    Column("department", "部门", "Department"),
    Column("idle", "闲置资源数", "Idle resources", "int"),
    Column("oversized", "配置过高数", "Oversized resources", "int"),
    Column("amount", "闲置投资(元)", "Idle investment (CNY)", "money"),
    Column("reclaimable_vcpus", "可回收vCPU", "Reclaimable vCPU", "int"),
    Column("reclaimable_memory_gib", "可回收内存(GiB)", "Reclaimable memory (GiB)", "number"),
)
NOTES = [("闲置资源可回收其全部分配；配置过高的资源可回收建议规格以外的部分。",
          "An idle resource can give back all it was allocated; an oversized one what exceeds "
          "the recommended size.")]


def _row(item: Mapping[str, Any], idle_entities: set) -> dict[str, Any]:
    details = item["details"] or {}
    declared = details.get("declared") or item.get("declared") or {}
    sized = details if item["kind"] == "oversized" else (details.get("rightsizing") or {})
    row = {"kind": item["kind"], "department": item["department"],
           "category": declared.get("category"), "code": declared.get("code"),
           # An undeclared resource is named as it was observed (host name, address).
           "name": declared.get("name") or (item.get("observed") or {}).get("name"),
           "source": (item.get("observed") or {}).get("source"),
           "basis": details.get("basis") or "observed",
           "idle_days": f"{details['idle_days']}/{details['judged_days']}"
           if "idle_days" in details else None,
           "cpu_p95": (details.get("peaks") or {}).get("cpu_p95", sized.get("cpu_p95")),
           "vcpus": sized.get("vcpus"), "recommended_vcpus": sized.get("recommended_vcpus"),
           "memory_gib": sized.get("memory_gib"),
           "recommended_memory_gib": sized.get("recommended_memory_gib"),
           "amount": Decimal(item["amount"]) if item.get("amount") else None,
           "approving_department": details.get("approving_department"),
           "state": item["state"], "first_seen": _time(item["first_seen"]),
           "reclaimable_vcpus": None, "reclaimable_memory_gib": None}
    observed = (item.get("observed") or {}).get("asset_id")
    if item["kind"] == "idle":
        row["reclaimable_vcpus"] = sized.get("vcpus")
        row["reclaimable_memory_gib"] = sized.get("memory_gib")
    elif observed not in idle_entities:
        row["reclaimable_vcpus"] = sized.get("reclaimable_vcpus")
        row["reclaimable_memory_gib"] = sized.get("reclaimable_memory_gib")
    return row


def summary(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, idle money (fen) and what can be reclaimed over active idle and oversized
    findings (as listed, already scoped), counting each resource once: an idle one gives
    back all it has, an oversized one that is not idle what rightsizing frees."""
    items = [i for i in items if i["kind"] in KINDS]
    idle_entities = {(i.get("observed") or {}).get("asset_id") for i in items
                     if i["kind"] == "idle" and i.get("observed")}
    rows = [_row(i, idle_entities) for i in items]
    return {"idle": sum(r["kind"] == "idle" for r in rows),
            "idle_investment_fen": int(sum((r["amount"] or 0) for r in rows
                                           if r["kind"] == "idle") * 100),
            "oversized": sum(r["kind"] == "oversized" for r in rows),
            "reclaimable_vcpus": sum(r["reclaimable_vcpus"] or 0 for r in rows),
            "reclaimable_memory_gib": round(sum(r["reclaimable_memory_gib"] or 0
                                                for r in rows), 1)}


def _time(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def report(items: Iterable[Mapping[str, Any]], scope: Scope, *, scope_name: str | None,
           now: dt.datetime, timezone: str) -> Report:
    """The idle list of ``items`` (active idle and oversized findings, already scoped),
    largest investment first, and a summary per department."""
    items = [i for i in items if i["kind"] in KINDS]
    idle_entities = {(i.get("observed") or {}).get("asset_id") for i in items
                     if i["kind"] == "idle" and i.get("observed")}
    rows = [_row(i, idle_entities) for i in items]
    rows.sort(key=lambda r: (r["kind"] != "idle", -(r["amount"] or 0), r["department"] or "",
                             r["code"] or ""))
    per_department: dict[str, dict] = defaultdict(lambda: {
        "idle": 0, "oversized": 0, "amount": Decimal("0.00"), "reclaimable_vcpus": 0,
        "reclaimable_memory_gib": 0.0})
    for row in rows:
        for key in (row["department"] or "(unknown)", None):
            group = per_department[key]
            group[row["kind"]] += 1
            group["amount"] += (row["amount"] or 0) if row["kind"] == "idle" else 0
            group["reclaimable_vcpus"] += row.get("reclaimable_vcpus") or 0
            group["reclaimable_memory_gib"] += row.get("reclaimable_memory_gib") or 0
    total = per_department.pop(None, None)
    summary = [{"department": key, **values,
                "reclaimable_memory_gib": round(values["reclaimable_memory_gib"], 1)}
               for key, values in sorted(per_department.items())]
    totals = None if total is None else {
        **total, "department": None,
        "reclaimable_memory_gib": round(total["reclaimable_memory_gib"], 1)}
    return Report("idle", scope.root, scope_name, None, now, timezone, [
        Section("items", "闲置与配置过高资源", "Idle and oversized resources", COLUMNS, rows),
        Section("summary", "按部门汇总", "By department", SUMMARY, summary, totals),
    ], NOTES)
