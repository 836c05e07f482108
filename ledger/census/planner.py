"""Validating census input against the ledger and working out what would change.

Input arrives as :class:`InputSheet` objects (from a workbook, CSV files or the API).
:func:`plan` checks every cell, every reference (within the input and against the
ledger), identity keys for duplicates (within the input and against the ledger), the
caller's department scope, parent cycles and removals that would orphan a reference.
It returns a :class:`Plan`: the errors (sheet, row, column, value, reason) and the diff
(new; changed field by field; unchanged; removed with ``replace``). Nothing is written
here; :mod:`ledger.census.writer` applies a plan without errors.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from core.text import clip, folded
from ledger.census.fields import CATEGORIES, SHARED_REFS, Category
from ledger.census.messages import message
from ledger.census.snapshot import Snapshot
from ledger.census.values import InvalidValue, parse


@dataclass
class InputSheet:
    """Rows of one category: ``fields`` present (in column order), each row's raw values."""

    category: str
    sheet: str
    fields: list[str]
    columns: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    units: dict[str, decimal.Decimal] = field(default_factory=dict)
    encoding: str | None = None    # the text encoding a CSV file was read in


@dataclass(frozen=True)
class CensusError:
    """One problem, located as precisely as the input allows."""

    sheet: str
    row: int | None
    column: str | None
    value: Any
    reason: str
    language: str = "zh"

    def __str__(self) -> str:
        where = [self.sheet]
        if self.row is not None:
            where.append(f"第{self.row}行" if self.language == "zh" else f"row {self.row}")
        if self.column:
            where.append(clip(self.column))
        shown = "" if self.value in (None, "") else f" [{clip(self.value)}]"
        return f"{' '.join(where)}{shown}: {self.reason}"

    def as_dict(self) -> dict:
        """The JSON form (API responses): long values are clipped, never echoed whole."""
        value = self.value
        finite = isinstance(value, float) and math.isfinite(value)
        if not (finite or isinstance(value, (str, int, type(None)))):
            value = clip(value)   # NaN and Infinity are not JSON; lists, dicts as text
        return {"sheet": clip(self.sheet), "row": self.row, "column": clip(self.column),
                "value": clip(value) if isinstance(value, str) else value,
                "reason": self.reason}


