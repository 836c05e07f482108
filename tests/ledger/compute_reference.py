"""The compute ledger the way its definition reads: entities rebuilt in Python and
:func:`ledger.compute.compute` over them. The set-based query must give the same report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ledger.analyses import today
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.compute import ComputeInputs, compute, cpu_usage, load_tables
from ledger.estate import (CodeBook, Departments, declared_assets, matched_declared,
                           observed_rows)
from ledger.models import ObservedAsset
from ledger.policy import AnalysisPolicy
from ledger.reconcile.entities import build
from ledger.utilization import recent


def compute_ledger(engine, policy: AnalysisPolicy, scope: Scope, *, by: str,
                   now: dt.datetime) -> dict[str, Any]:
    tables = load_tables(policy.cpu_models_file, policy.flops_file)
    since = today(policy, now) - dt.timedelta(days=7)
    with engine.connect() as conn:
        rows = observed_rows(conn)
        found = build(rows, policy.reconcile.placeholders)[0]
        links = matched_declared(conn)
        declared = declared_assets(conn)
        books = {k: CodeBook.load(conn, k) for k in ("department", "data_center",
                                                     "cloud_platform", "region")}
        department_region = Departments.load(conn).region
        center_region = dict(conn.execute(select(TABLES["data_center"].c.id,
                                                 TABLES["data_center"].c.region_id)).all())
        usage = cpu_usage(found, recent(conn, since), since)
        accelerators = _accelerators(conn, rows)
    owner, place, platform, region = {}, {}, {}, {}
    for entity in found:
        row = declared.get(links.get(entity.id)) if entity.id in links else None
        owner[entity.id] = row.department_id if row is not None else \
            entity.value("department_id")[0]
        center = books["data_center"].resolve(entity.value("data_center")[0]) or \
            getattr(row, "data_center_id", None)
        place[entity.id] = books["data_center"].code(center)
        platform[entity.id] = books["cloud_platform"].code(
            books["cloud_platform"].resolve(entity.value("platform")[0]) or
            getattr(row, "platform_id", None))
        region[entity.id] = books["region"].code(center_region.get(center) or
                                                 department_region.get(owner[entity.id]))
    kept = [e for e in found if scope.covers(owner[e.id])]
    storage = [r for r in rows if r.kind in ("datastore", "storage_pool")
               and scope.covers(r.department_id)]
    inputs = ComputeInputs(kept, storage, owner, place, platform, region, usage, accelerators,
                           books["department"].codes)
    return {"as_of": now.isoformat(), **compute(inputs, tables, by)}


def _accelerators(conn, rows) -> dict[int, list[str]]:
    ids = [r.id for r in rows if r.gpus]
    out = {}
    for start in range(0, len(ids), 1000):
        for id_, attributes in conn.execute(select(ObservedAsset.id, ObservedAsset.attributes)
                                            .where(ObservedAsset.id.in_(ids[start:start + 1000]))):
            processors = (attributes or {}).get("processors")
            models = [p.get("model") for p in
                      (processors if isinstance(processors, list) else [])
                      if isinstance(p, dict) and p.get("type") == "GPU"
                      and isinstance(p.get("model"), str) and p["model"]]
            if models:
                out[id_] = models
    return out
