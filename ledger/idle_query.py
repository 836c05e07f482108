"""Idle resources and rightsizing as set-based SQL (the rules of :mod:`ledger.idle`).

The database merges each entity's daily summaries (per day the row that covered most of
it, best source first on a tie), judges every day against the idle policy of the entity's
kind, and counts per entity the judged and idle days, the thresholds it could evaluate,
its peaks and the peaks of the rightsizing window. Python then sees only what becomes a
finding: idle entities, entities a rightsizing would shrink, devices and cloud resources
declared 闲置, and information systems declared idle or whose every resource is idle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable

from sqlalchemy import Connection, select, text

from ledger import entity_sql
from ledger.census.tables import TABLES
from ledger.estate import COLUMNS
from ledger.findings import Found
from ledger.idle import (GIB, Verdict, _entity_finding, _oversized, declared_idle_finding,
                         rightsize_figures, shrinks, summarize, system_finding)
from ledger.policy import AnalysisPolicy, IdlePolicy

TEMP = ("tmp_id_entity", "tmp_id_day", "tmp_id_policy", "tmp_id_link", "tmp_id_verdict")
THRESHOLDS = ("cpu_mean_max", "cpu_p95_max", "cpu_max_max", "memory_p95_max",
              "net_bytes_max", "net_p95_bps_max")
#: What each threshold compares on a merged day ``d`` (None when the day lacks it).
CHECKS = {
    "cpu_mean_max": "d.cpu_mean", "cpu_p95_max": "d.cpu_p95", "cpu_max_max": "d.cpu_max",
    "memory_p95_max": "d.memory_p95",
    "net_bytes_max": "CASE WHEN d.net_in_mean IS NULL AND d.net_out_mean IS NULL THEN NULL "
                     "ELSE (COALESCE(d.net_in_mean, 0) + COALESCE(d.net_out_mean, 0)) / 8.0 "
                     "* 86400 * d.coverage END",
    "net_p95_bps_max": "CASE WHEN d.net_in_p95 IS NULL AND d.net_out_p95 IS NULL THEN NULL "
                       "WHEN COALESCE(d.net_in_p95, 0) >= COALESCE(d.net_out_p95, 0) "
                       "THEN COALESCE(d.net_in_p95, 0) ELSE COALESCE(d.net_out_p95, 0) END",
}
#: A merged day ``d`` with enough coverage; one the policy ``p`` can judge (a CPU threshold
#: and the day's figure for it); one that meets every threshold it can evaluate.
USABLE = "d.low_coverage = :no"
JUDGED = f"{USABLE} AND (" + " OR ".join(
    f"(p.{t} IS NOT NULL AND {CHECKS[t]} IS NOT NULL)"
    for t in ("cpu_mean_max", "cpu_p95_max", "cpu_max_max")) + ")"
IDLE = " AND ".join(f"(p.{t} IS NULL OR {CHECKS[t]} IS NULL OR {CHECKS[t]} <= p.{t})"
                    for t in THRESHOLDS)
DAY_COLUMNS = ("coverage", "low_coverage", "cpu_mean", "cpu_p95", "cpu_max", "memory_mean",
               "memory_p95", "net_in_mean", "net_out_mean", "net_in_p95", "net_out_p95")


@dataclasses.dataclass
class _Entity:
    """What a finding names of an entity (as :class:`Entity` would)."""

    id: int
    primary: Any


@dataclasses.dataclass
class _Primary:
    kind: str
    source: str
    department_id: int | None


def analyse(conn: Connection, policy: AnalysisPolicy, today: dt.date
            ) -> tuple[list[Found], dict[str, Any]]:
    """The idle and oversized findings and the summary of :class:`ledger.idle.IdleOutcome`."""
    with entity_sql.temporary(conn, TEMP):
        policies = _fill(conn, policy, today)
        return _findings(conn, policy, policies, today)


def _fill(conn: Connection, policy: AnalysisPolicy, today: dt.date) -> dict[str, IdlePolicy]:
    # Every window a kind may use: the configured ones and the fallback of kinds none names.
    window = max([p.window_days for p in policy.idle.values()] +
                 [policy.idle_policy("").window_days, policy.rightsizing.window_days])
    since = today - dt.timedelta(days=window)
    params = {"since": since, "no": False}
    entity_sql.temp_table(
        conn, "tmp_id_entity", "eid INTEGER NOT NULL, kind TEXT, source TEXT, "
        "department_id INTEGER, vcpus INTEGER, memory_bytes BIGINT", "eid",
        "SELECT eid, kind, source, department_id, vcpus, memory_bytes FROM (" +
        entity_sql.query(("vcpus", "memory_bytes"),
                         primary=("kind", "source", "department_id")) + ") e")
    policies = policy_table(conn, "tmp_id_policy", "tmp_id_entity", policy, today)
    merged_days(conn, "tmp_id_day", params)
    entity_sql.link_table(conn, "tmp_id_link")
    usable, judged, idle = USABLE, JUDGED, IDLE
    in_window = "d.day >= p.first_day AND d.day < :today"
    in_sizing = "d.day >= :sizing_first AND d.day < :today"
    evaluated = ", ".join(
        f"MAX(CASE WHEN {in_window} AND {judged} AND p.{t} IS NOT NULL AND {CHECKS[t]} "
        f"IS NOT NULL THEN 1 ELSE 0 END) AS ev_{t}" for t in THRESHOLDS)
    peaks = ", ".join(
        f"MAX(CASE WHEN {in_window} AND {usable} THEN d.{c} END) AS peak_{c}"
        for c in ("cpu_p95", "memory_p95", "net_in_p95", "net_out_p95"))
    sizing = ", ".join(f"MAX(CASE WHEN {in_sizing} AND {usable} THEN d.{c} END) AS size_{c}"
                       for c in ("cpu_p95", "memory_p95"))
    entity_sql.temp_table(
        conn, "tmp_id_verdict", "eid INTEGER NOT NULL, judged_days INTEGER, "
        "idle_days INTEGER, " + ", ".join(f"ev_{t} INTEGER" for t in THRESHOLDS) + ", " +
        ", ".join(f"peak_{c} FLOAT" for c in ("cpu_p95", "memory_p95", "net_in_p95",
                                               "net_out_p95")) +
        ", size_cpu_p95 FLOAT, size_memory_p95 FLOAT, status TEXT", "eid", f"""
        SELECT eid, judged_days, idle_days, {", ".join(f"ev_{t}" for t in THRESHOLDS)},
               peak_cpu_p95, peak_memory_p95, peak_net_in_p95, peak_net_out_p95,
               size_cpu_p95, size_memory_p95,
               CASE WHEN judged_days < min_days THEN 'insufficient_data'
                    WHEN idle_days >= days_required THEN 'idle' ELSE 'active' END
        FROM (
          SELECT d.eid, MAX(p.min_days) AS min_days, MAX(p.days_required) AS days_required,
                 SUM(CASE WHEN {in_window} AND {judged} THEN 1 ELSE 0 END) AS judged_days,
                 SUM(CASE WHEN {in_window} AND {judged} AND {idle} THEN 1 ELSE 0 END)
                     AS idle_days,
                 {evaluated}, {peaks}, {sizing}
          FROM tmp_id_day d JOIN tmp_id_entity e ON e.eid = d.eid
          JOIN tmp_id_policy p ON p.kind = e.kind
          GROUP BY d.eid) v""",
        {**params, "today": today,
         "sizing_first": today - dt.timedelta(days=policy.rightsizing.window_days)})
    return policies


def policy_table(conn: Connection, name: str, entities: str, policy: AnalysisPolicy,
                 today: dt.date) -> dict[str, IdlePolicy]:
    """A temporary table ``name`` of the idle policy of every kind the entities table
    ``entities`` has (its first day of the window from ``today``); return them by kind."""
    kinds = [k for (k,) in conn.execute(text(f"SELECT DISTINCT kind FROM {entities}"))]
    policies = {kind: policy.idle_policy(kind) for kind in kinds}
    conn.execute(text(
        f"CREATE TEMPORARY TABLE {name} (kind TEXT NOT NULL, first_day DATE, "
        "min_days INTEGER, days_required INTEGER, " +
        ", ".join(f"{t} FLOAT" for t in THRESHOLDS) + ")"))
    if policies:
        conn.execute(text(
            f"INSERT INTO {name} VALUES (:kind, :first_day, :min_days, :days_required, " +
            ", ".join(f":{t}" for t in THRESHOLDS) + ")"),
            [{"kind": kind, "first_day": today - dt.timedelta(days=p.window_days),
              "min_days": p.min_days, "days_required": p.days_required,
              **{t: getattr(p, t) for t in THRESHOLDS}} for kind, p in policies.items()])
    return policies


def merged_days(conn: Connection, name: str, params: dict, until: bool = False) -> None:
    """A temporary table ``name``: per entity and day from ``:since`` (to ``:until``), the
    summary of the row that covered most of the day (best source first on a tie), as
    :func:`ledger.idle.merged_days` picks it."""
    prio = "CASE oa.kind " + " ".join(
        f"WHEN '{k}' THEN {v}" for k, v in entity_sql.PRIORITY.items()) + " ELSE 9 END"
    kinds_sql = ", ".join(f"'{k}'" for k in entity_sql.KINDS)
    columns = ", ".join(DAY_COLUMNS)
    entity_sql.temp_table(
        conn, name, "eid INTEGER NOT NULL, day DATE NOT NULL, coverage FLOAT, "
        "low_coverage BOOLEAN, cpu_mean FLOAT, cpu_p95 FLOAT, cpu_max FLOAT, "
        "memory_mean FLOAT, memory_p95 FLOAT, net_in_mean FLOAT, net_out_mean FLOAT, "
        "net_in_p95 FLOAT, net_out_p95 FLOAT", "eid", f"""
        SELECT eid, day, {columns} FROM (
          SELECT COALESCE(oa.entity_id, oa.id) AS eid, ud.day,
                 {", ".join(f"ud.{c}" for c in DAY_COLUMNS)},
                 ROW_NUMBER() OVER (PARTITION BY COALESCE(oa.entity_id, oa.id), ud.day
                                    ORDER BY ud.coverage DESC, {prio}, oa.id) AS n
          FROM utilization_day ud JOIN observed_asset oa ON oa.id = ud.asset_id
          WHERE ud.day >= :since {"AND ud.day <= :until" if until else ""}
            AND oa.kind IN ({kinds_sql})) x
        WHERE n = 1""", params)


def _findings(conn: Connection, policy: AnalysisPolicy, policies: dict[str, IdlePolicy],
              today: dt.date) -> tuple[list[Found], dict[str, Any]]:
    sizing = policy.rightsizing
    judged = conn.execute(text("SELECT COUNT(*) FROM tmp_id_verdict "
                               "WHERE status <> 'insufficient_data'")).scalar_one()
    # Idle entities, and judged ones whose CPU alone or memory alone may be reclaimable
    # (a loose bound; the figures themselves are worked out below, exactly).
    shrink = (f"(v.status <> 'insufficient_data' AND e.vcpus IS NOT NULL AND e.vcpus <> 0 "
              f"AND v.size_cpu_p95 IS NOT NULL AND ("
              f"(e.vcpus > {int(sizing.min_vcpus)} AND "
              f"e.vcpus * v.size_cpu_p95 / {float(sizing.target_cpu_percent)} <= e.vcpus - 1)"
              f" OR (e.memory_bytes IS NOT NULL AND e.memory_bytes <> 0 AND "
              f"v.size_memory_p95 IS NOT NULL AND e.memory_bytes >= {GIB})))")
    rows = conn.execute(text(f"""
        SELECT v.*, e.kind, e.source, e.department_id, e.vcpus, e.memory_bytes,
               l.declared_category, l.declared_id
        FROM tmp_id_verdict v JOIN tmp_id_entity e ON e.eid = v.eid
        LEFT JOIN tmp_id_link l ON l.observed_asset_id = v.eid
        WHERE v.status = 'idle' OR {shrink}
        ORDER BY v.eid"""), {"no": False}).mappings().all()
    refs = {(r["declared_category"], r["declared_id"]) for r in rows if r["declared_id"]}
    idle_declared = _declared_where(conn, "status = 'idle'", ("device", "cloud_resource"))
    declared = _load(conn, refs | set(idle_declared))
    systems = _system_members(conn)
    declared.update(_load(conn, {("information_system", s) for s in systems} |
                          {ref for parts in systems.values() for ref, _status in parts}))
    _with_systems(conn, declared)
    found: list[Found] = []
    idle_refs: set = set()
    for row in rows:
        verdict = _verdict(row, policies[row["kind"]], sizing)
        ref = (row["declared_category"], row["declared_id"]) if row["declared_id"] else None
        if verdict.status == "idle":
            found.append(_entity_finding(verdict, ref, declared))
            if ref is not None:
                idle_refs.add(ref)
        if shrinks(verdict.rightsizing):
            found.append(_oversized(verdict, ref, declared))
    found += [declared_idle_finding(ref, declared)
              for ref in sorted(idle_declared, key=_declared_order) if ref not in idle_refs]
    for sid in sorted(systems):
        parts = systems[sid]
        found_system = system_finding(
            ("information_system", sid), [ref for ref, _status in parts],
            bool(parts) and all(status == "idle" for _ref, status in parts), declared)
        if found_system is not None:
            found.append(found_system)
    return found, summarize(found, judged)


def _declared_order(ref) -> tuple:
    return (tuple(COLUMNS).index(ref[0]), ref[1])


def _verdict(row, idle_policy: IdlePolicy, sizing) -> Verdict:
    entity = _Entity(row["eid"], _Primary(row["kind"], row["source"], row["department_id"]))
    evaluated = sorted(t for t in THRESHOLDS if row[f"ev_{t}"])
    peaks = {"cpu_p95": row["peak_cpu_p95"], "memory_p95": row["peak_memory_p95"],
             "net_in_p95": row["peak_net_in_p95"], "net_out_p95": row["peak_net_out_p95"]}
    verdict = Verdict(entity, idle_policy, row["status"], int(row["judged_days"]),
                      int(row["idle_days"]), evaluated, peaks)
    if verdict.judged_days >= idle_policy.min_days:
        verdict.rightsizing = rightsize_figures(row["vcpus"], row["memory_bytes"],
                                                row["size_cpu_p95"], row["size_memory_p95"],
                                                sizing)
    return verdict


def _declared_where(conn: Connection, condition: str, categories: Iterable[str]) -> list:
    refs = []
    for category in categories:
        table = TABLES[category].name
        refs += [(category, id_) for (id_,) in conn.execute(
            text(f"SELECT id FROM {table} WHERE {condition}"))]
    return refs


def _load(conn: Connection, refs: set) -> dict:
    """Declared rows (the analysis columns) by ref, for the refs given."""
    out = {}
    for category in COLUMNS:
        ids = sorted(i for c, i in refs if c == category)
        table = TABLES[category]
        for start in range(0, len(ids), 1000):
            for row in conn.execute(select(*(table.c[c] for c in COLUMNS[category]))
                                    .where(table.c.id.in_(ids[start:start + 1000]))):
                out[(category, row.id)] = row
    return out


def _with_systems(conn: Connection, declared: dict) -> None:
    """Add the systems the loaded rows belong to (their approving department)."""
    wanted = {("information_system", getattr(row, "information_system_id", None))
              for row in declared.values()} - set(declared)
    declared.update(_load(conn, {r for r in wanted if r[1] is not None}))


def _system_members(conn: Connection) -> dict:
    """System id -> its members' refs and whether each was judged idle, for the systems
    declared idle or whose members are all judged idle (what ``_systems`` reports)."""
    devices, resources = TABLES["device"].name, TABLES["cloud_resource"].name
    systems = TABLES["information_system"].name
    members = f"""
        SELECT 'device' AS category, id, information_system_id AS sid, 0 AS ord
        FROM {devices} WHERE information_system_id IS NOT NULL
        UNION ALL
        SELECT 'cloud_resource', id, information_system_id, 1
        FROM {resources} WHERE information_system_id IS NOT NULL"""
    candidates = f"""
        SELECT s.id FROM {systems} s WHERE s.usage_status = 'idle'
        UNION
        SELECT m.sid FROM ({members}) m
        LEFT JOIN tmp_id_link l ON l.declared_category = m.category AND l.declared_id = m.id
        LEFT JOIN tmp_id_verdict v ON v.eid = l.observed_asset_id
        GROUP BY m.sid
        HAVING SUM(CASE WHEN v.status = 'idle' THEN 1 ELSE 0 END) = COUNT(*)"""
    out: dict[int, list] = {sid: [] for (sid,) in conn.execute(text(candidates))}
    if not out:
        return {}
    for category, id_, sid, status in conn.execute(text(f"""
            SELECT m.category, m.id, m.sid, v.status FROM ({members}) m
            LEFT JOIN tmp_id_link l ON l.declared_category = m.category
                 AND l.declared_id = m.id
            LEFT JOIN tmp_id_verdict v ON v.eid = l.observed_asset_id
            ORDER BY m.ord, m.id""")):
        if sid in out:
            out[sid].append(((category, id_), status))
    return out