@dataclass
class CategoryDiff:
    """What an input does to one category."""

    category: str
    new: list[tuple[int, dict]] = field(default_factory=list)
    changed: list[tuple[int, str, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    #: Filled values that blank cells would clear, counted per field.
    cleared: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """The outcome of :func:`plan`: apply only when ``errors`` is empty."""

    errors: list[CensusError]
    diffs: dict[str, CategoryDiff]
    #: Typed records of the input by category and code (present fields only).
    records: dict[str, dict[str, dict]]

    @property
    def empty(self) -> bool:
        """Whether nothing would change."""
        return not any(d.new or d.changed or d.removed for d in self.diffs.values())


class _Planner:
    def __init__(self, snapshot: Snapshot | None, sheets: list[InputSheet], replace: bool,
                 language: str, remove: dict[str, list[str]] | None = None) -> None:
        self.remove = remove or {}
        self.snap = snapshot
        self.sheets = sheets
        self.replace = replace
        self.lang = language
        self.errors: list[CensusError] = []
        self.records: dict[str, dict[str, dict]] = {key: {} for key in CATEGORIES}
        self.where: dict[str, dict[str, tuple[InputSheet, int]]] = {k: {} for k in CATEGORIES}
        self.removed: dict[str, set[str]] = {key: set() for key in CATEGORIES}

    def error(self, sheet: str, row: int | None, column: str | None, value, reason: str, /,
              **params) -> None:
        self.errors.append(CensusError(sheet, row, column, value,
                                       message(reason, self.lang, **params), self.lang))

    def column_of(self, sheet: InputSheet, key: str) -> str:
        return sheet.columns[sheet.fields.index(key)] if key in sheet.fields else key

    # Phase 1: cells.
    def parse_sheets(self) -> None:
        for sheet in self.sheets:
            category = CATEGORIES[sheet.category]
            specs = [category.by_key[key] for key in sheet.fields]
            units = [sheet.units.get(key) for key in sheet.fields]
            missing = [f for f in category.fields if f.required and f.key not in sheet.fields]
            for spec in missing:
                self.error(sheet.sheet, None, spec.label(self.lang), None, "missing_column",
                           column=spec.label(self.lang))
            if missing:
                continue
            for row_number, raw_values in sheet.rows:
                self._parse_row(sheet, category, specs, units, row_number, raw_values)

    def _parse_row(self, sheet, category, specs, units, row_number, raw_values) -> None:
        record = {}
        for index, spec in enumerate(specs):
            raw = raw_values[index] if index < len(raw_values) else None
            try:
                record[spec.key] = parse(spec, raw, unit=units[index])
            except InvalidValue as exc:
                self.error(sheet.sheet, row_number, sheet.columns[index], raw, exc.reason,
                           **exc.params)
        code = record.get("code")
        if code is None:
            return
        first = self.where[category.key].get(code)
        if first is not None:
            self.error(sheet.sheet, row_number, self.column_of(sheet, "code"), code,
                       "duplicate_in_file", row=first[1], fields=sheet.columns[0])
            return
        self.where[category.key][code] = (sheet, row_number)
        # Kept even with bad cells, so references and duplicates of the row's other
        # cells are reported in the same run (nothing is applied while errors remain).
        self.records[category.key][code] = record

    # Phase 2: what the ledger would hold afterwards.
    def final(self, category: str, code: str) -> dict | None:
        """The row ``code`` after the input is applied (None if absent or removed)."""
        if code in self.records[category]:
            existing = self.snap.rows[category].records.get(code) \
                if code in self.snap.codes[category] else None
            return {**existing, **self.records[category][code]} if existing else \
                self.records[category][code]
        if code in self.removed[category] or code not in self.snap.codes[category]:
            return None
        return self.snap.rows[category].records.get(code)

    def exists(self, category: str, code: str) -> bool:
        return code in self.where[category] or (
            code in self.snap.codes[category] and code not in self.removed[category])

    def mark_removed(self) -> None:
        for key, codes in self.remove.items():
            for code in codes:
                if key == "region" and not self.snap.scope.unrestricted:
                    self.error(CATEGORIES[key].label(self.lang), None, "code", code,
                               "regions_global")
                elif code in self.snap.codes[key] and self.snap.visible(key, code):
                    self.removed[key].add(code)
                else:
                    self.error(CATEGORIES[key].label(self.lang), None, "code", code,
                               "not_found")
        if not self.replace:
            return
        for sheet in self.sheets:
            key = sheet.category
            if key == "region" and not self.snap.scope.unrestricted:
                continue
            for code in self.snap.rows[key].records:
                if code not in self.where[key] and self.snap.visible(key, code):
                    self.removed[key].add(code)

    # Phase 3: rows against each other and the ledger.
    def check_rows(self) -> None:
        in_scope_new = self._new_departments_in_scope()
        for key, records in self.records.items():
            category = CATEGORIES[key]
            for code, record in records.items():
                sheet, row = self.where[key][code]
                self._check_scope(category, sheet, row, code, record, in_scope_new)
                self._check_refs(category, sheet, row, code, record)
                self._check_one_of(category, sheet, row, code)
                self._check_distinct(category, sheet, row, code)
        self._check_cycles()
        self._check_unique()
        self._check_removals()

    def _new_departments_in_scope(self) -> set[str]:
        scope, known = self.snap.scope, self.snap.rows["department"]
        if scope.unrestricted:
            return set(self.records["department"])
        inside = {code for code, dep_id in known.ids.items() if scope.covers(dep_id)}
        pending = {c: r.get("parent") for c, r in self.records["department"].items()
                   if c not in known.ids}
        grew = True
        while grew:
            grew = False
            for code, parent in list(pending.items()):
                if parent in inside:
                    inside.add(code)
                    del pending[code]
                    grew = True
        return inside

    def _check_scope(self, category: Category, sheet, row, code, record, inside) -> None:
        scope = self.snap.scope
        if scope.unrestricted:
            return
        existing = self.snap.rows[category.key].records.get(code) \
            if code in self.snap.codes[category.key] else None
        if category.key == "region":
            # Shared rows the caller may read but not write: its own export re-imported
            # holds them unchanged, and those pass as unchanged.
            if existing is None or any(existing.get(k) != v for k, v in record.items()):
                self.error(sheet.sheet, row, self.column_of(sheet, "code"), code,
                           "regions_global")
            return
        if existing is not None and not self.snap.visible(category.key, code):
            self.error(sheet.sheet, row, self.column_of(sheet, "code"), code, "code_taken")
            return
        if category.key == "department":
            parent = (self.final("department", code) or {}).get("parent")
            if code == scope.root:
                moved = parent != (existing or {}).get("parent")
            else:
                moved = parent not in inside
            if moved:
                self.error(sheet.sheet, row, self.column_of(sheet, "parent"), parent,
                           "out_of_scope")
            return
        owner = record.get("department")
        if owner is not None and owner not in inside and self.exists("department", owner):
            self.error(sheet.sheet, row, self.column_of(sheet, "department"), owner,
                       "out_of_scope")

    def _readable(self, category: str, code: str) -> bool:
        """Whether the caller may reference row ``code`` (see ``SHARED_REFS``); departments
        are checked by :meth:`_check_scope`."""
        if self.snap.scope.unrestricted or category in SHARED_REFS or category == "department":
            return True
        return code in self.where[category] or self.snap.visible(category, code)

    def _check_refs(self, category: Category, sheet, row, code, record) -> None:
        existing = self.snap.rows[category.key].records.get(code) \
            if code in self.snap.codes[category.key] else None
        for spec in category.fields:
            if spec.kind != "ref":
                continue
            target = record.get(spec.key)
            if target in self.removed[spec.ref]:
                continue  # reported once, on the removed row, by _check_removals
            # A reference the row already holds stays (a department re-imports its export).
            kept = existing is not None and existing.get(spec.key) == target
            if target is not None and not (self.exists(spec.ref, target) and (
                    kept or self._readable(spec.ref, target))):
                self.error(sheet.sheet, row, self.column_of(sheet, spec.key), target,
                           "unknown_ref", target=CATEGORIES[spec.ref].label(self.lang))

    def _check_one_of(self, category: Category, sheet, row, code) -> None:
        for groups in category.one_of:
            final = self.final(category.key, code) or {}
            filled = [all(final.get(k) is not None for k in g) for g in groups]
            touched = [any(final.get(k) is not None for k in g) for g in groups]
            if sum(filled) != 1 or sum(touched) != 1:
                text = "；".join("+".join(category.by_key[k].label(self.lang) for k in g)
                                for g in groups)
                self.error(sheet.sheet, row, None, None, "one_of", groups=text)

    def _check_distinct(self, category: Category, sheet, row, code) -> None:
        final = self.final(category.key, code) or {}
        for first, second in category.distinct:
            if final.get(first) is not None and final.get(first) == final.get(second):
                self.error(sheet.sheet, row, self.column_of(sheet, second), final[second],
                           "same_as", other=category.by_key[first].label(self.lang))

    def _check_cycles(self) -> None:
        for key in ("region", "department"):
            for code in self.records[key]:
                seen, current = {code}, self.final(key, code)
                while current is not None and current.get("parent") is not None:
                    parent = current["parent"]
                    if parent in seen:
                        sheet, row = self.where[key][code]
                        self.error(sheet.sheet, row, self.column_of(sheet, "parent"), parent,
                                   "cycle")
                        break
                    seen.add(parent)
                    current = self.final(key, parent)

    def _check_unique(self) -> None:
        present = {s.category for s in self.sheets}
        for key, category in CATEGORIES.items():
            if key in present:
                groups = category.checked_unique
                for group in category.unique if groups is None else groups:
                    self._check_group(category, group)

    def _group_key(self, record: dict, group: tuple[str, ...]):
        """The values of a unique group as reconciliation compares keys: without case,
        spaces or full-width forms (a serial typed twice, once in full width, is one
        device declared twice)."""
        if record.get(group[-1]) is None:
            return None
        return tuple("" if record.get(g) is None else
                     "".join(folded(str(record.get(g))).split()).lower()
                     for g in group)

    def _check_group(self, category: Category, group: tuple[str, ...]) -> None:
        key = category.key
        taken: dict[tuple, str] = {}
        for code, record in self.snap.rows[key].records.items():
            if code in self.records[key] or code in self.removed[key]:
                continue
            value = self._group_key(record, group)
            if value is not None:
                taken[value] = code
        in_file: dict[tuple, int] = {}
        for code in self.records[key]:
            value = self._group_key(self.final(key, code), group)
            if value is None:
                continue
            sheet, row = self.where[key][code]
            names = "+".join(category.by_key[g].label(self.lang) for g in group)
            column = self.column_of(sheet, group[-1])
            shown = self.final(key, code)[group[-1]]
            if value in in_file:
                self.error(sheet.sheet, row, column, shown, "duplicate_in_file",
                           row=in_file[value], fields=names)
            elif value in taken:
                other = taken[value]
                if self.snap.visible(key, other):
                    self.error(sheet.sheet, row, column, shown, "duplicate_in_ledger",
                               code=other, fields=names)
                else:
                    self.error(sheet.sheet, row, column, shown, "duplicate_hidden", fields=names)
            in_file.setdefault(value, row)

    def _check_removals(self) -> None:
        if not any(self.removed.values()):
            return
        for key, category in CATEGORIES.items():
            refs = [s for s in category.fields if s.kind == "ref" and self.removed[s.ref]]
            if not refs:
                continue
            codes = self.snap.codes[key] | set(self.records[key])
            for code in codes:
                record = self.final(key, code)
                if record is None:
                    continue
                for spec in refs:
                    target = record.get(spec.key)
                    if target in self.removed[spec.ref]:
                        self._referenced(spec.ref, target, key, code)

    def _referenced(self, removed_category, removed_code, key, code) -> None:
        sheet = next((s for s in self.sheets if s.category == removed_category), None)
        label = sheet.sheet if sheet else CATEGORIES[removed_category].label(self.lang)
        column = self.column_of(sheet, "code") if sheet else "code"
        shown = code if self.snap.visible(key, code) else "—"
        self.error(label, None, column, removed_code,
                   "still_referenced", other=CATEGORIES[key].label(self.lang), code=shown)

    # Phase 4: the diff.
    def diff(self) -> dict[str, CategoryDiff]:
        diffs: dict[str, CategoryDiff] = {}
        for key in [s.category for s in self.sheets] + list(self.remove):
            diffs.setdefault(key, CategoryDiff(key))
        for key, records in self.records.items():
            if not records:
                continue
            existing = self.snap.rows[key].records
            for code, record in records.items():
                row = self.where[key][code][1]
                before = existing.get(code)
                if before is None:
                    diffs[key].new.append((row, record))
                    continue
                changes = {f: (before.get(f), v) for f, v in record.items()
                           if before.get(f) != v}
                if changes:
                    diffs[key].changed.append((row, code, changes))
                    for name, (was, now) in changes.items():
                        if was is not None and now is None:
                            cleared = diffs[key].cleared
                            cleared[name] = cleared.get(name, 0) + 1
                else:
                    diffs[key].unchanged += 1
        for key, codes in self.removed.items():
            if codes:
                diffs[key].removed = [c for c in self.snap.rows[key].records if c in codes]
        return diffs


@dataclass
class ParsedInput:
    """Phase 1 of :func:`plan` (every cell typed), which needs no database: done before
    the writer's lock is taken, so a long import holds the ledger for less time."""

    sheets: list[InputSheet]
    language: str
    errors: list[CensusError]
    records: dict[str, dict[str, dict]]
    where: dict[str, dict[str, tuple[InputSheet, int]]]


def parse_input(sheets: list[InputSheet], *, language: str = "zh") -> ParsedInput:
    """Type every cell of ``sheets`` (see :class:`ParsedInput`)."""
    planner = _Planner(None, sheets, False, language)
    planner.parse_sheets()
    return ParsedInput(sheets, language, planner.errors, planner.records, planner.where)


def plan(snapshot: Snapshot, sheets: list[InputSheet] | ParsedInput, *, replace: bool = False,
         remove: dict[str, list[str]] | None = None, language: str = "zh",
         progress: Callable[[str], None] | None = None) -> Plan:
    """Validate ``sheets`` (and the removal of ``remove``'s codes) against ``snapshot``
    and compute the diff (see module doc). ``sheets`` may come already typed by
    :func:`parse_input`."""
    parsed = sheets if isinstance(sheets, ParsedInput) else parse_input(sheets,
                                                                        language=language)
    planner = _Planner(snapshot, parsed.sheets, replace, parsed.language, remove)
    planner.errors = list(parsed.errors)
    planner.records, planner.where = parsed.records, parsed.where
    if progress:
        progress(message("progress_cells", parsed.language))
    planner.mark_removed()
    planner.check_rows()
    if progress:
        progress(message("progress_refs", parsed.language))
    return Plan(errors=planner.errors, diffs=planner.diff(), records=planner.records)
