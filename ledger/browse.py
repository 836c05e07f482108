"""What the pages read from the ledger: small queries, each within a department scope.

The analyses (:mod:`ledger.analyses`) compute; these functions only read their results and
the tables behind them, in a few statements each, so a page stays fast on a large ledger:
observed assets for search and the asset page, daily-summary trends, idle investment per
department, a census row's change history, and the resource graph's neighbours.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ledger.census.fields import CATEGORIES
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES, audit_record
from ledger.db import LIKE_ESCAPE, contains_pattern
from ledger.models import Finding, ObservedAsset, ReconcilePair, UtilizationDay

#: Columns a search looks in (the natural key holds the serial, instance UUID or MAC).
SEARCH_COLUMNS = ("hostname", "serial_number", "mgmt_ip", "natural_key", "source", "model")
PAIRED = ("matched", "mismatch", "suspect")


def declared_totals(conn: Connection, scope: Scope, categories: list[str],
                    invested: tuple[str, ...]) -> tuple[dict[str, int], Any]:
    """Rows per census category within ``scope`` and the investment the ``invested``
    categories declare (one COUNT and one SUM each, never the rows themselves)."""
    import decimal
    counts, total = {}, decimal.Decimal(0)
    for category in categories:
        table, owner = TABLES[category], _owner_column(category)
        where = [] if owner is None or scope.unrestricted else \
            [owner.in_(scope.department_ids)]
        counts[category] = conn.execute(select(func.count()).select_from(table)
                                        .where(*where)).scalar_one()
        if category in invested:
            total += conn.execute(select(func.coalesce(func.sum(table.c.total_investment), 0))
                                  .where(*where)).scalar_one() or 0
    return counts, total


def owner_of(conn: Connection, asset_id: int) -> int | None:
    """The department owning an observed asset: its declared twin's, else its tag's."""
    pair = conn.execute(select(ReconcilePair.department_id).where(
        ReconcilePair.observed_asset_id == asset_id, ReconcilePair.outcome.in_(PAIRED))
    ).scalar()
    if pair is not None:
        return pair
    return conn.execute(select(ObservedAsset.department_id)
                        .where(ObservedAsset.id == asset_id)).scalar()


def search_assets(conn: Connection, text: str, scope: Scope, *, limit: int = 100) -> list[dict]:
    """Observed assets whose name, serial, address, key, source or model contain ``text``."""
    table = ObservedAsset.__table__
    pattern = contains_pattern(text.strip())
    query = select(table.c.id, table.c.kind, table.c.source, table.c.hostname,
                   table.c.serial_number, table.c.mgmt_ip, table.c.vendor, table.c.model,
                   table.c.department_id, table.c.last_seen).where(
        or_(*(table.c[name].ilike(pattern, escape=LIKE_ESCAPE) for name in SEARCH_COLUMNS))
    ).order_by(table.c.id).limit(limit)
    if not scope.unrestricted:
        query = query.where(table.c.department_id.in_(scope.department_ids))
    return [dict(row) for row in conn.execute(query).mappings()]


def asset(conn: Connection, asset_id: int) -> dict | None:
    """One observed asset with its declared twin (if reconciliation paired it)."""
    row = conn.execute(select(ObservedAsset.__table__).where(
        ObservedAsset.id == asset_id)).mappings().first()
    if row is None:
        return None
    pair = conn.execute(select(ReconcilePair.__table__).where(
        ReconcilePair.observed_asset_id == asset_id)).mappings().first()
    return {**row, "pair": dict(pair) if pair else None}


def source_size(conn: Connection, source: str) -> int:
    """How many observed assets one target reports."""
    return conn.execute(select(func.count()).where(ObservedAsset.source == source)).scalar_one()


def source_departments(conn: Connection) -> dict[str, str]:
    """Target name -> the department tag its observed assets carry (the most common)."""
    table = ObservedAsset.__table__
    query = select(table.c.source, table.c.department, func.count()).where(
        table.c.department.is_not(None)).group_by(table.c.source, table.c.department)
    best: dict[str, tuple[int, str]] = {}
    for source, department, count in conn.execute(query):
        if count > best.get(source, (0, ""))[0]:
            best[source] = (count, department)
    return {source: department for source, (_count, department) in best.items()}


def asset_days(conn: Connection, asset_id: int, since: dt.date) -> list[dict]:
    """The asset's daily summaries since ``since``, oldest first."""
    table = UtilizationDay.__table__
    return [dict(row) for row in conn.execute(select(table).where(
        table.c.asset_id == asset_id, table.c.day >= since).order_by(table.c.day)).mappings()]


def trend(conn: Connection, scope: Scope, since: dt.date) -> list[dict]:
    """Mean CPU and memory % per day over the scope's observed assets (well-covered days)."""
    days, assets = UtilizationDay.__table__, ObservedAsset.__table__
    query = select(days.c.day, func.avg(days.c.cpu_mean).label("cpu"),
                   func.avg(days.c.memory_mean).label("memory"),
                   func.count().label("resources")).where(
        days.c.day >= since, days.c.low_coverage.is_(False)).group_by(days.c.day) \
        .order_by(days.c.day)
    if not scope.unrestricted:
        query = query.join(assets, assets.c.id == days.c.asset_id).where(
            assets.c.department_id.in_(scope.department_ids))
    return [{"day": row.day, "cpu": row.cpu, "memory": row.memory,
             "resources": row.resources} for row in conn.execute(query)]


