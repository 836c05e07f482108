"""Idle resources and rightsizing, from daily utilization summaries only.

A resource (an observed entity: a VM, a host, a device) is idle when its days stay under
the thresholds of its kind's policy (:class:`ledger.policy.IdlePolicy`) on at least
``days_required`` of the last ``window_days`` days; days with low coverage never count and
at least ``min_days`` judged days are needed. A threshold whose metric a resource does not
report is not evaluated (vCenter gives no per-VM network figures); CPU must be.

Declared status counts too: a device, cloud resource or information system declared 闲置
is an idle finding; one declared 在用 but observed idle is one, with a note. An
information system is idle when every resource it declares is judged idle. Each idle
finding carries the money it ties up (purchase price, annual cost or total investment) and
the approving department. Rightsizing recommends vCPUs and memory from the peak daily p95
divided by the target utilization, never below the floors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal
from typing import Any, Mapping, Sequence

from ledger.findings import Found
from ledger.policy import AnalysisPolicy, IdlePolicy, RightsizingPolicy
from ledger.reconcile.entities import Entity

GIB = 1024 ** 3
Ref = tuple[str, int]


@dataclasses.dataclass
class Verdict:
    """What the summaries say about one entity."""

    entity: Entity
    policy: IdlePolicy
    status: str                      # idle | active | insufficient_data
    judged_days: int
    idle_days: int
    evaluated: list[str]
    peaks: dict[str, float | None]
    rightsizing: dict[str, Any] | None = None


@dataclasses.dataclass
class IdleInputs:
    """What idle detection reads."""

    entities: Sequence[Entity]
    summaries: Mapping[int, list]        # observed row id -> utilization days
    links: Mapping[int, Ref]             # entity id -> declared asset
    declared: Mapping[Ref, Any]          # declared devices, resources and systems by ref
    today: dt.date


@dataclasses.dataclass
class IdleOutcome:
    """Verdicts per entity and the findings to sync."""

    verdicts: list[Verdict]
    found: list[Found]

    def summary(self) -> dict[str, Any]:
        return summarize(self.found, sum(v.status != "insufficient_data"
                                         for v in self.verdicts))


def summarize(found: Sequence[Found], judged: int) -> dict[str, Any]:
    """A run's summary: resources judged, idle findings and their money, oversized ones and
    what rightsizing would free."""
    idle = [f for f in found if f.kind == "idle"]
    sized = [f for f in found if f.kind == "oversized"]
    return {"resources_judged": judged,
            "idle": len(idle), "idle_investment_fen": sum(f.amount_fen or 0 for f in idle),
            "oversized": len(sized),
            "reclaimable_vcpus": sum(f.details["reclaimable_vcpus"] for f in sized),
            "reclaimable_memory_gib": round(sum(f.details["reclaimable_memory_gib"]
                                                for f in sized), 1)}


def merged_days(entity: Entity, summaries: Mapping[int, list]) -> list:
    """One summary per day for an entity: the row that covered most of that day."""
    best: dict[dt.date, Any] = {}
    for row in entity.rows:
        for day in summaries.get(row.id, ()):
            if day.day not in best or day.coverage > best[day.day].coverage:
                best[day.day] = day
    return [best[d] for d in sorted(best)]


def day_is_idle(day, policy: IdlePolicy) -> tuple[bool, list[str]] | None:
    """Whether one day meets the policy, and the thresholds it could evaluate; None when
    the day cannot be judged (low coverage, or no CPU figure for a CPU threshold)."""
    if day.low_coverage:
        return None
    checks = {
        "cpu_mean_max": day.cpu_mean, "cpu_p95_max": day.cpu_p95, "cpu_max_max": day.cpu_max,
        "memory_p95_max": day.memory_p95,
        "net_bytes_max": None if day.net_in_mean is None and day.net_out_mean is None else
        ((day.net_in_mean or 0) + (day.net_out_mean or 0)) / 8 * 86400 * day.coverage,
        "net_p95_bps_max": None if day.net_in_p95 is None and day.net_out_p95 is None else
        max(day.net_in_p95 or 0, day.net_out_p95 or 0)}
    thresholds = policy.thresholds()
    evaluated = [name for name in thresholds if checks[name] is not None]
    if not any(name.startswith("cpu") for name in evaluated):
        return None
    return all(checks[name] <= thresholds[name] for name in evaluated), evaluated


def judge(entity: Entity, days: list, policy: IdlePolicy, today: dt.date,
          rightsizing: RightsizingPolicy) -> Verdict:
    """The verdict on one entity over the policy's window (days before ``today``)."""
    first = today - dt.timedelta(days=policy.window_days)
    window = [d for d in days if first <= d.day < today]
    judged = [(d, r) for d in window if (r := day_is_idle(d, policy)) is not None]
    idle_days = sum(1 for _d, (idle, _e) in judged if idle)
    evaluated = sorted({name for _d, (_i, names) in judged for name in names})
    if len(judged) < policy.min_days:
        status = "insufficient_data"
    else:
        status = "idle" if idle_days >= policy.days_required else "active"
    peaks = {"cpu_p95": _peak(window, "cpu_p95"), "memory_p95": _peak(window, "memory_p95"),
             "net_in_p95": _peak(window, "net_in_p95"), "net_out_p95": _peak(window, "net_out_p95")}
    verdict = Verdict(entity, policy, status, len(judged), idle_days, evaluated, peaks)
    if len(judged) >= policy.min_days:
        verdict.rightsizing = rightsize(entity, days, today, rightsizing)
    return verdict


