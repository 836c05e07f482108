"""Writing census workbooks: the blank template and exports (xlsx or csv).

Layout of every category sheet: row 1 the label in the chosen language (``*`` marks a
required field, money headers say 元), row 2 the English field key (what imports match
on), data from row 3. Choice columns carry drop-down validation, 等保级别 a 1-5 whole
number rule. The first sheet (填表说明) explains every sheet and field. An export is the
template filled in, so export followed by import changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Iterable

from ledger.census.const import CHOICES
from ledger.census.fields import CATEGORIES, Category, Field
from ledger.census.values import to_cell

KIND_HELP = {
    "text": ("文本", "text"), "int": ("整数", "whole number"), "float": ("数字", "number"),
    "bool": ("是/否", "yes/no"), "date": ("日期，如 2020-05-01 或 2020年5月",
                                         "date, e.g. 2020-05-01"),
    "money": ("金额，单位元（也可填 1.2万元）", "amount in CNY (1.2万元 also accepted)"),
    "level": ("等保级别 1-5", "protection level 1-5"), "choice": ("下拉选择", "pick from list"),
    "ref": ("填写被引用记录的编号", "code of the referenced row"),
    "ip": ("IP 地址", "IP address"), "mac": ("MAC 地址", "MAC address"),
}
LAST_ROW = 1048576
#: First characters that make a spreadsheet read a CSV cell as a formula, and the quote
#: that neutralises them (OWASP, "CSV Injection").
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _header(spec: Field, language: str) -> str:
    return spec.label(language) + (" *" if spec.required else "")


def _instructions(language: str) -> list[list]:
    zh = language == "zh"
    rows = [["政务信息化资产普查 填表说明" if zh else "IT asset census: how to fill in"],
            ["每个工作表一个类别：第 1 行为字段名（* 为必填），第 2 行为字段键（请勿修改），"
             "从第 3 行开始填写；引用其他记录时填写其编号。" if zh else
             "One sheet per category: row 1 names the fields (* = required), row 2 holds "
             "the field keys (do not change), data starts in row 3; refer to other rows by "
             "their code."], [],
            ["工作表" if zh else "sheet", "字段" if zh else "field", "键" if zh else "key",
             "必填" if zh else "required", "填写说明" if zh else "how to fill in"]]
    for category in CATEGORIES.values():
        for spec in category.fields:
            text = KIND_HELP[spec.kind][0 if zh else 1]
            if spec.kind == "choice":
                labels = [c[1] if zh else c[2] for c in CHOICES[spec.choices]]
                text += "：" + "/".join(labels) if zh else ": " + "/".join(labels)
            if spec.kind == "ref":
                text += f"（{CATEGORIES[spec.ref].label(language)}）" if zh else \
                    f" ({CATEGORIES[spec.ref].label(language)})"
            rows.append([category.label(language), spec.label(language), spec.key,
                         ("是" if zh else "yes") if spec.required else "", text])
    return rows


def _validations(ws, category: Category, language: str) -> None:
    for position, spec in enumerate(category.fields):
        if spec.kind == "choice":
            labels = [c[1] if language == "zh" else c[2] for c in CHOICES[spec.choices]]
            rule = {"validate": "list", "source": labels, "ignore_blank": not spec.required}
        elif spec.kind == "level":
            rule = {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 5}
        elif spec.kind == "bool":
            rule = {"validate": "list", "source": ["是", "否"] if language == "zh"
                    else ["yes", "no"]}
        else:
            continue
        ws.data_validation(2, position, LAST_ROW - 1, position, rule)


def write_workbook(path: str | Path, data: dict[str, list[dict]] | None = None, *,
                   language: str = "zh") -> None:
    """Write the template (``data`` None) or an export of ``data`` to ``path`` (xlsx).

    XlsxWriter in constant-memory mode streams rows to disk: an export of 100,000 rows
    takes well under half the time openpyxl needs (bench/README.md)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    key = workbook.add_format({"font_color": "#808080"})
    guide = workbook.add_worksheet("填表说明" if language == "zh" else "instructions")
    guide.set_column(0, 1, 16)
    guide.set_column(4, 4, 60)
    for number, row in enumerate(_instructions(language)):
        guide.write_row(number, 0, row)
    for category in CATEGORIES.values():
        ws = workbook.add_worksheet(category.label(language))
        for position, spec in enumerate(category.fields):
            ws.set_column(position, position, max(
                12, len(spec.label(language)) * (2 if language == "zh" else 1) + 4))
        ws.freeze_panes(2, 0)
        _validations(ws, category, language)
        ws.write_row(0, 0, [_header(spec, language) for spec in category.fields], header)
        ws.write_row(1, 0, [spec.key for spec in category.fields], key)
        write_row = ws.write_row
        for number, record in enumerate((data or {}).get(category.key, ()), start=2):
            write_row(number, 0, [to_cell(spec, record.get(spec.key), language)
                                  for spec in category.fields])
    workbook.close()


def write_csv(path: str | Path, category: str, records: Iterable[dict], *,
              language: str = "zh") -> None:
    """One category as CSV (UTF-8 with BOM, which Excel opens correctly), same headers.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be a
    formula to a spreadsheet that opens the file (CSV injection): such cells, and cells
    starting with ``'``, get a leading ``'`` as OWASP recommends, which the census import
    takes off again (so export then import still changes nothing). NUL and other control
    characters are dropped (the census never stores them)."""
    spec = CATEGORIES[category]
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_header(f, language) for f in spec.fields])
        writer.writerow([f.key for f in spec.fields])
        for record in records:
            writer.writerow([_csv_text(to_cell(f, record.get(f.key), language))
                             for f in spec.fields])


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    text = _CONTROL.sub("", str(value))
    return "'" + text if text.startswith(CSV_TRIGGERS) else text


def csv_paths(path: str | Path, categories: Iterable[str]) -> dict[str, Path]:
    """Where an all-category CSV export goes: ``stem.<category>.csv`` beside ``path``."""
    path = Path(path)
    return {key: path.with_name(f"{path.stem}.{key}.csv") for key in categories}
