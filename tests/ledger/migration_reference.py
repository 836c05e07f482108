"""Migration evidence the way its definition reads: entities rebuilt in Python, each
declared asset's activity, :func:`ledger.migration.evidence` over the rows. The set-based
query (:mod:`ledger.migration_query`) must count the same."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ledger.analyses import entities, today
from ledger.census.tables import TABLES
from ledger.estate import CodeBook, declared_rows, matched_declared
from ledger.migration import Evidence, MigrationInputs, evidence
from ledger.models import Finding, ReconcilePair
from ledger.policy import AnalysisPolicy
from ledger.utilization import recent


def reference_evidence(engine, policy: AnalysisPolicy, now: dt.datetime) -> Evidence:
    with engine.connect() as conn:
        return evidence(migration_inputs(conn, policy, now))


def migration_inputs(conn, policy: AnalysisPolicy, now: dt.datetime) -> MigrationInputs:
    found = entities(conn, policy)
    links = matched_declared(conn)
    table = Finding.__table__
    idle = set(conn.execute(select(table.c.observed_asset_id).where(
        table.c.kind == "idle", table.c.active.is_(True),
        table.c.observed_asset_id.is_not(None))).scalars())
    pairs = ReconcilePair.__table__
    silent = set(conn.execute(select(pairs.c.observed_asset_id).where(
        pairs.c.outcome == "suspect", pairs.c.observed_asset_id.is_not(None))).scalars())
    gone_after = dt.timedelta(seconds=policy.reconcile.missing_after)
    per_entity = {e.id: "gone" if now - e.last_seen > gone_after else
                  "silent" if e.id in silent else
                  "idle" if e.id in idle else "active" for e in found}
    per_ref = {ref: per_entity[eid] for eid, ref in links.items() if eid in per_entity}
    day = today(policy, now)
    summaries = recent(conn, day - dt.timedelta(days=7))
    traffic = {}
    for entity in found:
        values = [(d.net_in_p95 or 0) + (d.net_out_p95 or 0) for row in entity.rows
                  for d in summaries.get(row.id, ()) if not d.low_coverage]
        if values:
            traffic[entity.id] = max(values)
    networks, centers = (CodeBook.load(conn, "dedicated_network"),
                         CodeBook.load(conn, "data_center"))
    by_network: dict[str, list] = {}
    by_center: dict[str, int] = {}
    for entity in found:
        net = networks.code(networks.resolve(entity.value("network")[0]))
        if net:
            by_network.setdefault(net, []).append((per_entity[entity.id],
                                                   traffic.get(entity.id)))
        place = centers.code(centers.resolve(entity.value("data_center")[0]))
        if place and per_entity[entity.id] in ("active", "idle"):
            by_center[place] = by_center.get(place, 0) + 1
    return MigrationInputs(
        declared_rows(conn, "information_system"), declared_rows(conn, "cloud_resource"),
        declared_rows(conn, "device"), _rows(conn, "dedicated_network"),
        _rows(conn, "data_center"), per_ref, by_network, by_center,
        CodeBook.load(conn, "cloud_platform").codes, day)


def _rows(conn, category: str) -> list:
    table = TABLES[category]
    return conn.execute(select(table).order_by(table.c.id)).all()
