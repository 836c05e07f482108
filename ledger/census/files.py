"""Reading census files: xlsx workbooks and CSV files, into :class:`InputSheet` objects.

Bad files stop here with one :class:`FileRejected` message: not a workbook, encrypted
(Office encryption wraps the package in an OLE container), legacy .xls, corrupt zip,
formulas (their values are not what the sheet shows to the importer), merged cells,
missing or repeated headers, unknown sheets or columns, nothing to import. Headers are
matched by the English key row of the template (row 2) or by Chinese or English labels
in row 1; a label saying 万元 makes the column's amounts 万元.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree
from typing import Callable, Iterable

from ledger.census.fields import CATEGORIES, Category, category_for_sheet
from ledger.census.messages import file_reason, message
from ledger.census.planner import InputSheet
from ledger.census.values import WAN

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
INSTRUCTIONS = ("填表说明", "instructions")
HEADER_ROWS_MAX = 2
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_FORMULA = re.compile(rb"<f[ >/]")
_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]+\d+)"')
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class FileRejected(ValueError):
    """A file that cannot be imported at all; ``str()`` is the user's message."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__(f"{path}: {text}")


def _label_key(text: str) -> str:
    return re.sub(r"[\s*＊]", "", text).lower()


def _header_index(category: Category) -> dict[str, str]:
    index = {}
    for spec in category.fields:
        for name in (spec.key, spec.zh, spec.en):
            index[_label_key(name)] = spec.key
        # 总投资(元) is also recognised as 总投资(万元), 总投资 and 总投资（元）.
        base = re.sub(r"[（(].*[)）]$", "", spec.zh)
        for variant in (base, f"{base}(万元)", f"{base}（万元）", f"{base}（元）"):
            index.setdefault(_label_key(variant), spec.key)
    return index


def _resolve_headers(path: str, sheet: str, category: Category, first: list,
                     second: list | None, language: str) -> tuple[list[str], list[str], dict, int]:
    """Field keys, column names for messages, units and the first data row (1-based)."""
    keys = {spec.key for spec in category.fields}
    second_texts = [str(v).strip() for v in (second or []) if v not in (None, "")]
    key_row = bool(second_texts) and all(t in keys for t in second_texts)
    index = _header_index(category)
    fields, columns, units, seen = [], [], {}, {}
    for position, label in enumerate(first):
        letter = _column_letter(position)
        chosen = second[position] if key_row and position < len(second) else label
        if chosen in (None, "") and label in (None, ""):
            fields.append("")
            columns.append(letter)
            continue
        field_key = index.get(_label_key(str(chosen if chosen not in (None, "") else label)))
        if field_key is None:
            raise FileRejected(path, f"{sheet}: " + message("unknown_column", language,
                                                             column=f"{letter} {label}"))
        if field_key in seen:
            raise FileRejected(path, f"{sheet}: " + message("duplicate_column", language,
                                                             column=f"{letter} {label}"))
        seen[field_key] = letter
        if label is not None and "万元" in str(label):
            units[field_key] = WAN
        fields.append(field_key)
        columns.append(f"{letter}({category.by_key[field_key].label(language)})")
    if not seen:
        raise FileRejected(path, f"{sheet}: " + message("no_header", language))
    return fields, columns, units, 3 if key_row else 2


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _build_sheet(category: Category, sheet: str, fields: list[str], columns: list[str],
                 units: dict, rows: Iterable[tuple[int, list]]) -> InputSheet:
    keep = [i for i, key in enumerate(fields) if key]
    result = InputSheet(category.key, sheet, [fields[i] for i in keep],
                        [columns[i] for i in keep], units=units)
    append = result.rows.append
    for number, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        append((number, [values[i] if i < len(values) else None for i in keep]))
    return result