def _peak(days: list, column: str) -> float | None:
    values = [getattr(d, column) for d in days if not d.low_coverage
              and getattr(d, column) is not None]
    return max(values) if values else None


def rightsize(entity: Entity, days: list, today: dt.date,
              policy: RightsizingPolicy) -> dict[str, Any] | None:
    """Recommended vCPUs and memory for a resource with allocated vCPUs, or None."""
    first = today - dt.timedelta(days=policy.window_days)
    window = [d for d in days if first <= d.day < today and not d.low_coverage]
    return rightsize_figures(entity.value("vcpus")[0], entity.value("memory_bytes")[0],
                             _peak(window, "cpu_p95"), _peak(window, "memory_p95"), policy)


def rightsize_figures(vcpus: int | None, memory: int | None, cpu: float | None,
                      mem: float | None, policy: RightsizingPolicy) -> dict[str, Any] | None:
    """Recommended vCPUs and memory from the allocation and the peak daily p95 of CPU and
    memory over the rightsizing window, or None without vCPUs or a CPU figure."""
    if not vcpus or cpu is None:
        return None
    want_vcpus = max(policy.min_vcpus, math.ceil(vcpus * cpu / policy.target_cpu_percent))
    out = {"vcpus": vcpus, "recommended_vcpus": min(want_vcpus, vcpus),
           "cpu_p95": round(cpu, 2), "target_cpu_percent": policy.target_cpu_percent}
    if memory and mem is not None:
        gib = memory / GIB
        want = max(policy.min_memory_gib, math.ceil(gib * mem / policy.target_memory_percent))
        out.update(memory_gib=round(gib, 1), recommended_memory_gib=min(want, round(gib, 1)),
                   memory_p95=round(mem, 2),
                   target_memory_percent=policy.target_memory_percent)
    out["reclaimable_vcpus"] = vcpus - out["recommended_vcpus"]
    out["reclaimable_memory_gib"] = round(out.get("memory_gib", 0) -
                                          out.get("recommended_memory_gib", 0), 1)
    return out


def analyse(inputs: IdleInputs, policy: AnalysisPolicy) -> IdleOutcome:
    """Verdicts on every entity with summaries, and the idle and oversized findings."""
    verdicts = []
    for entity in inputs.entities:
        days = merged_days(entity, inputs.summaries)
        if days:
            verdicts.append(judge(entity, days, policy.idle_policy(entity.primary.kind),
                                  inputs.today, policy.rightsizing))
    found: list[Found] = []
    idle_refs: set[Ref] = set()
    judged_refs: dict[Ref, str] = {}
    for verdict in verdicts:
        ref = inputs.links.get(verdict.entity.id)
        if ref is not None:
            judged_refs[ref] = verdict.status
        if verdict.status == "idle":
            found.append(_entity_finding(verdict, ref, inputs.declared))
            if ref is not None:
                idle_refs.add(ref)
        if shrinks(verdict.rightsizing):
            found.append(_oversized(verdict, ref, inputs.declared))
    found += _declared_idle(inputs.declared, idle_refs)
    found += _systems(inputs.declared, judged_refs)
    return IdleOutcome(verdicts, found)


def shrinks(sized: dict[str, Any] | None) -> bool:
    """Whether a rightsizing frees a vCPU or at least 1 GiB (an oversized finding)."""
    return bool(sized) and (sized["reclaimable_vcpus"] > 0 or
                            sized["reclaimable_memory_gib"] >= 1)


def money_fen(value) -> int | None:
    """An amount in 元 (Decimal) as integer fen."""
    return None if value is None else int(Decimal(value) * 100)


def _money(row) -> tuple[int | None, str | None]:
    for column in ("purchase_price", "annual_cost", "total_investment"):
        value = getattr(row, column, None)
        if value is not None:
            return money_fen(value), column
    return None, None


def _approving(row, declared: Mapping[Ref, Any]) -> str | None:
    """The approving department of a declared asset: its own, else its system's."""
    if row is None:
        return None
    if getattr(row, "approving_department", None):
        return row.approving_department
    system = declared.get(("information_system", getattr(row, "information_system_id", None)))
    return system.approving_department if system is not None else None


