"""Running the analyses on the ledger: load, judge (pure functions), keep the findings.

- :func:`run_idle`: idle resources and rightsizing from the daily summaries;
- :func:`run_migration`: migration and consolidation progress;
- :func:`run_daily`: reconciliation, then idle, then migration (each reads the last's
  results), as the scheduler does after the day's summaries;
- :func:`compute_ledger`, :func:`kpis`, :func:`migration_progress`: read on demand within
  a department scope (the command line, the API, later pages).

Findings go through :func:`ledger.findings.sync`, so every run is idempotent and every
lifecycle change is in the change log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from ledger import compute_query, findings, idle_query, migration_query
from ledger.census import audit
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.compute import load_tables
from ledger.const import IDLE_KINDS, MIGRATION_KINDS
from ledger.estate import CodeBook, declared_rows, observed_rows
from ledger.migration import Progress, judge
from ledger.models import AnalysisRun, Finding
from ledger.policy import AnalysisPolicy
from ledger.reconcile import store as reconcile_store
from ledger.reconcile.entities import Entity, build

UTC = dt.timezone.utc


def today(policy: AnalysisPolicy, now: dt.datetime) -> dt.date:
    """The date of ``now`` in the analyses' time zone."""
    return now.astimezone(ZoneInfo(policy.timezone)).date()


def entities(conn: Connection, policy: AnalysisPolicy) -> list[Entity]:
    """Observed entities, as reconciliation groups them."""
    return build(observed_rows(conn), policy.reconcile.placeholders)[0]


def _persist(engine: Engine, analysis: str, kinds: frozenset[str], found, summary: dict,
             *, now: dt.datetime, started: dt.datetime, actor: str, algorithm: str) -> dict:
    with engine.begin() as conn:
        head = audit.lock_head(conn)
        synced, changes = findings.sync(conn, kinds, found, now=now, actor=actor)
        if changes:
            audit.append(conn, head, audit.Actor(actor, uuid.uuid4().hex), changes, algorithm,
                         now)
        summary = {**summary, "findings": dataclasses.asdict(synced)}
        conn.execute(AnalysisRun.__table__.insert().values(
            analysis=analysis, started_at=started, finished_at=dt.datetime.now(UTC),
            actor=actor, summary=summary))
    return summary


def run_idle(engine: Engine, policy: AnalysisPolicy, *, now: dt.datetime | None = None,
             actor: str = findings.SYSTEM_ACTOR, algorithm: str = "sha256") -> dict:
    """Judge every resource with summaries; keep idle and oversized findings (set-based:
    :mod:`ledger.idle_query`)."""
    now = now or dt.datetime.now(UTC)
    started = dt.datetime.now(UTC)
    with engine.connect() as conn:
        found, summary = idle_query.analyse(conn, policy, today(policy, now))
    return _persist(engine, "idle", IDLE_KINDS, found, summary, now=now, started=started,
                    actor=actor, algorithm=algorithm)


def migration_progress_of(conn: Connection, policy: AnalysisPolicy, now: dt.datetime
                          ) -> Progress:
    """Progress of every declared system, network and data center (set-based evidence:
    :mod:`ledger.migration_query`)."""
    day = today(policy, now)
    seen = migration_query.evidence(
        conn, now=now, gone_after=dt.timedelta(seconds=policy.reconcile.missing_after),
        since=day - dt.timedelta(days=7))
    return judge(declared_rows(conn, "information_system"), _rows(conn, "dedicated_network"),
                 _rows(conn, "data_center"), seen, CodeBook.load(conn, "cloud_platform").codes,
                 day)


def _rows(conn: Connection, category: str) -> list:
    table = TABLES[category]
    return conn.execute(select(table).order_by(table.c.id)).all()


def run_migration(engine: Engine, policy: AnalysisPolicy, *, now: dt.datetime | None = None,
                  actor: str = findings.SYSTEM_ACTOR, algorithm: str = "sha256") -> dict:
    """Judge migration and consolidation progress; keep overdue and still-active findings."""
    now = now or dt.datetime.now(UTC)
    started = dt.datetime.now(UTC)
    with engine.connect() as conn:
        result = migration_progress_of(conn, policy, now)
    summary = {**result.rates(), "systems": len(result.systems),
               "networks": len(result.networks), "data_centers": len(result.data_centers)}
    return _persist(engine, "migration", MIGRATION_KINDS, result.found, summary, now=now,
                    started=started, actor=actor, algorithm=algorithm)


def run_daily(engine: Engine, policy: AnalysisPolicy, *, now: dt.datetime | None = None,
              actor: str = findings.SYSTEM_ACTOR, algorithm: str = "sha256") -> dict:
    """Reconciliation, idle detection and migration progress, in that order."""
    reconciled = reconcile_store.run(engine, policy.reconcile, now=now, actor=actor,
                                     algorithm=algorithm)
    return {"reconcile": reconciled.summary,
            "idle": run_idle(engine, policy, now=now, actor=actor, algorithm=algorithm),
            "migration": run_migration(engine, policy, now=now, actor=actor,
                                       algorithm=algorithm)}


