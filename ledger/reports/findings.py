"""Census against observed: what reconciliation found (普查与实际发现差异清单).

Built from the active reconciliation findings of the scope (undeclared, missing, suspect,
mismatch, conflict, unknown department) as :func:`ledger.findings.listing` returns them:
one row per finding with the declared and the observed value where a field differs, and a
count per department, kind and state.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Iterable, Mapping

from ledger.census.snapshot import Scope
from ledger.const import COMPARED_FIELDS, FINDING_KINDS, FINDING_STATES, RECONCILE_KINDS
from ledger.reports.idle import CATEGORY_LABELS
from ledger.reports.model import Column, Report, Section

COLUMNS = (
    Column("id", "编号", "ID", "int"),
    Column("kind", "类型", "Kind", "label", FINDING_KINDS),
    Column("state", "处理状态", "State", "label", FINDING_STATES),
    Column("department", "部门", "Department"),
    Column("category", "资产类别", "Category", "label", CATEGORY_LABELS),
    Column("code", "资产编码", "Asset code"),
    Column("name", "资产名称", "Asset name"),
    Column("source", "采集来源", "Observed by"),
    Column("field", "差异字段", "Field", "label", COMPARED_FIELDS),
    Column("declared_value", "申报值", "Declared"),
    Column("observed_value", "实测值", "Observed"),
    Column("explanation", "说明", "Details"),
    Column("first_seen", "首次发现", "First seen", "datetime"),
    Column("last_seen", "最近发现", "Last seen", "datetime"),
)
COUNTS = (
    Column("department", "部门", "Department"),
    Column("kind", "类型", "Kind", "label", FINDING_KINDS),
    Column("open", "待处理", "Open", "int"),
    Column("acknowledged", "已确认", "Acknowledged", "int"),
    Column("total", "合计", "Total", "int"),
)
ORDER = list(FINDING_KINDS)


def _explain(item: Mapping[str, Any]) -> str | None:
    """The one fact a reader needs beyond the columns (keys, candidates, an unknown code)."""
    details = item["details"] or {}
    kind = item["kind"]
    if kind == "undeclared":
        keys = details.get("keys") or {}
        parts = [f"{k}={v}" for k, v in sorted(keys.items()) if v][:3]
        model = " ".join(v for v in (details.get("vendor"), details.get("model")) if v)
        return "; ".join(([model] if model else []) + parts) or None
    if kind == "conflict":
        return ", ".join(details.get("candidates") or []) or None
    if kind == "unknown_department":
        return f"{details.get('code')} ({details.get('assets')})"
    if kind in ("missing", "suspect"):
        return details.get("last_seen")
    if kind == "mismatch" and details.get("matched_by"):
        return details["matched_by"]
    return None


def _row(item: Mapping[str, Any]) -> dict[str, Any]:
    details = item["details"] or {}
    declared = item.get("declared") or {}
    return {"id": item["id"], "kind": item["kind"], "state": item["state"],
            "department": item["department"], "category": declared.get("category"),
            "code": declared.get("code"),
            "name": details.get("name") or item.get("subject"),
            "source": (item.get("observed") or {}).get("source") or details.get("source"),
            "field": item.get("field"),
            "declared_value": _text(details.get("declared")) if item.get("field") else None,
            "observed_value": _text(details.get("observed")) if item.get("field") else None,
            "explanation": _explain(item),
            "first_seen": _time(item["first_seen"]), "last_seen": _time(item["last_seen"])}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def report(items: Iterable[Mapping[str, Any]], scope: Scope, *, scope_name: str | None,
           now: dt.datetime, timezone: str) -> Report:
    """The findings list of ``items`` (active findings, already scoped), by department,
    kind and first seen, with counts per department and kind."""
    items = [i for i in items if i["kind"] in RECONCILE_KINDS and i["state"] != "resolved"]
    rows = sorted((_row(i) for i in items), key=lambda r: (
        r["department"] or "~", ORDER.index(r["kind"]), r["code"] or "", r["id"]))
    counts: Counter = Counter()
    for row in rows:
        counts[(row["department"] or "(unknown)", row["kind"], row["state"])] += 1
    summary, totals = [], {"department": None, "kind": None, "open": 0, "acknowledged": 0,
                           "total": 0}
    for department, kind in sorted({(d, k) for d, k, _s in counts},
                                   key=lambda p: (p[0], ORDER.index(p[1]))):
        line = {"department": department, "kind": kind,
                "open": counts[(department, kind, "open")],
                "acknowledged": counts[(department, kind, "acknowledged")]}
        line["total"] = line["open"] + line["acknowledged"]
        summary.append(line)
        for key in ("open", "acknowledged", "total"):
            totals[key] += line[key]
    return Report("findings", scope.root, scope_name, None, now, timezone, [
        Section("items", "差异明细", "Findings", COLUMNS, rows),
        Section("counts", "按部门与类型统计", "By department and kind", COUNTS, summary,
                totals if summary else None),
    ])
