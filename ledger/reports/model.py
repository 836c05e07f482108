"""What every report is: titled sections of typed columns, in Chinese or English.

The builders (:mod:`ledger.reports.utilization`, ``idle``, ``findings``, ``compute``) return a
:class:`Report`; the writers (:mod:`ledger.reports.export`, :mod:`ledger.reports.pdf`) and
the pages only lay it out. A column's ``kind`` says how a value is shown and stored: money
is a :class:`~decimal.Decimal` in 元, a percentage a fraction (0.25 is 25 %), a ``label`` a key
of a :data:`ledger.const.Labels` table shown in the reader's language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from ledger import i18n
from ledger.const import Labels, label

KINDS = ("text", "int", "number", "percent", "money", "label", "datetime")


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: key of the row dicts, labels, and how its values are shown."""

    key: str
    zh: str
    en: str
    kind: str = "text"
    labels: Labels | None = None

    def title(self, language: str) -> str:
        """The column heading in ``language``."""
        return self.zh if language == "zh" else self.en


@dataclasses.dataclass
class Section:
    """One table of a report; ``totals`` (optional) is one more row, shown in bold."""

    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None

    def title(self, language: str) -> str:
        """The section heading in ``language``."""
        return self.zh if language == "zh" else self.en


#: Report kinds with their titles; the command line, the pages and the schedule name these.
TITLES: Labels = {
    "utilization": ("资源利用率报表", "Utilization report"),
    "idle": ("闲置资源与规格优化清单", "Idle resources and rightsizing"),
    "findings": ("普查与实际发现差异清单", "Census against observed findings"),
    "compute": ("算力一本账汇总", "Compute ledger summary"),
}
HEADER: Labels = {
    "scope": ("范围", "Scope"), "everything": ("全部部门", "all departments"),
    "period": ("统计期间", "Period"), "generated": ("生成时间", "Generated"),
    "with_subtree": ("（含下级部门）", " (with sub-departments)"),
    "totals": ("合计", "Total"), "empty": ("（无数据）", "(no data)"),
}
# In the one catalogue too (domain "reports"), for pages and messages that name a report.
i18n.register("reports", {**{f"title_{k}": v for k, v in TITLES.items()}, **HEADER})


@dataclasses.dataclass
class Report:
    """A report of one kind over one department scope (and period, where it has one)."""

    kind: str
    scope: str | None                      # department code; None for the whole estate
    scope_name: str | None
    period: str | None                     # "2026-11", "2025-12 – 2026-11", or None
    generated_at: dt.datetime
    timezone: str
    sections: list[Section]
    notes: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def title(self, language: str) -> str:
        """The report's title in ``language``."""
        return label(TITLES, self.kind, language)

    def header(self, language: str) -> list[tuple[str, str]]:
        """(label, value) lines under the title: scope, period, generation time."""
        word = lambda key: label(HEADER, key, language)  # noqa: E731 - a local shorthand
        scope = word("everything") if self.scope is None else \
            f"{self.scope} {self.scope_name or ''}".strip() + word("with_subtree")
        lines = [(word("scope"), scope)]
        if self.period:
            lines.append((word("period"), self.period))
        from zoneinfo import ZoneInfo
        local = self.generated_at.astimezone(ZoneInfo(self.timezone))
        lines.append((word("generated"), f"{local:%Y-%m-%d %H:%M} ({self.timezone})"))
        return lines

    def section(self, key: str) -> Section:
        """The section named ``key``."""
        return next(s for s in self.sections if s.key == key)


def cell_text(column: Column, value: Any, language: str, timezone: str | None = None) -> str:
    """A value as text in ``language`` (CSV, PDF and pages show this)."""
    if value is None or value == "":
        return ""
    kind = column.kind
    if kind == "label":
        return label(column.labels or {}, str(value), language)
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "number":
        return f"{float(value):,.2f}" if not float(value).is_integer() else f"{int(value):,}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "datetime" and isinstance(value, dt.datetime):
        if timezone:
            from zoneinfo import ZoneInfo
            value = value.astimezone(ZoneInfo(timezone))
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def plain(column: Column, value: Any, language: str, timezone: str | None = None) -> Any:
    """A value for a spreadsheet cell: numbers stay numbers, everything else is text."""
    if value is None or value == "":
        return None
    if column.kind in ("int", "number", "percent"):
        return float(value) if column.kind != "int" else int(value)
    if column.kind == "money":
        return Decimal(value)
    return cell_text(column, value, language, timezone)


def yuan(fen: int | None) -> Decimal | None:
    """Integer fen as 元."""
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


def names(rows: Mapping[int, tuple[str, str]], id_: int | None) -> tuple[str | None, str | None]:
    """(code, name) of a department id from ``{id: (code, name)}``."""
    return rows.get(id_, (None, None)) if id_ is not None else (None, None)


def display_width(text: str) -> int:
    """Columns a text takes on paper or screen: CJK characters are two wide."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
