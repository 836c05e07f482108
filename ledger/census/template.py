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
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    for position, spec in enumerate(category.fields, start=1):
        letter = get_column_letter(position)
        if spec.kind == "choice":
            labels = [c[1] if language == "zh" else c[2] for c in CHOICES[spec.choices]]
            rule = DataValidation(type="list", formula1='"' + ",".join(labels) + '"',
                                  allow_blank=not spec.required, showErrorMessage=True)
        elif spec.kind == "level":
            rule = DataValidation(type="whole", operator="between", formula1="1", formula2="5",
                                  allow_blank=True, showErrorMessage=True)
        elif spec.kind == "bool":
            words = "是,否" if language == "zh" else "yes,no"
            rule = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True,
                                  showErrorMessage=True)
        else:
            continue
        rule.add(f"{letter}3:{letter}{LAST_ROW}")
        ws.data_validations.append(rule)


def write_workbook(path: str | Path, data: dict[str, list[dict]] | None = None, *,
                   language: str = "zh") -> None:
    """Write the template (``data`` None) or an export of ``data`` to ``path`` (xlsx)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook(write_only=True)
    guide = workbook.create_sheet("填表说明" if language == "zh" else "instructions")
    for row in _instructions(language):
        guide.append(row)
    bold, grey = Font(bold=True), Font(color="808080")
    fill = PatternFill("solid", fgColor="DDEBF7")
    for category in CATEGORIES.values():
        ws = workbook.create_sheet(category.label(language))
        ws.freeze_panes = "A3"
        for position, spec in enumerate(category.fields):
            from openpyxl.utils import get_column_letter
            ws.column_dimensions[get_column_letter(position + 1)].width = \
                max(12, len(spec.label(language)) * (2 if language == "zh" else 1) + 4)
        _validations(ws, category, language)
        header = []
        for spec in category.fields:
            cell = WriteOnlyCell(ws, _header(spec, language))
            cell.font, cell.fill = bold, fill
            header.append(cell)
        ws.append(header)
        keys = []
        for spec in category.fields:
            cell = WriteOnlyCell(ws, spec.key)
            cell.font = grey
            keys.append(cell)
        ws.append(keys)
        for record in (data or {}).get(category.key, ()):
            ws.append(_cells(ws, category, record, language))
    workbook.save(path)


def _cells(ws, category: Category, record: dict, language: str) -> list:
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for spec in category.fields:
        value = to_cell(spec, record.get(spec.key), language)
        if spec.kind == "date" and value is not None:
            cell = WriteOnlyCell(ws, value)
            cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def write_csv(path: str | Path, category: str, records: Iterable[dict], *,
              language: str = "zh") -> None:
    """One category as CSV (UTF-8 with BOM, which Excel opens correctly), same headers."""
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
    return str(value)


def csv_paths(path: str | Path, categories: Iterable[str]) -> dict[str, Path]:
    """Where an all-category CSV export goes: ``stem.<category>.csv`` beside ``path``."""
    path = Path(path)
    return {key: path.with_name(f"{path.stem}.{key}.csv") for key in categories}
