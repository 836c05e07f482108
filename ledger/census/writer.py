"""Applying a checked :class:`~ledger.census.planner.Plan` to the ledger, with its audit.

Runs inside the caller's transaction, after :func:`ledger.census.audit.lock_head`, so the
plan was computed on exactly the rows it now changes. Inserts and updates go category by
category in import order (referenced rows first); removals go in reverse order. One audit
record is written per created, changed or removed row, holding only the fields that
really changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Connection, bindparam, select

from ledger.census import audit
from ledger.census.fields import CATEGORIES, Category
from ledger.census.planner import Plan
from ledger.census.snapshot import Snapshot
from ledger.census.tables import TABLES
from ledger.census.values import to_json

UTC = dt.timezone.utc
CHUNK = 5000


def _chunks(rows: list, size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class PlanWriter:
    """Writes one plan; ``changes`` collects the audit records."""

    def __init__(self, conn: Connection, snapshot: Snapshot, plan: Plan) -> None:
        self.conn = conn
        self.snap = snapshot
        self.plan = plan
        self.now = dt.datetime.now(UTC)
        self.ids = {key: {code: id_ for id_, code in codes.items()}
                    for key, codes in snapshot.codes_by_id.items()}
        self.changes: list[audit.Change] = []

    def _id(self, category: str, code: str | None) -> int | None:
        if code is None:
            return None
        ids = self.ids.get(category)
        if ids is None or code not in ids:
            table = TABLES[category]
            ids = self.ids[category] = dict(self.conn.execute(
                select(table.c.code, table.c.id)).all())
        return ids[code]

    def _row(self, category: Category, record: dict, *, defer_self: bool) -> dict:
        row = {}
        for key, value in record.items():
            spec = category.by_key[key]
            if spec.kind != "ref":
                row[key] = value
            elif defer_self and spec.ref == category.key:
                continue
            else:
                row[spec.column] = self._id(spec.ref, value)
        return row

    def write(self) -> None:
        for key, category in CATEGORIES.items():
            diff = self.plan.diffs.get(key)
            if diff is not None:
                self._insert(category, [r for _row, r in diff.new])
                self._update(category, diff.changed)
        for key in reversed(list(CATEGORIES)):
            diff = self.plan.diffs.get(key)
            if diff is not None and diff.removed:
                self._delete(CATEGORIES[key], diff.removed)
        for key in ("region", "department"):
            if key in self.plan.diffs:
                self._repath(key)

    def _insert(self, category: Category, records: list[dict]) -> None:
        if not records:
            return
        table = TABLES[category.key]
        full = [{spec.key: r.get(spec.key) for spec in category.fields} for r in records]
        rows = [{**self._row(category, r, defer_self=True), "created_at": self.now,
                 "updated_at": self.now} for r in full]
        if category.key in ("region", "department"):
            for row in rows:
                row["path"] = "/"
        for chunk in _chunks(rows):
            self.conn.execute(table.insert(), chunk)
        self.ids[category.key] = dict(self.conn.execute(select(table.c.code, table.c.id)).all())
        self._set_parents(category, full)
        for record in full:
            self.changes.append(audit.Change(
                "create", category.key, record["code"],
                {k: [None, to_json(category.by_key[k], v)] for k, v in record.items()
                 if v is not None}))

    def _set_parents(self, category: Category, records: list[dict]) -> None:
        self_refs = [s for s in category.fields if s.kind == "ref" and s.ref == category.key]
        table = TABLES[category.key]
        for spec in self_refs:
            rows = [{"_id": self._id(category.key, r["code"]),
                     "_ref": self._id(category.key, r[spec.key])}
                    for r in records if r.get(spec.key) is not None]
            if rows:
                self.conn.execute(table.update().where(table.c.id == bindparam("_id"))
                                  .values({spec.column: bindparam("_ref")}), rows)

    def _update(self, category: Category, changed: list) -> None:
        table = TABLES[category.key]
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for _row, code, fields in changed:
            record = {key: after for key, (_before, after) in fields.items()}
            row = self._row(category, record, defer_self=False)
            row["_id"] = self._id(category.key, code)
            row["updated_at"] = self.now
            groups[tuple(sorted(row))].append(row)
            self.changes.append(audit.Change(
                "update", category.key, code,
                {k: [to_json(category.by_key[k], b), to_json(category.by_key[k], a)]
                 for k, (b, a) in fields.items()}))
        for columns, rows in groups.items():
            values = {c: bindparam(c) for c in columns if c != "_id"}
            statement = table.update().where(table.c.id == bindparam("_id")).values(values)
            for chunk in _chunks(rows):
                self.conn.execute(statement, chunk)

    def _delete(self, category: Category, codes: list[str]) -> None:
        table = TABLES[category.key]
        ids = [self._id(category.key, code) for code in codes]
        for spec in category.fields:
            if spec.kind == "ref" and spec.ref == category.key:
                for chunk in _chunks(ids):
                    self.conn.execute(table.update().where(table.c.id.in_(chunk))
                                      .values({spec.column: None}))
        for chunk in _chunks(ids):
            self.conn.execute(table.delete().where(table.c.id.in_(chunk)))
        records = self.snap.rows[category.key].records
        for code in codes:
            self.changes.append(audit.Change(
                "delete", category.key, code,
                {k: [to_json(category.by_key[k], v), None] for k, v in records[code].items()
                 if v is not None}))

    def _repath(self, key: str) -> None:
        """Recompute materialised id paths of a tree table (regions, departments)."""
        table = TABLES[key]
        parent_col = table.c.parent_id
        rows = self.conn.execute(select(table.c.id, parent_col, table.c.path)).all()
        parents = {row.id: row[1] for row in rows}
        paths: dict[int, str] = {}

        def path_of(node: int) -> str:
            chain, current = [], node
            while current is not None and current not in paths:
                chain.append(current)
                current = parents.get(current)
            prefix = paths.get(current, "/") if current is not None else "/"
            for item in reversed(chain):
                prefix = paths[item] = f"{prefix}{item}/"
            return paths[node]

        updates = [{"_id": row.id, "_path": path_of(row.id)} for row in rows
                   if path_of(row.id) != row.path]
        if updates:
            self.conn.execute(table.update().where(table.c.id == bindparam("_id"))
                              .values(path=bindparam("_path")), updates)