def migration_progress(engine: Engine, policy: AnalysisPolicy, scope: Scope, *,
                       now: dt.datetime | None = None) -> dict[str, Any]:
    """Progress of the scope's systems, networks and data centers, with per-department and
    per-region counts."""
    now = now or dt.datetime.now(UTC)
    with engine.connect() as conn:
        result = migration_progress_of(conn, policy, now)
        departments = CodeBook.load(conn, "department")
        regions = _department_regions(conn)
    kept = Progress(*(
        [item for item in items if scope.covers(item["department_id"])]
        for items in (result.systems, result.networks, result.data_centers)), [])
    by_department = kept.by_department()
    by_region: dict[str, dict[str, int]] = {}
    for department_id, counts in by_department.items():
        region = regions.get(department_id) or "(unknown)"
        for name, value in counts.items():
            by_region.setdefault(region, {}).setdefault(name, 0)
            by_region[region][name] += value

    def shown(items):
        return [{**{k: v for k, v in item.items() if k != "department_id"},
                 "department": departments.code(item["department_id"])} for item in items]
    return {"rates": kept.rates(), "systems": shown(kept.systems),
            "networks": shown(kept.networks), "data_centers": shown(kept.data_centers),
            "by_department": {departments.code(k) or "(unknown)": v
                              for k, v in by_department.items()},
            "by_region": by_region,
            "overdue": shown([i for i in kept.systems + kept.networks if i["overdue"]])}


def _department_regions(conn: Connection) -> dict[int, str | None]:
    departments, regions = TABLES["department"], TABLES["region"]
    return dict(conn.execute(select(departments.c.id, regions.c.code).join_from(
        departments, regions, departments.c.region_id == regions.c.id, isouter=True)).all())


def compute_ledger(engine: Engine, policy: AnalysisPolicy, scope: Scope, *, by: str,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """The compute ledger of the scope, grouped ``by`` region, department, dc, platform or
    arch (set-based: :mod:`ledger.compute_query`)."""
    now = now or dt.datetime.now(UTC)
    tables = load_tables(policy.cpu_models_file, policy.flops_file)
    since = today(policy, now) - dt.timedelta(days=7)
    with engine.connect() as conn:
        report = compute_query.compute_ledger(conn, tables, scope, by=by, since=since)
    return {"as_of": now.isoformat(), **report}


def kpis(engine: Engine, policy: AnalysisPolicy, scope: Scope, *,
         now: dt.datetime | None = None) -> dict[str, Any]:
    """The KPIs of the scope against their configured targets."""
    now = now or dt.datetime.now(UTC)
    with engine.connect() as conn:
        outcomes = reconcile_store.summary(conn, scope)
        amounts = _idle_amounts(conn, scope)
    rates = migration_progress(engine, policy, scope, now=now)["rates"]
    declared = sum(outcomes[k] for k in ("matched", "mismatch", "missing", "suspect"))
    observed = sum(outcomes[k] for k in ("matched", "mismatch", "undeclared"))
    values = {
        "ledger_accuracy": (outcomes["matched"], declared),
        "coverage": (outcomes["matched"] + outcomes["mismatch"], observed),
        "cloud_migration_rate": (rates["cloud_migration_rate"], None),
        "network_integration_rate": (rates["network_integration_rate"], None),
        "idle_investment_reclaimed": (amounts["reclaimed"],
                                      amounts["reclaimed"] + amounts["idle"]),
    }
    out = {}
    for name, (numerator, denominator) in values.items():
        value = numerator if denominator is None else (
            round(numerator / denominator, 4) if denominator else None)
        target = policy.kpi_targets.get(name)
        out[name] = {"value": value, "target": target,
                     "met": None if value is None or target is None else value >= target}
        if denominator is not None:
            out[name].update(numerator=numerator, denominator=denominator)
    # Money is yuan as text with its unit everywhere in this object (the findings keep fen).
    reclaimed = out["idle_investment_reclaimed"]
    reclaimed.update(numerator=_yuan(reclaimed["numerator"]),
                     denominator=_yuan(reclaimed["denominator"]), unit="CNY")
    out["idle_investment"] = {"value": _yuan(amounts["idle"]), "unit": "CNY"}
    return out


def _yuan(fen: int) -> str:
    """An amount in fen as yuan text, ``"1234.50"`` (exact, no float)."""
    return f"{fen // 100}.{fen % 100:02d}"


def _idle_amounts(conn: Connection, scope: Scope) -> dict[str, int]:
    table = Finding.__table__
    query = select(table.c.active, func.coalesce(func.sum(table.c.amount_fen), 0)).where(
        table.c.kind == "idle").group_by(table.c.active)
    if not scope.unrestricted:
        query = query.where(table.c.department_id.in_(scope.department_ids))
    sums = dict(conn.execute(query).all())
    return {"idle": int(sums.get(True, 0)), "reclaimed": int(sums.get(False, 0))}


def last_runs(conn: Connection) -> dict[str, dict[str, Any]]:
    """The newest run of each analysis: when, by whom, its summary."""
    table = AnalysisRun.__table__
    newest = select(table.c.analysis, func.max(table.c.id).label("id")).group_by(
        table.c.analysis).subquery()
    rows = conn.execute(select(table).join(newest, table.c.id == newest.c.id)).mappings()
    return {row["analysis"]: {"finished_at": row["finished_at"].isoformat(),
                              "actor": row["actor"], "summary": row["summary"]} for row in rows}

