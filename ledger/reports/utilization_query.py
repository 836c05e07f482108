"""The utilization report's figures as set-based SQL (the rules of
:func:`ledger.reports.utilization.build`).

The database merges each cloud instance's daily summaries over the period, judges each day
against the idle policy of its kind, and sums per (month, department, information system):
resources, allocated and used vCPU and memory, judged and idle vCPU-days, and the money of
resources without a system. Python receives one row per (month, department, system).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from ledger import entity_sql
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.idle_query import IDLE, JUDGED, merged_days, policy_table
from ledger.policy import AnalysisPolicy
from ledger.reports.utilization import _Cell, months

TEMP = ("tmp_ut_entity", "tmp_ut_policy", "tmp_ut_day", "tmp_ut_period", "tmp_ut_link",
        "tmp_ut_owner")
GIB = 1024 ** 3


def build(conn: Connection, policy: AnalysisPolicy, scope: Scope, first: dt.date,
          last: dt.date) -> dict:
    """``{"cells", "systems", "money"}`` as :func:`ledger.reports.utilization.build`."""
    with entity_sql.temporary(conn, TEMP):
        return _build(conn, policy, scope, first, last)


def _build(conn: Connection, policy: AnalysisPolicy, scope: Scope, first: dt.date,
           last: dt.date) -> dict:
    params: dict[str, Any] = {"since": first, "until": last, "no": False}
    # Cloud instances: entities with an instance row (never physical, as the compute ledger).
    entity_sql.temp_table(
        conn, "tmp_ut_entity", "eid INTEGER NOT NULL, kind TEXT, "
        "department_id INTEGER, vcpus INTEGER, memory_bytes BIGINT", "eid",
        "SELECT eid, kind, department_id, vcpus, memory_bytes FROM (" +
        entity_sql.query(("vcpus", "memory_bytes"), primary=("kind", "department_id"),
                         flags={"f_inst": "CASE WHEN oa.kind = 'instance' THEN 1 ELSE 0 END"})
        + ") e WHERE f_inst = 1")
    policy_table(conn, "tmp_ut_policy", "tmp_ut_entity", policy, last)
    merged_days(conn, "tmp_ut_day", params, until=True)
    conn.execute(text("CREATE TEMPORARY TABLE tmp_ut_period (name TEXT NOT NULL, "
                      "first_day DATE NOT NULL, last_day DATE NOT NULL)"))
    conn.execute(text("INSERT INTO tmp_ut_period VALUES (:name, :first_day, :last_day)"),
                 [{"name": n, "first_day": a, "last_day": b} for n, a, b in months(first, last)])
    entity_sql.link_table(conn, "tmp_ut_link")
    t = {k: TABLES[k].name for k in ("device", "cloud_resource", "information_system")}
    # Owner, system, allocation and money of each instance (as ``_owner``/``allocation``).
    money = ("COALESCE(d.purchase_price, cr.annual_cost)")
    owner = f"""
        SELECT e.eid, e.kind,
               CASE WHEN s.id IS NOT NULL THEN s.department_id
                    WHEN d.id IS NOT NULL THEN d.department_id
                    WHEN cr.id IS NOT NULL THEN cr.department_id
                    ELSE e.department_id END AS department_id,
               CASE WHEN s.id IS NOT NULL THEN s.id
                    ELSE COALESCE(d.information_system_id, cr.information_system_id)
               END AS system_id,
               CAST(COALESCE(NULLIF(e.vcpus, 0), NULLIF(cr.vcpu, 0), 0) AS FLOAT) AS cpus,
               CASE WHEN e.memory_bytes IS NOT NULL AND e.memory_bytes <> 0
                    THEN CAST(e.memory_bytes AS FLOAT) / CAST({GIB} AS FLOAT)
                    ELSE CAST(COALESCE(d.memory_gib, cr.memory_gib, 0) AS FLOAT) END AS gib,
               CASE WHEN s.id IS NULL AND {money} IS NOT NULL
                    THEN CAST(ROUND({money} * 100) AS BIGINT) END AS money_fen
        FROM tmp_ut_entity e
        LEFT JOIN tmp_ut_link l ON l.observed_asset_id = e.eid
        LEFT JOIN {t["device"]} d ON l.declared_category = 'device' AND d.id = l.declared_id
        LEFT JOIN {t["cloud_resource"]} cr
             ON l.declared_category = 'cloud_resource' AND cr.id = l.declared_id
        LEFT JOIN {t["information_system"]} s
             ON l.declared_category = 'information_system' AND s.id = l.declared_id"""
    entity_sql.temp_table(
        conn, "tmp_ut_owner", "eid INTEGER NOT NULL, kind TEXT, department_id INTEGER, "
        "system_id INTEGER, cpus FLOAT, gib FLOAT, money_fen BIGINT", "eid", owner)
    scoped = "" if scope.unrestricted else "WHERE o.department_id IN :scope"
    query = text(f"""
        SELECT m.name, o.department_id, o.system_id, COUNT(*) AS resources,
               SUM(o.cpus) AS vcpu,
               SUM(CASE WHEN m.cpu_n > 0 THEN o.cpus * m.cpu_sum / m.cpu_n / 100 ELSE 0 END)
                   AS vcpu_used,
               SUM(o.gib) AS memory,
               SUM(CASE WHEN m.mem_n > 0 THEN o.gib * m.mem_sum / m.mem_n / 100 ELSE 0 END)
                   AS memory_used,
               SUM(CASE WHEN o.cpus <> 0 THEN o.cpus ELSE 1.0 END * m.judged) AS judged,
               SUM(CASE WHEN o.cpus <> 0 THEN o.cpus ELSE 1.0 END * m.idle) AS idle,
               SUM(o.money_fen) AS money_fen, COUNT(o.money_fen) AS money_n
        FROM (SELECT per.name, d.eid, SUM(d.cpu_mean) AS cpu_sum, COUNT(d.cpu_mean) AS cpu_n,
                     SUM(d.memory_mean) AS mem_sum, COUNT(d.memory_mean) AS mem_n,
                     SUM(CASE WHEN {JUDGED} THEN 1 ELSE 0 END) AS judged,
                     SUM(CASE WHEN {JUDGED} AND {IDLE} THEN 1 ELSE 0 END) AS idle
              FROM tmp_ut_day d
              JOIN tmp_ut_period per ON d.day >= per.first_day AND d.day <= per.last_day
              JOIN tmp_ut_entity e ON e.eid = d.eid
              JOIN tmp_ut_policy p ON p.kind = e.kind
              WHERE d.low_coverage = :no
              GROUP BY per.name, d.eid) m
        JOIN tmp_ut_owner o ON o.eid = m.eid
        {scoped}
        GROUP BY m.name, o.department_id, o.system_id""")
    if not scope.unrestricted:
        query = query.bindparams(bindparam("scope", expanding=True))
        params["scope"] = sorted(scope.department_ids) or [-1]
    cells, money = {}, {}
    for row in conn.execute(query, params).mappings():
        key = (row["name"], row["department_id"], row["system_id"])
        cells[key] = _Cell(int(row["resources"]), float(row["vcpu"]), float(row["vcpu_used"]),
                           float(row["memory"]), float(row["memory_used"]),
                           float(row["judged"]), float(row["idle"]))
        if row["money_n"]:
            money[key] = (Decimal(int(row["money_fen"])) / 100).quantize(Decimal("0.01"))
    systems_table = TABLES["information_system"]
    ids = sorted({k[2] for k in cells if k[2] is not None})
    systems = {}
    for start in range(0, len(ids), 1000):
        for system in conn.execute(select(systems_table).where(
                systems_table.c.id.in_(ids[start:start + 1000]))):
            systems[system.id] = system
    return {"cells": cells, "systems": systems, "money": money}
