"""Reports as files: XLSX (every section a sheet), CSV (the main table), PDF (:mod:`.pdf`).

Text cells are written as text, never as formulas: a workbook cell is written with
``write_string``, and a CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with an apostrophe (OWASP "CSV injection"); NUL characters are
removed. CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import xlsxwriter

from ledger.const import label
from ledger.reports.model import (HEADER, Column, Report, Section, cell_text, display_width,
                                  plain)

MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {"money": "#,##0.00", "percent": "0.0%", "number": "#,##0.##",
                  "int": "#,##0"}


def render(report: Report, fmt: str, language: str = "zh", *, font: str | None = None) -> bytes:
    """``report`` as ``fmt`` (xlsx, csv or pdf) in ``language``."""
    if fmt == "xlsx":
        return xlsx(report, language)
    if fmt == "csv":
        return csv_bytes(report, language)
    if fmt == "pdf":
        from ledger.reports.pdf import pdf
        return pdf(report, language, font=font)
    raise ValueError(f"unknown format {fmt!r}")


def filename(report: Report, fmt: str) -> str:
    """A file name for a download or an attachment: kind, scope, period."""
    parts = ["report", report.kind, report.scope or "all"]
    if report.period and len(report.period) == 7:
        parts.append(report.period)
    return "-".join(parts) + f".{fmt}"


def safe_text(text: str) -> str:
    """A CSV cell that no spreadsheet will take for a formula, without NULs."""
    text = text.replace("\0", "")
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(report: Report, language: str = "zh") -> bytes:
    """The report's first section as CSV (UTF-8 with BOM, a header row, a totals row)."""
    section = report.sections[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(c.title(language)) for c in section.columns])
    for row in _rows(section, language):
        writer.writerow([_csv_cell(c, row.get(c.key), language, report.timezone)
                         for c in section.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(column: Column, value: Any, language: str, timezone: str) -> str:
    if column.kind == "money" and value is not None:
        return f"{Decimal(value):.2f}"
    if column.kind in ("int", "number", "percent") and value is not None:
        number = plain(column, value, language)
        return str(int(number)) if float(number).is_integer() else str(round(number, 6))
    return safe_text(cell_text(column, value, language, timezone))


def _rows(section: Section, language: str) -> list[dict]:
    return section.rows + ([totals_row(section, language)] if section.totals else [])


def totals_row(section: Section, language: str) -> dict:
    """The totals of a section with "合计" (Total) in its first column."""
    first = section.columns[0].key
    return {**section.totals, first: label(HEADER, "totals", language)}


def xlsx(report: Report, language: str = "zh") -> bytes:
    """Every section of the report as a sheet, with the title, scope and period on top."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    styles = _styles(book)
    for index, section in enumerate(report.sections):
        name = _sheet_name(section.title(language), index)
        sheet = book.add_worksheet(name)
        line = _write_header(sheet, report, language, styles)
        sheet.write_string(line, 0, section.title(language), styles["section"])
        line += 1
        for col, column in enumerate(section.columns):
            sheet.write_string(line, col, column.title(language), styles["head"])
            sheet.set_column(col, col, _width(section, column, language))
        sheet.freeze_panes(line + 1, 0)
        for row in section.rows:
            line += 1
            _write_row(sheet, line, section, row, language, report.timezone, styles, False)
        if section.totals:
            line += 1
            _write_row(sheet, line, section, totals_row(section, language), language,
                       report.timezone, styles, True)
        if not section.rows:
            sheet.write_string(line + 1, 0, label(HEADER, "empty", language))
    book.close()
    return out.getvalue()


def _styles(book) -> dict:
    styles = {"title": book.add_format({"bold": True, "font_size": 14}),
              "section": book.add_format({"bold": True, "font_size": 12}),
              "head": book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1,
                                       "text_wrap": True}),
              "text": book.add_format({}), "bold": book.add_format({"bold": True})}
    for kind, pattern in NUMBER_FORMATS.items():
        styles[kind] = book.add_format({"num_format": pattern})
        styles[f"{kind}_bold"] = book.add_format({"num_format": pattern, "bold": True})
    return styles


def _write_header(sheet, report: Report, language: str, styles: dict) -> int:
    sheet.write_string(0, 0, report.title(language), styles["title"])
    line = 1
    for name, value in report.header(language):
        sheet.write_string(line, 0, name, styles["bold"])
        sheet.write_string(line, 1, value)
        line += 1
    for zh, en in report.notes:
        sheet.write_string(line, 0, zh if language == "zh" else en)
        line += 1
    return line + 1


def _write_row(sheet, line: int, section: Section, row: dict, language: str, timezone: str,
               styles: dict, bold: bool) -> None:
    for col, column in enumerate(section.columns):
        cell = plain(column, row.get(column.key), language, timezone)
        if cell is None:
            continue
        if isinstance(cell, str):
            sheet.write_string(line, col, cell.replace("\0", ""),
                               styles["bold" if bold else "text"])
        else:
            style = NUMBER_FORMATS.get(column.kind) and f"{column.kind}{'_bold' if bold else ''}"
            sheet.write_number(line, col, float(cell), styles.get(style) or styles["text"])


def _sheet_name(title: str, index: int) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return f"{index + 1} {cleaned}"[:31]


def _width(section: Section, column: Column, language: str) -> float:
    sample = [cell_text(column, r.get(column.key), language) for r in section.rows[:200]]
    longest = max([display_width(column.title(language))] +
                  [display_width(text) for text in sample])
    return min(max(8.0, longest + 2), 50.0)