def _declared_json(ref: Ref | None, declared: Mapping[Ref, Any]) -> dict | None:
    row = declared.get(ref) if ref is not None else None
    if row is None:   # none, or deleted from the census since reconciliation paired it
        return None
    status = getattr(row, "status", None) or getattr(row, "usage_status", None)
    return {"category": ref[0], "code": row.code, "name": row.name, "status": status}


def _entity_finding(verdict: Verdict, ref: Ref | None, declared: Mapping[Ref, Any]) -> Found:
    entity, row = verdict.entity, declared.get(ref) if ref else None
    amount, basis = _money(row) if row is not None else (None, None)
    details = {"basis": "observed", "policy": verdict.policy.name,
               "idle_days": verdict.idle_days, "judged_days": verdict.judged_days,
               "window_days": verdict.policy.window_days, "evaluated": verdict.evaluated,
               "thresholds": verdict.policy.thresholds(), "peaks": _rounded(verdict.peaks),
               "kind": entity.primary.kind, "source": entity.primary.source,
               "declared": _declared_json(ref, declared), "money_basis": basis,
               "approving_department": _approving(row, declared),
               "rightsizing": verdict.rightsizing}
    if row is not None and getattr(row, "status", None) == "in_use":
        details["note"] = "declared_in_use"
    return Found(f"idle|o:{entity.id}", "idle",
                 row.department_id if row is not None else entity.primary.department_id,
                 details, declared_category=ref[0] if row is not None else None,
                 declared_code=row.code if row is not None else None,
                 observed_asset_id=entity.id, observed_source=entity.primary.source,
                 amount_fen=amount)


def _oversized(verdict: Verdict, ref: Ref | None, declared: Mapping[Ref, Any]) -> Found:
    entity, row = verdict.entity, declared.get(ref) if ref else None
    return Found(f"oversized|o:{entity.id}", "oversized",
                 row.department_id if row is not None else entity.primary.department_id,
                 {**verdict.rightsizing, "kind": entity.primary.kind,
                  "source": entity.primary.source, "declared": _declared_json(ref, declared)},
                 declared_category=ref[0] if row is not None else None,
                 declared_code=row.code if row is not None else None,
                 observed_asset_id=entity.id, observed_source=entity.primary.source)


def _declared_idle(declared: Mapping[Ref, Any], reported: set[Ref]) -> list[Found]:
    """Devices and cloud resources declared 闲置 that no observed verdict already covers."""
    return [declared_idle_finding(ref, declared) for ref, row in declared.items()
            if ref[0] in ("device", "cloud_resource") and row.status == "idle"
            and ref not in reported]


def declared_idle_finding(ref: Ref, declared: Mapping[Ref, Any]) -> Found:
    """The idle finding of a device or cloud resource declared 闲置."""
    row = declared[ref]
    amount, basis = _money(row)
    return Found(f"idle|d:{ref[0]}:{ref[1]}", "idle", row.department_id,
                 {"basis": "declared", "declared": _declared_json(ref, declared),
                  "money_basis": basis, "approving_department": _approving(row, declared)},
                 declared_category=ref[0], declared_code=row.code, amount_fen=amount)


def _systems(declared: Mapping[Ref, Any], judged: Mapping[Ref, str]) -> list[Found]:
    """Information systems declared 闲置, or whose every resource was judged idle."""
    members: dict[int, list[Ref]] = defaultdict(list)
    for ref, row in declared.items():
        system = getattr(row, "information_system_id", None) if ref[0] != \
            "information_system" else None
        if system is not None:
            members[system].append(ref)
    out = []
    for ref, row in declared.items():
        if ref[0] != "information_system":
            continue
        parts = members.get(ref[1], [])
        observed_idle = bool(parts) and all(judged.get(p) == "idle" for p in parts)
        found = system_finding(ref, parts, observed_idle, declared)
        if found is not None:
            out.append(found)
    return out


def system_finding(ref: Ref, parts: list[Ref], observed_idle: bool,
                   declared: Mapping[Ref, Any]) -> Found | None:
    """The idle finding of an information system declared idle or whose resources
    (``parts``, in declared order) were all judged idle, else None."""
    row = declared[ref]
    if row.usage_status != "idle" and not observed_idle:
        return None
    amount, basis = _money(row)
    return Found(f"idle|d:information_system:{ref[1]}", "idle", row.department_id, {
        "basis": "observed" if observed_idle else "declared",
        "declared": _declared_json(ref, declared), "money_basis": basis,
        "approving_department": _approving(row, declared),
        "resources": [f"{c}:{declared[(c, i)].code}" for c, i in parts],
        "note": "declared_in_use" if observed_idle and row.usage_status == "in_use"
        else None}, declared_category="information_system", declared_code=row.code,
        amount_fen=amount)


def _rounded(values: dict) -> dict:
    return {k: None if v is None else round(v, 2) for k, v in values.items()}