def idle_by_department(conn: Connection, scope: Scope, *, limit: int = 10) -> list[dict]:
    """Departments with the most investment tied up in open idle findings (元), largest first."""
    table, departments = Finding.__table__, TABLES["department"]
    query = select(departments.c.code, departments.c.name,
                   func.sum(table.c.amount_fen).label("fen"), func.count().label("count")) \
        .join(departments, departments.c.id == table.c.department_id) \
        .where(table.c.kind == "idle", table.c.active.is_(True)) \
        .group_by(departments.c.code, departments.c.name) \
        .order_by(func.sum(table.c.amount_fen).desc()).limit(limit)
    if not scope.unrestricted:
        query = query.where(table.c.department_id.in_(scope.department_ids))
    return [{"code": r.code, "name": r.name, "amount": (r.fen or 0) / 100, "count": r.count}
            for r in conn.execute(query)]


def history(conn: Connection, category: str, code: str, *, limit: int = 200) -> list[dict]:
    """The change-log records of one census row, newest first."""
    query = select(audit_record).where(audit_record.c.object_type == category,
                                       audit_record.c.object_key == code) \
        .order_by(audit_record.c.seq.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


# The resource graph.
def _owner_column(category: str):
    table = TABLES[category]
    if category == "region":
        return None
    return table.c.id if category == "department" else table.c.department_id


def _visible(scope: Scope, category: str, row) -> bool:
    if category == "region" or scope.unrestricted:
        return True
    owner = row["id"] if category == "department" else row["department_id"]
    return scope.covers(owner)


def node(conn: Connection, category: str, code: str, scope: Scope) -> dict | None:
    """A census row as a graph node: its references up, the rows referring to it down, and
    for devices and cloud resources the observed twin side by side. None outside scope."""
    table = TABLES[category]
    row = conn.execute(select(table).where(table.c.code == code)).mappings().first()
    if row is None or not _visible(scope, category, row):
        return None
    spec = CATEGORIES[category]
    up = []
    for field in spec.fields:
        if field.kind != "ref" or row[field.column] is None:
            continue
        target = TABLES[field.ref]
        other = conn.execute(select(target).where(target.c.id == row[field.column])) \
            .mappings().first()
        if other is not None:
            shown = _visible(scope, field.ref, other)
            up.append({"field": field, "category": field.ref,
                       "code": other["code"] if shown else None,
                       "name": other["name"] if shown else None})
    down: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for other_key, other_spec in CATEGORIES.items():
        for field in other_spec.fields:
            if field.kind != "ref" or field.ref != category:
                continue
            other = TABLES[other_key]
            query = select(other.c.id, other.c.code, other.c.name).where(
                other.c[field.column] == row["id"]).order_by(other.c.code).limit(500)
            owner = _owner_column(other_key)
            if owner is not None and not scope.unrestricted:
                query = query.where(owner.in_(scope.department_ids))
            for item in conn.execute(query).mappings():
                down[(other_key, field.key)].append(dict(item))
    return {"category": category, "spec": spec, "row": dict(row), "up": up,
            "down": dict(down), "observed": twins(conn, category, row["id"])}


def twins(conn: Connection, category: str, declared_id: int) -> list[dict]:
    """Observed assets reconciliation paired with one declared row, with the differences."""
    pairs, assets = ReconcilePair.__table__, ObservedAsset.__table__
    query = select(pairs.c.outcome, pairs.c.matched_by, pairs.c.differences,
                   assets.c.id, assets.c.kind, assets.c.source, assets.c.hostname,
                   assets.c.serial_number, assets.c.mgmt_ip, assets.c.vendor, assets.c.model,
                   assets.c.cpu_cores, assets.c.vcpus, assets.c.memory_bytes,
                   assets.c.disk_bytes, assets.c.power_state, assets.c.last_seen,
                   assets.c.attributes) \
        .join(assets, assets.c.id == pairs.c.observed_asset_id) \
        .where(pairs.c.declared_category == category, pairs.c.declared_id == declared_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def hosts_of(conn: Connection, observed: list[dict], scope: Scope) -> list[dict]:
    """The observed hosts an observed instance runs on (its ``host`` attribute names one),
    with the declared device reconciliation paired each with (to browse on to its data
    center); a host another department owns is left out of a department's view."""
    names = sorted({str(item["attributes"].get("host")) for item in observed
                    if isinstance(item.get("attributes"), dict) and item["attributes"].get("host")})
    if not names:
        return []
    table, pairs = ObservedAsset.__table__, ReconcilePair.__table__
    query = select(table.c.id, table.c.hostname, table.c.kind, table.c.data_center,
                   table.c.department_id, pairs.c.department_id.label("declared_department_id"),
                   pairs.c.declared_category, pairs.c.declared_code).join(
        pairs, (pairs.c.observed_asset_id == table.c.id) & pairs.c.outcome.in_(PAIRED),
        isouter=True).where(or_(table.c.hostname.in_(names), table.c.natural_key.in_(names)))
    return [dict(row) for row in conn.execute(query).mappings() if scope.covers(
        row["declared_department_id"] if row["declared_code"] else row["department_id"])]


def roots(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """The departments a caller starts browsing from: the top of their scope."""
    table = TABLES["department"]
    query = select(table.c.id, table.c.code, table.c.name, table.c.parent_id).order_by(
        table.c.code)
    rows = [dict(r) for r in conn.execute(query).mappings() if scope.covers(r["id"])]
    ids = {r["id"] for r in rows}
    return [r for r in rows if r["parent_id"] not in ids]
