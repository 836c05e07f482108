"""The compute ledger (算力一本账): how much compute there is, where, of what kind, how used.

Physical machines are the observed entities with hardware behind them (a BMC, a
hypervisor, a host agent on bare metal); virtual machines are instances. Totals of
sockets, cores, threads, memory, accelerators and peak FLOPS are grouped by region,
department, data center, platform or CPU architecture. CPU models are classified by a
table users extend (``config/cpu_models.yaml``); a model no rule knows is listed as
unknown, never guessed. Peak FLOPS come from ``config/flops.yaml``, each figure with its
source. Utilization is the mean of the daily summaries of the last days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from ledger.reconcile.entities import Entity

CONFIG = Path(__file__).resolve().parent.parent / "config"
GIB = 1024 ** 3
DIMENSIONS = ("region", "department", "dc", "platform", "arch")
#: Vendors and models of virtual machines (a host agent inside a VM is not hardware).
VIRTUAL = re.compile(r"qemu|\bkvm\b|vmware|virtualbox|\bxen\b|bochs|openstack|"
                     r"virtual machine|hvm domu|alibaba cloud|tencent cloud|huawei cloud|"
                     r"\bparallels\b", re.I)
PHYSICAL_KINDS = frozenset({"server", "hypervisor", "host"})


@dataclasses.dataclass(frozen=True)
class CpuRule:
    """One row of the CPU classification table."""

    pattern: re.Pattern
    arch: str
    vendor: str
    domestic: bool


@dataclasses.dataclass(frozen=True)
class FlopsEntry:
    """Peak GFLOPS of one chip, with where the figures come from."""

    pattern: re.Pattern
    kind: str
    fp64: float | None
    fp32: float | None
    fp16: float | None
    source: str


@dataclasses.dataclass(frozen=True)
class Tables:
    """The classification and FLOPS tables, user rules first."""

    cpus: tuple[CpuRule, ...]
    flops: tuple[FlopsEntry, ...]

    def classify(self, model: str | None) -> CpuRule | None:
        """The first rule whose pattern is in ``model``, or None."""
        return next((r for r in self.cpus if model and r.pattern.search(model)), None)

    def peak(self, model: str | None, kind: str) -> FlopsEntry | None:
        """The FLOPS entry of a CPU or accelerator model, or None."""
        return next((e for e in self.flops if model and e.kind == kind
                     and e.pattern.search(model)), None)


def load_tables(cpu_file: str | None = None, flops_file: str | None = None) -> Tables:
    """The built-in tables, with the user's files (if any) tried first."""
    cpus, flops = [], []
    for path in (cpu_file, CONFIG / "cpu_models.yaml"):
        for rule in _read(path, "rules"):
            cpus.append(CpuRule(re.compile(rule["match"], re.I), rule["arch"], rule["vendor"],
                                bool(rule.get("domestic"))))
    for path in (flops_file, CONFIG / "flops.yaml"):
        for entry in _read(path, "entries"):
            flops.append(FlopsEntry(re.compile(entry["match"], re.I), entry["kind"],
                                    entry.get("fp64"), entry.get("fp32"), entry.get("fp16"),
                                    entry["source"]))
    return Tables(tuple(cpus), tuple(flops))


def _read(path, key: str) -> list[dict]:
    if path is None:
        return []
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return list(data.get(key) or [])


@dataclasses.dataclass
class ComputeInputs:
    """What the compute ledger reads."""

    entities: Sequence[Entity]
    storage: Sequence                       # observed datastores and storage pools
    owner: Mapping[int, int | None]         # entity id -> department id
    place: Mapping[int, str | None]         # entity id -> data center code
    platform: Mapping[int, str | None]      # entity id -> platform code
    region: Mapping[int, str | None]        # entity id -> region code
    cpu_usage: Mapping[int, float]          # entity id -> mean CPU % of the last days
    accelerators: Mapping[int, list[str]]   # observed row id -> accelerator models
    departments: Mapping[int, str]          # department id -> code


