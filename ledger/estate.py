"""The estate as the analyses read it: declared rows and observed rows as plain records.

Analyses are pure functions over what these loaders return (SQLAlchemy rows with named
columns, or any object with the same attributes in tests); the loaders read only the
columns an analysis needs, so a million assets cost a million small tuples, never a
million ORM objects or JSON documents.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from sqlalchemy import Connection, or_, select

from ledger.census.tables import TABLES
from ledger.models import ObservedAsset, ReconcilePair, TargetState

#: Observed-asset columns the analyses read.
OBSERVED_COLUMNS = ("id", "source", "collector", "kind", "natural_key", "serial_number",
                    "vendor", "model", "instance_uuid", "machine_uuid", "macs", "mgmt_ip",
                    "hostname", "department", "department_id", "data_center", "platform",
                    "network", "cpu_model", "cpu_sockets", "cpu_cores", "cpu_threads", "vcpus",
                    "memory_bytes", "disk_bytes", "gpus", "architecture", "power_state",
                    "hardware", "first_seen", "last_seen")
DEVICE_COLUMNS = ("id", "code", "name", "department_id", "device_type", "vendor", "model",
                  "serial_number", "management_ip", "mac", "hostname", "data_center_id",
                  "information_system_id", "cpu_model", "cpu_cores", "memory_gib", "status",
                  "purchase_price")
SYSTEM_COLUMNS = ("id", "code", "name", "department_id", "usage_status", "build_type",
                  "network_type", "dedicated_network_id", "run_location", "current_platform_id",
                  "current_data_center_id", "migration_plan", "migration_target_id",
                  "migration_due", "migration_status", "total_investment",
                  "approving_department")
RESOURCE_COLUMNS = ("id", "code", "name", "department_id", "resource_type", "instance_id",
                    "platform_id", "information_system_id", "vcpu", "memory_gib", "disk_gib",
                    "ip_address", "hostname", "status", "annual_cost")


@dataclasses.dataclass
class CodeBook:
    """Codes and names of one census category, to show ids as codes and to resolve what a
    target's tag names (a code, or a name only one row has)."""

    codes: dict[int, str]
    names: dict[int, str]
    by_code: dict[str, int]
    by_name: dict[str, int | None]

    @classmethod
    def load(cls, conn, category: str, values: Iterable[str | None] | None = None
             ) -> "CodeBook":
        """Every row of ``category`` (a connection or a session), or only the rows whose
        code or name is one of ``values`` (every row sharing such a name comes too, so a
        name is still known to be ambiguous)."""
        table = TABLES[category]
        query = select(table.c.id, table.c.code, table.c.name)
        if values is not None:
            wanted = sorted({str(v) for v in values if v})
            if not wanted:
                return cls({}, {}, {}, {})
            query = query.where(or_(table.c.code.in_(wanted), table.c.name.in_(wanted)))
        codes, names, by_name = {}, {}, {}
        for id_, code, name in conn.execute(query).all():
            codes[id_], names[id_] = code, name
            by_name[name] = None if name in by_name else id_
        return cls(codes, names, {c: i for i, c in codes.items()}, by_name)

    def resolve(self, value: str | None) -> int | None:
        """The id a tag value names (by code, else by a unique name), or None."""
        if not value:
            return None
        return self.by_code.get(value) or self.by_name.get(value)

    def code(self, id_: int | None) -> str | None:
        """The code of ``id_`` (None for None)."""
        return None if id_ is None else self.codes.get(id_)


@dataclasses.dataclass
class Departments:
    """Departments with their parents, to scope results and roll figures up the tree."""

    book: CodeBook
    parent: dict[int, int | None]
    region: dict[int, int | None]

    @classmethod
    def load(cls, conn: Connection) -> "Departments":
        table = TABLES["department"]
        rows = conn.execute(select(table.c.id, table.c.parent_id, table.c.region_id)).all()
        return cls(CodeBook.load(conn, "department"), {r.id: r.parent_id for r in rows},
                   {r.id: r.region_id for r in rows})


def observed_rows(conn: Connection, kinds: Iterable[str] | None = None) -> list:
    """Observed assets (the analysis columns), optionally of some kinds only."""
    table = ObservedAsset.__table__
    query = select(*(table.c[name] for name in OBSERVED_COLUMNS)).order_by(table.c.id)
    if kinds is not None:
        query = query.where(table.c.kind.in_(sorted(kinds)))
    return conn.execute(query).all()


COLUMNS = {"device": DEVICE_COLUMNS, "cloud_resource": RESOURCE_COLUMNS,
           "information_system": SYSTEM_COLUMNS}


def declared_rows(conn: Connection, category: str) -> list:
    """Declared devices, cloud resources or information systems (the analysis columns)."""
    columns = COLUMNS[category]
    table = TABLES[category]
    return conn.execute(select(*(table.c[c] for c in columns)).order_by(table.c.id)).all()


def declared_assets(conn: Connection) -> dict[tuple[str, int], object]:
    """Declared devices, cloud resources and information systems by (category, id)."""
    return {(category, row.id): row for category in COLUMNS
            for row in declared_rows(conn, category)}


def matched_declared(conn: Connection) -> dict[int, tuple[str, int]]:
    """Observed entity id -> the declared asset reconciliation paired it with."""
    table = ReconcilePair.__table__
    return {row.observed_asset_id: (row.declared_category, row.declared_id)
            for row in conn.execute(select(table.c.observed_asset_id, table.c.declared_category,
                                           table.c.declared_id).where(
                table.c.observed_asset_id.is_not(None), table.c.declared_id.is_not(None),
                table.c.outcome.in_(("matched", "mismatch", "suspect"))))}


def target_states(conn: Connection) -> dict[str, object]:
    """Every target's poll state by name (interval, last success)."""
    table = TargetState.__table__
    return {row.name: row for row in conn.execute(
        select(table.c.name, table.c.kind, table.c.interval_seconds, table.c.last_success,
               table.c.last_poll, table.c.up))}
