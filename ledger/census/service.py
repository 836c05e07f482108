"""The one door to the census ledger: every read and write takes the caller's scope.

:class:`CensusService` is what the command line, the REST API and (later) the UI call. It
resolves the caller's department scope, serialises writers (the audit head lock), plans
and applies changes and records them in the audit log. Nothing else writes census
tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Engine, false, func, or_, select

from ledger.census import audit
from ledger.census.fields import CATEGORIES
from ledger.census.messages import message
from ledger.census.planner import CensusError, InputSheet, Plan, parse_input, plan
from ledger.census.snapshot import Scope, Snapshot
from ledger.census.tables import TABLES
from ledger.census.values import InvalidValue, parse
from ledger.census.writer import PlanWriter
from ledger.db import LIKE_ESCAPE, contains_pattern, page_offset


class CensusRejected(Exception):
    """An input with errors: nothing was written."""

    def __init__(self, errors: list[CensusError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


class NotFound(LookupError):
    """No row with that code in the caller's scope."""


class Conflict(Exception):
    """A create for a code that already exists."""


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    plan: Plan
    applied: bool
    batch_id: str


class CensusService:
    """Census reads and writes for one caller (``department`` scope, ``actor`` name)."""

    def __init__(self, engine: Engine, *, department: str | None = None, actor: str = "system",
                 language: str = "zh", algorithm: str | audit.AuditChain = "sha256",
                 request_id: str | None = None) -> None:
        self.engine = engine
        self.department = department
        self.actor = actor
        self.language = language
        self.algorithm = algorithm
        self.request_id = request_id

    def scope(self, conn) -> Scope:
        """The caller's scope (raises ScopeError for an unknown department)."""
        if self.department is None:
            return Scope.everything()
        return Scope.for_department(conn, self.department)

    # Writes.
    def apply(self, sheets: list[InputSheet], *, replace: bool = False, dry_run: bool = False,
              progress: Callable[[str], None] | None = None) -> ImportResult:
        """Check ``sheets`` and, unless ``dry_run`` or in error, apply them atomically."""
        return self._write(sheets, replace=replace, dry_run=dry_run, progress=progress)

    def _write(self, sheets: list[InputSheet], *, replace: bool = False,
               remove: dict[str, list[str]] | None = None, dry_run: bool = False,
               progress: Callable[[str], None] | None = None,
               must_be_new: str | None = None) -> ImportResult:
        batch_id = uuid.uuid4().hex
        parsed = parse_input(sheets, language=self.language)   # no lock needed for cells
        with self.engine.begin() as conn:
            head = None if dry_run else audit.lock_head(conn)
            snapshot = Snapshot(conn, self.scope(conn))
            result = plan(snapshot, parsed, replace=replace, remove=remove,
                          language=self.language, progress=progress)
            if result.errors:
                raise CensusRejected(result.errors)
            if must_be_new and not result.diffs[must_be_new].new:
                # Declared by someone else between our check and this lock.
                raise Conflict(next(iter(result.records[must_be_new]), ""))
            if dry_run or result.empty:
                return ImportResult(result, False, batch_id)
            writer = PlanWriter(conn, snapshot, result)
            writer.write()
            if progress:
                progress(message("progress_written", self.language))
            actor = audit.Actor(self.actor, batch_id, self.request_id)
            audit.append(conn, head, actor, writer.changes, self.algorithm)
        return ImportResult(result, True, batch_id)

    def create(self, category: str, values: dict[str, Any]) -> dict:
        """Declare one new row; raises Conflict if its code exists in the ledger."""
        self._category(category)
        code = self._code(category, values)
        with self.engine.connect() as conn:
            table = TABLES[category]
            if conn.execute(select(table.c.id).where(table.c.code == code)).first():
                raise Conflict(code)
        self._write([self._sheet(category, values)], must_be_new=category)
        return self.get(category, code)

    def update(self, category: str, code: str, values: dict[str, Any], *,
               partial: bool = False) -> dict:
        """Replace (or with ``partial``, patch) the row ``code``; returns it."""
        current = self.get(category, code)
        self._sheet(category, values)   # refuses unknown fields before anything is merged
        if values.get("code", code) != code:
            raise CensusRejected([CensusError(category, None, "code", values.get("code"),
                                              message("code_fixed", self.language),
                                              self.language)])
        merged = {**current, **values} if partial else {**values, "code": code}
        spec_keys = {f.key for f in CATEGORIES[category].fields}
        full = {key: merged.get(key) for key in spec_keys}
        self.apply([self._sheet(category, full)])
        return self.get(category, code)

    def delete(self, category: str, code: str) -> None:
        """Remove the row ``code`` (refused while other rows reference it)."""
        self.get(category, code)
        self._write([], remove={category: [code]})

    def _sheet(self, category: str, values: dict[str, Any]) -> InputSheet:
        spec = CATEGORIES[category]
        unknown = [key for key in values if key not in spec.by_key]
        if unknown:
            raise CensusRejected([CensusError(category, None, key, values[key],
                                              message("unknown_field", self.language),
                                              self.language) for key in unknown])
        keys = [f.key for f in spec.fields if f.key in values]
        return InputSheet(category, category, keys, keys, [(1, [values[k] for k in keys])])

    def _code(self, category: str, values: dict[str, Any]) -> str:
        try:
            return parse(CATEGORIES[category].by_key["code"], values.get("code"))
        except InvalidValue as exc:
            raise CensusRejected([CensusError(category, None, "code", values.get("code"),
                                              message(exc.reason, self.language, **exc.params),
                                              self.language)]) from None

    @staticmethod
    def _category(category: str) -> None:
        if category not in CATEGORIES:
            raise NotFound(category)

    # Reads.
    def export(self, categories: list[str] | None = None) -> dict[str, list[dict]]:
        """The scope's rows of each category (all categories by default), typed."""
        with self.engine.connect() as conn:
            snapshot = Snapshot(conn, self.scope(conn))
            return {key: snapshot.visible_records(key) for key in categories or CATEGORIES}

    def get(self, category: str, code: str) -> dict:
        """One row, typed, with references as codes; raises NotFound outside the scope."""
        try:
            items, _total = self.list(category, filters={"code": code}, per_page=1)
        except InvalidValue:   # blank, control characters: no row has such a code
            raise NotFound(code) from None
        if not items:
            raise NotFound(code)
        return items[0]

    def list(self, category: str, *, filters: dict[str, Any] | None = None,
             search: str | None = None, department: str | None = None, page: int = 1,
             per_page: int = 50) -> tuple[list[dict], int]:
        """A page of the scope's rows: field filters (equality), text search over code and
        name, and an owner-department subtree; returns the rows and the total count."""
        self._category(category)
        spec = CATEGORIES[category]
        table = TABLES[category]
        with self.engine.connect() as conn:
            scope = self.scope(conn)
            query = select(table)
            owner = None if category == "region" else \
                table.c.id if category == "department" else table.c.department_id
            if owner is not None and not scope.unrestricted:
                query = query.where(owner.in_(scope.department_ids))
            if owner is not None and department is not None:
                query = query.where(owner.in_(Scope.for_department(conn, department)
                                              .department_ids))
            for key, raw in (filters or {}).items():
                query = query.where(self._filter(conn, spec.by_key[key], table, raw))
            if search:
                pattern = contains_pattern(search)
                query = query.where(or_(table.c.code.ilike(pattern, escape=LIKE_ESCAPE),
                                          table.c.name.ilike(pattern, escape=LIKE_ESCAPE)))
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            offset = page_offset(total, page, per_page)
            if offset is None:
                return [], total
            rows = conn.execute(query.order_by(table.c.id).limit(per_page)
                                .offset(offset)).mappings().all()
            return self._records(conn, category, rows), total

    def _filter(self, conn, spec, table, raw):
        value = parse(spec, raw)
        if spec.kind == "ref":
            target = TABLES[spec.ref]
            ref_id = conn.execute(select(target.c.id).where(target.c.code == value)).scalar()
            return false() if ref_id is None else table.c[spec.column] == ref_id
        return table.c[spec.column] == value

    def _records(self, conn, category: str, rows) -> list[dict]:
        spec = CATEGORIES[category]
        refs = [f for f in spec.fields if f.kind == "ref"]
        codes: dict[str, dict[int, str]] = {}
        for field in refs:
            ids = {row[field.column] for row in rows if row[field.column] is not None}
            if ids:
                target = TABLES[field.ref]
                found = dict(conn.execute(select(target.c.id, target.c.code)
                                          .where(target.c.id.in_(ids))).all())
                codes.setdefault(field.ref, {}).update(found)
        records = []
        for row in rows:
            record = {}
            for field in spec.fields:
                value = row[field.column]
                record[field.key] = codes[field.ref][value] if (
                    field.kind == "ref" and value is not None) else value
            records.append(record)
        return records