def read_file(path: str | Path, *, category: str | None = None, language: str = "zh",
              progress: Callable[[str], None] | None = None,
              allow_empty: bool = False) -> list[InputSheet]:
    """The census sheets in ``path`` (xlsx or csv); raises FileRejected.

    A file without a single row is refused unless ``allow_empty`` (one CSV of several,
    where another file holds the rows)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FileRejected(str(path), file_reason(exc, language)) from None
    if not head:
        raise FileRejected(str(path), message("empty", language))
    if head.startswith(OLE_MAGIC):
        data = path.read_bytes()
        encrypted = "EncryptedPackage".encode("utf-16-le") in data
        raise FileRejected(str(path), message("encrypted" if encrypted else "legacy_xls",
                                              language))
    if head.startswith(ZIP_MAGIC):
        sheets = _read_xlsx(path, language, progress)
    elif path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise FileRejected(str(path), message("not_workbook", language))
    else:
        sheets = [_read_csv(path, category, language)]
    if not allow_empty and not any(sheet.rows for sheet in sheets):
        raise FileRejected(str(path), message("empty", language))
    return sheets


def _read_xlsx(path: Path, language: str, progress) -> list[InputSheet]:
    # python-calamine (Rust) reads cell values about 15 times faster than openpyxl, which
    # is what keeps a 100,000-row import inside its minute (see bench/README.md).
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            members = _sheet_members(archive)
            for title, member in members.items():
                _scan_xml(path, title, archive.read(member), language)
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = []
        for title in workbook.sheet_names:
            sheet = _read_worksheet(path, workbook.get_sheet_by_name(title), language, progress)
            if sheet is not None:
                sheets.append(sheet)
        return sheets
    except FileRejected:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, CalamineError,
            ElementTree.ParseError) as exc:
        raise FileRejected(str(path), message("corrupt", language, detail=exc)) from None


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> zip member of its XML, from the workbook and its relationships."""
    if "xl/workbook.xml" not in archive.namelist():
        raise KeyError("xl/workbook.xml")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    members = {}
    for sheet in book.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{REL_NS}}}id"), "")
        members[sheet.get("name")] = target.lstrip("/") if target.startswith("/") \
            else f"xl/{target}"
    return members


def _scan_xml(path: Path, title: str, xml: bytes, language: str) -> None:
    """Refuse merged cells and formulas: calamine would hand over a merge's first cell
    only and a formula's cached result, neither of which is what the sheet shows."""
    merges = _MERGE.findall(xml)
    if merges:
        cells = ", ".join(f"{a.decode()}{b.decode()}" + (f":{c.decode()}{d.decode()}" if c else "")
                          for a, b, c, d in merges[:5])
        raise FileRejected(str(path), f"{title}: " + message("merged_header", language,
                                                             cells=cells))
    found = _FORMULA.search(xml)
    if found:
        cell = _CELL_REF.search(xml, xml.rfind(b"<c ", 0, found.start()))
        where = cell[1].decode() if cell else "?"
        raise FileRejected(str(path), message("formula", language, cell=f"{title}!{where}"))


def _read_worksheet(path: Path, ws, language: str, progress) -> InputSheet | None:
    title = ws.name.strip()
    if title in INSTRUCTIONS:
        return None
    category = category_for_sheet(title)
    if category is None:
        raise FileRejected(str(path), f"{title}: " + message("unknown_sheet", language))
    values = ws.to_python(skip_empty_area=False)  # from A1, so indexes are positions
    first = list(values[0]) if values else []
    second = list(values[1]) if len(values) > 1 else None
    fields, columns, units, start = _resolve_headers(str(path), title, category, first, second,
                                                     language)

    def numbered():
        for index in range(start - 1, len(values)):
            number = index + 1
            if progress and number % 20000 == 0:
                progress(f"{title}: {number}")
            yield number, values[index]

    return _build_sheet(category, title, fields, columns, units, numbered())


def _decode(path: Path, language: str) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected(str(path), message("encoding", language))


def _csv_category(path: Path, header: list[str], wanted: str | None, language) -> Category:
    if wanted:
        return CATEGORIES[wanted]
    parts = path.name.lower().split(".")
    for part in parts[:-1]:
        if part in CATEGORIES:
            return CATEGORIES[part]
    labels = {_label_key(h) for h in header if h.strip()}
    fits = [c for c in CATEGORIES.values() if labels <= set(_header_index(c))]
    if len(fits) == 1:
        return fits[0]
    raise FileRejected(str(path), message("csv_category", language))


def _read_csv(path: Path, wanted: str | None, language: str) -> InputSheet:
    text = _decode(path, language)
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FileRejected(str(path), message("corrupt", language, detail=exc)) from None
    if not lines:
        raise FileRejected(str(path), message("empty", language))
    category = _csv_category(path, lines[0], wanted, language)
    fields, columns, units, start = _resolve_headers(
        str(path), path.name, category, lines[0], lines[1] if len(lines) > 1 else None,
        language)
    numbered = ((number, [v if v != "" else None for v in values])
                for number, values in enumerate(lines[start - 1:], start=start))
    return _build_sheet(category, path.name, fields, columns, units, numbered)
