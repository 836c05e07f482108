"""The printed diff of an import: counts per sheet, then (dry run) every change."""

from __future__ import annotations

from typing import IO

from ledger.census.fields import CATEGORIES
from ledger.census.planner import Plan
from ledger.census.values import to_json


def _show(value) -> str:
    return "∅" if value is None else str(value)


def print_diff(plan: Plan, out: IO[str], *, language: str = "zh", details: bool = True) -> None:
    """Write the diff of ``plan``: a summary line per category, then the rows."""
    zh = language == "zh"
    for key in [k for k in CATEGORIES if k in plan.diffs]:
        diff, category = plan.diffs[key], CATEGORIES[key]
        label = category.label(language)
        counts = (f"新增 {len(diff.new)}，变更 {len(diff.changed)}，未变 {diff.unchanged}，"
                  f"删除 {len(diff.removed)}") if zh else (
            f"new {len(diff.new)}, changed {len(diff.changed)}, unchanged {diff.unchanged}, "
            f"removed {len(diff.removed)}")
        print(f"{label}: {counts}", file=out)
        if not details:
            continue
        for row, record in diff.new:
            print(f"  + {record['code']} ({'第' + str(row) + '行' if zh else 'row ' + str(row)})"
                  f" {record.get('name') or ''}", file=out)
        for row, code, fields in diff.changed:
            print(f"  ~ {code}", file=out)
            for name, (before, after) in fields.items():
                spec = category.by_key[name]
                print(f"      {spec.label(language)}: {_show(to_json(spec, before))} → "
                      f"{_show(to_json(spec, after))}", file=out)
        for code in diff.removed:
            print(f"  - {code}", file=out)
