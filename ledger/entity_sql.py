"""Observed entities in SQL: one row per entity with its figures, as
:class:`ledger.reconcile.entities.Entity` reads them, for the set-based analyses.

Rows several sources see share ``observed_asset.entity_id`` (kept by reconciliation); a row
without one is an entity on its own. A figure of an entity is the first non-empty one over
its rows, best source first (:data:`ledger.reconcile.entities.PRIORITY`, then row id); most
entities have one row, so only the rows of shared entities go through window functions.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Mapping, Sequence

from sqlalchemy import Connection, select, text

from ledger.estate import CodeBook
from ledger.models import ObservedAsset
from ledger.reconcile.entities import DEVICE_KINDS, PRIORITY, RESOURCE_KINDS

KINDS = tuple(sorted(DEVICE_KINDS | RESOURCE_KINDS))
TEXT_COLUMNS = frozenset({"cpu_model", "power_state", "data_center", "platform", "network",
                          "vendor", "model"})
#: The links reconciliation made: entity id -> declared asset (one per entity).
LINKS = """
    SELECT observed_asset_id, declared_category, declared_id FROM reconcile_pair
    WHERE observed_asset_id IS NOT NULL AND declared_id IS NOT NULL
      AND outcome IN ('matched', 'mismatch', 'suspect')"""


def query(first: Sequence[str], *, flags: Mapping[str, str] | None = None,
          latest: Sequence[str] = (), primary: Sequence[str] = (), join: str = "") -> str:
    """A query of one row per entity: ``eid``, each of ``flags`` (per-row SQL over ``oa``,
    the entity's maximum), each of ``latest`` (its maximum), each of ``primary`` (the
    value of its best source's row, even empty) and each of ``first`` (its first non-empty
    value). ``join`` may join more tables to ``oa``."""
    flags = dict(flags or {})
    prio = "CASE oa.kind " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in PRIORITY.items()) + \
        " ELSE 9 END"
    per_row = [f"({sql}) AS {name}" for name, sql in flags.items()]
    per_row += [f"oa.{c}" for c in (*latest, *primary)]
    per_row += [f"NULLIF(oa.{c}, '') AS {c}" if c in TEXT_COLUMNS else f"oa.{c}"
                for c in first]
    kinds = ", ".join(f"'{k}'" for k in KINDS)
    rows = f"""
        SELECT oa.id, COALESCE(oa.entity_id, oa.id) AS eid, oa.entity_id, {prio} AS prio,
               {", ".join(per_row)}
        FROM observed_asset oa {join}
        WHERE oa.kind IN ({kinds})"""
    plain = [*flags, *latest, *primary, *first]
    best = "OVER (PARTITION BY eid ORDER BY prio, id)"
    windowed = [*flags, *latest, *(f"FIRST_VALUE({c}) {best} AS {c}" for c in primary),
                *(f"{_first(c)} AS {c}" for c in first)]
    return f"""
        WITH r AS ({rows})
        SELECT id AS eid, {", ".join(plain)} FROM r WHERE entity_id IS NULL
        UNION ALL
        SELECT eid, {", ".join(f"MAX({c})" for c in plain)}
        FROM (SELECT eid, {", ".join(windowed)} FROM r WHERE entity_id IS NOT NULL) m
        GROUP BY eid"""


def _first(column: str) -> str:
    """The first non-empty ``column`` of an entity's rows, best source first."""
    return (f"FIRST_VALUE({column}) OVER (PARTITION BY eid ORDER BY "
            f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, prio, id)")


def temp_table(conn: Connection, name: str, columns: str, key: str | None, select: str,
               params: Mapping | None = None) -> None:
    """A typed temporary table filled by ``select``, indexed on ``key`` (a table made by
    CREATE ... AS from expressions has no column types, and SQLite then scans it for every
    row joined to it instead of using its index)."""
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    conn.execute(text(f"INSERT INTO {name} {select}"), dict(params or {}))
    if key:
        conn.execute(text(f"CREATE INDEX {name}_key ON {name} ({key})"))
    analyze(conn, name)


def analyze(conn: Connection, name: str) -> None:
    """Give PostgreSQL's planner the temporary table's statistics (autovacuum never
    analyses temporary tables: without them it guesses a few hundred rows and may pick a
    nested loop over a million)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {name}"))


def link_table(conn: Connection, name: str, key: str = "observed_asset_id") -> None:
    """A temporary table ``name`` of :data:`LINKS` (entity -> declared asset), indexed on
    ``key``."""
    temp_table(conn, name, "observed_asset_id INTEGER NOT NULL, declared_category TEXT, "
               "declared_id INTEGER", key, LINKS)


def insert(conn: Connection, table: str, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if rows:
        names = list(rows[0])
        conn.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                          f"({', '.join(':' + n for n in names)})"), list(rows))


def code_table(conn: Connection, name: str, tags: Mapping[str, str]) -> None:
    """A temporary table ``name`` (category, tag, id): each distinct value of the observed
    column ``tags[category]`` that the census category's code book resolves (a code, or a
    name only one row has), judged once per value."""
    oa = ObservedAsset.__table__
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} (category TEXT NOT NULL, "
                      "tag TEXT NOT NULL, id INTEGER NOT NULL)"))
    rows = []
    for category, column in tags.items():
        values = sorted(t for (t,) in conn.execute(
            select(oa.c[column]).where(oa.c.kind.in_(KINDS)).distinct()) if t)
        book = CodeBook.load(conn, category, values)
        rows += [{"category": category, "tag": tag, "id": book.resolve(tag)} for tag in values
                 if book.resolve(tag) is not None]
    insert(conn, name, rows)


def drop(conn: Connection, names: Sequence[str]) -> None:
    """Drop these temporary tables if there (never a permanent table of the same name)."""
    schema = {"postgresql": "pg_temp.", "sqlite": "temp."}.get(conn.dialect.name, "")
    for name in names:
        conn.execute(text(f"DROP TABLE IF EXISTS {schema}{name}"))


@contextlib.contextmanager
def temporary(conn: Connection, names: Sequence[str]) -> Iterator[None]:
    """Run in one snapshot of the ledger with none of the temporary tables ``names`` (an
    earlier failure may have left them on a pooled SQLite connection); afterwards end the
    transaction and drop them, also after an error (a rolled-back transaction drops them
    on both engines)."""
    # One state of the estate for every statement: the analyses read it in several
    # (PostgreSQL would give each its own snapshot under READ COMMITTED; SQLite's driver
    # opens a transaction only for writes). End what is open (a pool's ping, earlier
    # reads), then begin a transaction that reads one snapshot.
    conn.rollback()
    conn.connection.dbapi_connection.rollback()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    drop(conn, names)
    try:
        yield
    finally:
        conn.rollback()
        drop(conn, names)
        conn.rollback()