def is_physical(entity: Entity) -> bool:
    """Hardware: a BMC (Redfish, or an SNMP device whose profile answers for the machine)
    or hypervisor row, or a host agent whose machine is not virtual."""
    if any(r.kind in ("instance", "volume") for r in entity.rows):
        return False
    for row in entity.rows:
        if row.kind in ("server", "hypervisor") or (row.kind == "device" and row.hardware):
            return True
        if row.kind == "host" and not VIRTUAL.search(f"{row.vendor or ''} {row.model or ''}"):
            return True
    return False


def _zero() -> dict[str, float]:
    return defaultdict(float)


def compute(inputs: ComputeInputs, tables: Tables, by: str = "department") -> dict[str, Any]:
    """The compute ledger grouped ``by`` one of :data:`DIMENSIONS`."""
    totals, groups = _zero(), defaultdict(_zero)
    composition: dict[tuple, dict[str, float]] = defaultdict(_zero)
    unknown_cpu, unknown_flops, sources = defaultdict(_zero), set(), set()
    usage = {"physical": [0.0, 0.0], "virtual": [0.0, 0.0]}
    for entity in inputs.entities:
        physical = is_physical(entity)
        virtual = not physical and any(r.kind == "instance" for r in entity.rows)
        if not (physical or virtual):
            continue
        figures = _physical(entity, inputs, tables, unknown_flops, sources) if physical \
            else _virtual(entity)
        key = _group_key(entity, inputs, tables, by)
        for name, value in figures.items():
            totals[name] += value
            groups[key][name] += value
        weight = figures.get("threads" if physical else "vcpus") or 0
        if entity.id in inputs.cpu_usage and weight:
            pair = usage["physical" if physical else "virtual"]
            pair[0] += inputs.cpu_usage[entity.id] * weight
            pair[1] += weight
        if physical:
            model, _ = entity.value("cpu_model")
            rule = tables.classify(model)
            if rule is None:
                unknown_cpu[model or "(none)"]["hosts"] += 1
                unknown_cpu[model or "(none)"]["cores"] += figures.get("cores", 0)
            else:
                part = composition[(rule.arch, rule.vendor, rule.domestic)]
                part["hosts"] += 1
                part["cores"] += figures.get("cores", 0)
    for row in inputs.storage:
        if row.disk_bytes:
            totals["storage_bytes"] += row.disk_bytes
    return _report(by, totals, groups, composition, unknown_cpu, unknown_flops, sources, usage,
                   inputs)


def _physical(entity: Entity, inputs: ComputeInputs, tables: Tables, unknown: set,
              sources: set) -> dict[str, float]:
    model, _ = entity.value("cpu_model")
    cores = entity.value("cpu_cores")[0] or 0
    threads = entity.value("cpu_threads")[0] or cores
    sockets = entity.value("cpu_sockets")[0] or (1 if cores else 0)
    out = {"hosts": 1, "sockets": sockets, "cores": cores, "threads": threads,
           "memory_bytes": entity.value("memory_bytes")[0] or 0,
           "gpus": entity.value("gpus")[0] or 0}
    peak = tables.peak(model, "cpu")
    if peak is None and model:
        unknown.add(model)
    chips = [(peak, sockets)] if peak else []
    for row in entity.rows:
        for name in inputs.accelerators.get(row.id, ()):
            entry = tables.peak(name, "accelerator")
            if entry is None:
                unknown.add(name)
            else:
                chips.append((entry, 1))
    for entry, count in chips:
        sources.add(entry.source)
        for precision in ("fp64", "fp32", "fp16"):
            value = getattr(entry, precision)
            if value:
                out[f"{precision}_gflops"] = out.get(f"{precision}_gflops", 0) + value * count
    return out


