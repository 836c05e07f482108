"""The compute ledger as set-based SQL: the database groups and sums, Python never walks
the estate.

:func:`ledger.compute.compute` defines the figures over :class:`Entity` objects; this
module computes the same report with a few statements whatever the size of the estate
(the reference function is the oracle of its tests):

1. the distinct values that need Python's rules (host vendor and model for "is this a
   virtual machine", CPU models for the classification and FLOPS tables, data center and
   platform tags for the code books, accelerator models of the few rows that report
   accelerators) are read, judged once each, and put into temporary tables;
2. one statement builds one row per entity in scope into a temporary table: rows several
   sources see are one entity (``observed_asset.entity_id``, kept by reconciliation), and
   each figure is the first non-empty one by source priority, as
   :meth:`ledger.reconcile.entities.Entity.value` reads it; its owner, data center, platform
   and region come from the declared asset reconciliation paired it with, else its tags;
3. ``GROUP BY`` statements over that table give totals, groups, composition, unknown
   models and utilization.

Entities are those of the last reconciliation: a row first seen since then counts alone
until the next run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text

from ledger import entity_sql
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.compute import VIRTUAL, Tables, _report
from ledger.models import ObservedAsset

KINDS = entity_sql.KINDS
STORAGE_KINDS = ("datastore", "storage_pool")
PHYSICAL_FIGURES = ("hosts", "sockets", "cores", "threads", "memory_bytes", "gpus")
VIRTUAL_FIGURES = ("instances", "instances_running", "vcpus", "vm_memory_bytes",
                   "vm_disk_bytes")
FLOPS = ("fp64", "fp32", "fp16")
#: Figures each entity gets (physical first non-empty values; see Entity.value).
VALUE_COLUMNS = ("cpu_model", "cpu_sockets", "cpu_cores", "cpu_threads", "vcpus",
                 "memory_bytes", "disk_bytes", "gpus", "power_state", "department_id",
                 "data_center", "platform")
GROUP_KEYS = {
    "department": "COALESCE(dep.code, '(unknown)')",
    "dc": "COALESCE(dct.code, '(unknown)')",
    "platform": "COALESCE(pf.code, '(none)')",
    "region": "COALESCE(rg.code, '(unknown)')",
    "arch": "COALESCE(cpu.arch, CASE WHEN e.physical = 1 THEN '(unknown)' "
            "ELSE '(virtual)' END)",
}
TEMP = {
    "tmp_cl_virtual": "vendor TEXT NOT NULL, model TEXT NOT NULL",
    "tmp_cl_cpu": "model TEXT PRIMARY KEY, arch TEXT, vendor TEXT, "
                  "domestic INTEGER, has_peak INTEGER NOT NULL, fp64 FLOAT, fp32 FLOAT, "
                  "fp16 FLOAT, source TEXT",
    "tmp_cl_accel": "row_id INTEGER NOT NULL, model TEXT NOT NULL, fp64 FLOAT, "
                    "fp32 FLOAT, fp16 FLOAT",
}


def compute_ledger(conn: Connection, tables: Tables, scope: Scope, *, by: str,
                   since: dt.date) -> dict[str, Any]:
    """The compute ledger of ``scope`` grouped ``by`` one of :data:`ledger.compute.DIMENSIONS`,
    utilization from the daily summaries since ``since`` (the report of
    :func:`ledger.compute.compute`)."""
    if by not in GROUP_KEYS:
        raise ValueError(f"unknown grouping {by!r}")
    with entity_sql.temporary(conn, ("tmp_cl_entity", "tmp_cl_link", "tmp_cl_usage",
                                     "tmp_cl_accsum", "tmp_cl_code", *TEMP)):
        for name, columns in TEMP.items():
            conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
        accelerators = _fill(conn, tables)
        _entities(conn, scope, by, since)
        return _report_from_tables(conn, by, scope, accelerators, tables)


def _fill(conn: Connection, tables: Tables) -> dict[int, list[tuple[str, Any]]]:
    """Judge the distinct values once each; return accelerator entries per row id."""
    oa = ObservedAsset.__table__
    kinds = oa.c.kind.in_(KINDS)
    hosts = conn.execute(select(oa.c.vendor, oa.c.model).where(oa.c.kind == "host")
                         .distinct()).all()
    entity_sql.insert(conn, "tmp_cl_virtual", [
        {"vendor": vendor or "", "model": model or ""} for vendor, model in hosts
        if VIRTUAL.search(f"{vendor or ''} {model or ''}")])
    models = conn.execute(select(oa.c.cpu_model).where(kinds, oa.c.cpu_model.is_not(None),
                                                       oa.c.cpu_model != "").distinct())
    cpu_rows = []
    for (model,) in models:
        rule, peak = tables.classify(model), tables.peak(model, "cpu")
        cpu_rows.append({"model": model, "arch": rule.arch if rule else None,
                         "vendor": rule.vendor if rule else None,
                         "domestic": int(rule.domestic) if rule else None,
                         "has_peak": int(peak is not None),
                         **{p: getattr(peak, p) if peak else None for p in FLOPS},
                         "source": peak.source if peak else None})
    entity_sql.insert(conn, "tmp_cl_cpu", cpu_rows)
    entity_sql.code_table(conn, "tmp_cl_code", {"data_center": "data_center",
                                                "cloud_platform": "platform"})
    accelerators: dict[int, list[tuple[str, Any]]] = {}
    rows = []
    for id_, attributes in conn.execute(select(oa.c.id, oa.c.attributes).where(
            kinds, oa.c.gpus.is_not(None), oa.c.gpus != 0)):
        processors = (attributes or {}).get("processors") if isinstance(attributes, dict) \
            else None
        for processor in processors if isinstance(processors, list) else ():
            if isinstance(processor, dict) and processor.get("type") == "GPU" and \
                    isinstance(processor.get("model"), str) and processor["model"]:
                entry = tables.peak(processor["model"], "accelerator")
                accelerators.setdefault(id_, []).append((processor["model"], entry))
                rows.append({"row_id": id_, "model": processor["model"],
                             **{p: getattr(entry, p) if entry else None for p in FLOPS}})
    entity_sql.insert(conn, "tmp_cl_accel", rows)
    return accelerators


def _entities(conn: Connection, scope: Scope, by: str, since: dt.date) -> None:
    """One row per entity of ``scope`` that is a physical machine or a virtual one."""
    t = {k: TABLES[k].name for k in ("device", "cloud_resource", "information_system",
                                     "department", "data_center", "cloud_platform",
                                     "region")}
    entities = entity_sql.query(VALUE_COLUMNS, flags={
        "f_res": "CASE WHEN oa.kind IN ('instance', 'volume') THEN 1 ELSE 0 END",
        "f_inst": "CASE WHEN oa.kind = 'instance' THEN 1 ELSE 0 END",
        "f_hw": "CASE WHEN oa.kind IN ('server', 'hypervisor') "
                "OR (oa.kind = 'host' AND v.vendor IS NULL) THEN 1 "
                "WHEN oa.kind = 'device' AND oa.hardware THEN 1 ELSE 0 END"},
        join="LEFT JOIN tmp_cl_virtual v ON oa.kind = 'host' "
             "AND v.vendor = COALESCE(oa.vendor, '') AND v.model = COALESCE(oa.model, '')")
    usage = """
        SELECT COALESCE(oa.entity_id, oa.id) AS eid, AVG(ud.cpu_mean) AS usage
        FROM utilization_day ud JOIN observed_asset oa ON oa.id = ud.asset_id
        WHERE ud.day >= :since AND ud.low_coverage = :no AND ud.cpu_mean IS NOT NULL
        GROUP BY COALESCE(oa.entity_id, oa.id)"""
    accel = """
        SELECT COALESCE(oa.entity_id, oa.id) AS eid, SUM(a.fp64) AS fp64,
               SUM(a.fp32) AS fp32, SUM(a.fp16) AS fp16
        FROM tmp_cl_accel a JOIN observed_asset oa ON oa.id = a.row_id
        GROUP BY COALESCE(oa.entity_id, oa.id)"""
    params: dict[str, Any] = {"since": since, "no": False}
    entity_sql.link_table(conn, "tmp_cl_link")
    for name, columns, key, select_ in (
            ("tmp_cl_usage", "eid INTEGER NOT NULL, usage FLOAT", "eid", usage),
            ("tmp_cl_accsum", "eid INTEGER NOT NULL, fp64 FLOAT, fp32 FLOAT, fp16 FLOAT",
             "eid", accel)):
        entity_sql.temp_table(conn, name, columns, key, select_, params)
    owner = ("CASE WHEN COALESCE(d.id, cr.id, s.id) IS NOT NULL "
             "THEN COALESCE(d.department_id, cr.department_id, s.department_id) "
             "ELSE e.department_id END")
    scoped = "" if scope.unrestricted else "AND x.owner IN :scope"
    physical_sql = "CASE WHEN e.f_res = 0 AND e.f_hw = 1 THEN 1 ELSE 0 END"
    cores = "COALESCE(e.cpu_cores, 0)"
    sockets = f"COALESCE(NULLIF(e.cpu_sockets, 0), CASE WHEN {cores} <> 0 THEN 1 ELSE 0 END)"
    flops = ", ".join(
        f"CASE WHEN e.physical = 1 THEN COALESCE(cpu.{p} * {sockets}, 0) + "
        f"COALESCE(ac.{p}, 0) ELSE 0 END AS {p}" for p in FLOPS)
    statement = f"""
        CREATE TEMPORARY TABLE tmp_cl_entity AS
        SELECT x.* FROM (
          SELECT e.eid, e.physical, 1 - e.physical AS virtual, e.cpu_model,
                 {GROUP_KEYS[by]} AS gkey, {owner} AS owner,
                 cpu.arch, cpu.vendor AS cpu_vendor, cpu.domestic, cpu.has_peak, cpu.source,
                 e.physical * {cores} AS cores,
                 e.physical * COALESCE(NULLIF(e.cpu_threads, 0), {cores}) AS threads,
                 e.physical * {sockets} AS sockets,
                 e.physical * COALESCE(e.memory_bytes, 0) AS memory_bytes,
                 e.physical * COALESCE(e.gpus, 0) AS gpus,
                 (1 - e.physical) * CASE WHEN e.power_state = 'stopped' THEN 0 ELSE 1 END
                     AS instances_running,
                 (1 - e.physical) * COALESCE(e.vcpus, 0) AS vcpus,
                 (1 - e.physical) * COALESCE(e.memory_bytes, 0) AS vm_memory_bytes,
                 (1 - e.physical) * COALESCE(e.disk_bytes, 0) AS vm_disk_bytes,
                 {flops}, u.usage
          FROM (SELECT ent.*, {physical_sql.replace("e.", "ent.")} AS physical
                FROM ({entities}) ent) e
          LEFT JOIN tmp_cl_cpu cpu ON cpu.model = e.cpu_model
          LEFT JOIN tmp_cl_link l ON l.observed_asset_id = e.eid
          LEFT JOIN {t["device"]} d ON l.declared_category = 'device' AND d.id = l.declared_id
          LEFT JOIN {t["cloud_resource"]} cr
               ON l.declared_category = 'cloud_resource' AND cr.id = l.declared_id
          LEFT JOIN {t["information_system"]} s
               ON l.declared_category = 'information_system' AND s.id = l.declared_id
          LEFT JOIN tmp_cl_code cdc ON cdc.category = 'data_center' AND cdc.tag = e.data_center
          LEFT JOIN tmp_cl_code cpf ON cpf.category = 'cloud_platform' AND cpf.tag = e.platform
          LEFT JOIN {t["data_center"]} dct ON dct.id = COALESCE(cdc.id, d.data_center_id)
          LEFT JOIN {t["cloud_platform"]} pf ON pf.id = COALESCE(cpf.id, cr.platform_id)
          LEFT JOIN {t["department"]} dep ON dep.id = {owner}
          LEFT JOIN {t["region"]} rg ON rg.id = COALESCE(dct.region_id, dep.region_id)
          LEFT JOIN tmp_cl_accsum ac ON ac.eid = e.eid
          LEFT JOIN tmp_cl_usage u ON u.eid = e.eid
          WHERE e.physical = 1 OR e.f_inst = 1
        ) x WHERE 1 = 1 {scoped}"""
    query = text(statement)
    if not scope.unrestricted:
        query = query.bindparams(bindparam("scope", expanding=True))
        params["scope"] = sorted(scope.department_ids) or [-1]
    conn.execute(query, params)


def _number(value: Any) -> float | int:
    """A database sum as int when whole (PostgreSQL sums integers as numeric)."""
    if value is None:
        return 0
    number = float(value)
    return int(number) if number.is_integer() and not isinstance(value, float) else number


def _report_from_tables(conn: Connection, by: str, scope: Scope,
                        accelerators: dict[int, list[tuple[str, Any]]],
                        tables: Tables) -> dict[str, Any]:
    figures = ["SUM(physical) AS hosts", "SUM(sockets) AS sockets", "SUM(cores) AS cores",
               "SUM(threads) AS threads", "SUM(memory_bytes) AS memory_bytes",
               "SUM(gpus) AS gpus", "SUM(virtual) AS instances",
               "SUM(instances_running) AS instances_running", "SUM(vcpus) AS vcpus",
               "SUM(vm_memory_bytes) AS vm_memory_bytes",
               "SUM(vm_disk_bytes) AS vm_disk_bytes",
               *(f"SUM({p}) AS {p}_gflops" for p in FLOPS)]
    select_figures = ", ".join(figures)
    totals: dict[str, float] = {}
    groups: dict[str, dict[str, float]] = {}
    for row in conn.execute(text(f"SELECT gkey, {select_figures} FROM tmp_cl_entity "
                                 "GROUP BY gkey")).mappings():
        groups[row["gkey"]] = _figures(row)
        for name, value in groups[row["gkey"]].items():
            totals[name] = totals.get(name, 0) + value
    storage = _storage(conn, scope)
    if storage:
        totals["storage_bytes"] = storage
    composition: dict[tuple, dict[str, float]] = {}
    for arch, vendor, domestic, hosts, cores in conn.execute(text(
            "SELECT arch, cpu_vendor, domestic, COUNT(*), SUM(cores) FROM tmp_cl_entity "
            "WHERE physical = 1 AND arch IS NOT NULL GROUP BY arch, cpu_vendor, domestic")):
        composition[(arch, vendor, bool(domestic))] = {"hosts": hosts, "cores": _number(cores)}
    unknown_cpu = {model: {"hosts": hosts, "cores": _number(cores)}
                   for model, hosts, cores in conn.execute(text(
                       "SELECT COALESCE(cpu_model, '(none)'), COUNT(*), SUM(cores) "
                       "FROM tmp_cl_entity WHERE physical = 1 AND arch IS NULL "
                       "GROUP BY COALESCE(cpu_model, '(none)')"))}
    unknown_flops = set(conn.execute(text(
        "SELECT DISTINCT cpu_model FROM tmp_cl_entity WHERE physical = 1 "
        "AND cpu_model IS NOT NULL AND (has_peak IS NULL OR has_peak = 0)")).scalars())
    sources = set(conn.execute(text(
        "SELECT DISTINCT source FROM tmp_cl_entity WHERE physical = 1 AND has_peak = 1"))
        .scalars())
    # Accelerators of the physical entities in scope (a handful of rows).
    for (row_id,) in conn.execute(text(
            "SELECT a.row_id FROM tmp_cl_accel a JOIN observed_asset oa ON oa.id = a.row_id "
            "JOIN tmp_cl_entity e ON e.eid = COALESCE(oa.entity_id, oa.id) "
            "WHERE e.physical = 1 GROUP BY a.row_id")):
        for name, entry in accelerators.get(row_id, ()):
            if entry is None:
                unknown_flops.add(name)
            else:
                sources.add(entry.source)
    usage = {}
    for name, flag, weight in (("physical", 1, "threads"), ("virtual", 0, "vcpus")):
        weighted, total = conn.execute(text(
            f"SELECT SUM(usage * {weight}), SUM({weight}) FROM tmp_cl_entity "
            f"WHERE physical = {flag} AND usage IS NOT NULL AND {weight} <> 0")).one()
        usage[name] = [float(weighted or 0), float(total or 0)]
    return _report(by, totals, groups, composition, unknown_cpu, unknown_flops, sources,
                   usage, None)


def _figures(row) -> dict[str, float]:
    """The figures a group has: physical ones when it has hosts, virtual ones when it has
    instances (as the reference adds them), FLOPS only when some chip has a figure."""
    out: dict[str, float] = {}
    if row["hosts"]:
        out.update((name, _number(row[name])) for name in PHYSICAL_FIGURES)
        out.update((f"{p}_gflops", float(row[f"{p}_gflops"])) for p in FLOPS
                   if row[f"{p}_gflops"])
    if row["instances"]:
        out.update((name, _number(row[name])) for name in VIRTUAL_FIGURES)
    return out


def _storage(conn: Connection, scope: Scope) -> int:
    oa = ObservedAsset.__table__
    query = select(func.sum(oa.c.disk_bytes)).where(oa.c.kind.in_(STORAGE_KINDS),
                                                    oa.c.disk_bytes.is_not(None),
                                                    oa.c.disk_bytes != 0)
    if not scope.unrestricted:
        query = query.where(oa.c.department_id.in_(sorted(scope.department_ids) or [-1]))
    return int(conn.execute(query).scalar() or 0)
