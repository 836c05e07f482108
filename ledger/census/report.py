"""The printed diff of an import: counts per sheet, then (dry run) every change."""

from __future__ import annotations

from typing import IO

from ledger.census.fields import CATEGORIES
from ledger.census.planner import Plan
from ledger.census.values import readable, to_json


def _show(spec, value, language: str) -> str:
    """A value as the caller reads it: choice labels and 是/否 in the caller's language."""
    if value is None:
        return "∅"
    return str(readable(spec, to_json(spec, value), language))


def cleared_text(category, cleared: dict[str, int], language: str) -> str:
    """How many filled values blank cells clear, per field, and how to keep them."""
    return _cleared(category, cleared, language).strip()


def _cleared(category, cleared: dict[str, int], language: str) -> str:
    zh = language == "zh"
    parts = [f"{category.by_key[k].label(language)} {n}{' 条' if zh else ''}"
             for k, n in cleared.items()]
    if zh:
        return (f"  将清空已填写的值：{'，'.join(parts)}（空白单元格会清空原值；要保留原值，"
                "请删除该列或填回原值）")
    return (f"  blank cells clear filled values: {', '.join(parts)} (to keep a value, leave "
            "its column out of the file or fill it in again)")


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
        if diff.cleared:
            print(_cleared(category, diff.cleared, language), file=out)
        if not details:
            continue
        for row, record in diff.new:
            print(f"  + {record['code']} ({'第' + str(row) + '行' if zh else 'row ' + str(row)})"
                  f" {record.get('name') or ''}", file=out)
        for row, code, fields in diff.changed:
            print(f"  ~ {code}", file=out)
            for name, (before, after) in fields.items():
                spec = category.by_key[name]
                print(f"      {spec.label(language)}: {_show(spec, before, language)} → "
                      f"{_show(spec, after, language)}", file=out)
        for code in diff.removed:
            print(f"  - {code}", file=out)