def _virtual(entity: Entity) -> dict[str, float]:
    power, _ = entity.value("power_state")
    return {"instances": 1, "instances_running": int(power != "stopped"),
            "vcpus": entity.value("vcpus")[0] or 0,
            "vm_memory_bytes": entity.value("memory_bytes")[0] or 0,
            "vm_disk_bytes": entity.value("disk_bytes")[0] or 0}


def _group_key(entity: Entity, inputs: ComputeInputs, tables: Tables, by: str) -> str:
    if by == "department":
        return inputs.departments.get(inputs.owner.get(entity.id)) or "(unknown)"
    if by == "dc":
        return inputs.place.get(entity.id) or "(unknown)"
    if by == "platform":
        return inputs.platform.get(entity.id) or "(none)"
    if by == "region":
        return inputs.region.get(entity.id) or "(unknown)"
    rule = tables.classify(entity.value("cpu_model")[0])
    if rule is None:
        return "(virtual)" if not is_physical(entity) else "(unknown)"
    return rule.arch


def _report(by, totals, groups, composition, unknown_cpu, unknown_flops, sources, usage,
            inputs) -> dict[str, Any]:
    classified = sum(p["cores"] for p in composition.values())
    domestic = sum(p["cores"] for (_a, _v, d), p in composition.items() if d)
    return {
        "by": by,
        "totals": _finish({"storage_bytes": 0, **totals}),
        "groups": [{"key": key, **_finish(values)} for key, values in sorted(groups.items())],
        "composition": [{"arch": a, "vendor": v, "domestic": d, "hosts": int(p["hosts"]),
                         "cores": int(p["cores"]),
                         "share": round(p["cores"] / classified, 4) if classified else None}
                        for (a, v, d), p in sorted(composition.items(),
                                                   key=lambda kv: (-kv[1]["cores"], kv[0]))],
        "domestic_share": round(domestic / classified, 4) if classified else None,
        "unknown_cpu_models": [{"model": m, "hosts": int(p["hosts"]), "cores": int(p["cores"])}
                               for m, p in sorted(unknown_cpu.items())],
        "flops_sources": sorted(sources),
        "models_without_flops": sorted(unknown_flops),
        "utilization": {k: round(s / w, 2) if w else None for k, (s, w) in usage.items()},
    }


#: Figures every group and the totals carry (0 when the group has no such machine), so a
#: consumer of the API reads the same keys everywhere.
FIGURES = ("hosts", "sockets", "cores", "threads", "memory_bytes", "gpus", "instances",
           "instances_running", "vcpus", "vm_memory_bytes", "vm_disk_bytes")


def _finish(values: Mapping[str, float]) -> dict[str, Any]:
    values = {**dict.fromkeys(FIGURES, 0), **values}
    out = {k: int(v) if float(v).is_integer() else round(v, 2) for k, v in values.items()}
    for precision in ("fp64", "fp32", "fp16"):
        gflops = values.get(f"{precision}_gflops")
        out.pop(f"{precision}_gflops", None)
        # No chip with a figure at this precision (no table entry, or the chips have no
        # such arithmetic) is unknown, never a peak of 0.
        out[f"{precision}_tflops"] = round(gflops / 1000, 3) if gflops else \
            (None if values.get("hosts") else 0)
    threads = values.get("threads") or 0
    out["memory_gib"] = round(values.get("memory_bytes", 0) / GIB, 1)
    out["overcommit"] = round(values.get("vcpus", 0) / threads, 2) if threads else None
    return out


def cpu_usage(entities: Iterable[Entity], summaries: Mapping[int, list],
              since: dt.date) -> dict[int, float]:
    """Mean CPU % per entity over its days since ``since`` (well-covered days only)."""
    out = {}
    for entity in entities:
        values = [d.cpu_mean for row in entity.rows for d in summaries.get(row.id, ())
                  if d.day >= since and not d.low_coverage and d.cpu_mean is not None]
        if values:
            out[entity.id] = sum(values) / len(values)
    return out
