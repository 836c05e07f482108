"""Reading census files: xlsx workbooks and CSV files, into :class:`InputSheet` objects.

Bad files stop here with one :class:`FileRejected` message: not a workbook, encrypted
(Office encryption wraps the package in an OLE container), legacy .xls, corrupt zip,
macros, formulas (their values are not what the sheet shows to the importer), merged
cells, sizes past :class:`ledger.census.limits.Limits` (:mod:`ledger.census.xlsx` checks a
package before it is read), a text encoding that cannot be told with confidence
(:mod:`ledger.census.csvfile`), missing or repeated headers, unknown sheets or columns,
nothing to import. CSV cells that an export neutralised with a leading ``'`` (formula
injection, see :func:`ledger.census.template.write_csv`) lose that quote again. Headers are
matched by the English key row of the template (row 2) or by Chinese or English labels
in row 1; a label saying 万元 makes the column's amounts 万元.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree
from typing import Callable, Iterable

from ledger.census import csvfile, xlsx
from ledger.census.fields import CATEGORIES, Category, category_for_sheet
from ledger.census.limits import DEFAULT, Limits
from ledger.census.messages import file_reason, message
from ledger.census.planner import InputSheet, clip
from ledger.census.template import CSV_TRIGGERS
from ledger.census.values import WAN

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
INSTRUCTIONS = ("填表说明", "instructions")
HEADER_ROWS_MAX = 2


class FileRejected(ValueError):
    """A file that cannot be imported at all; ``str()`` is the user's message."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__(f"{path}: {text}")
        self.path, self.text = path, text

    def named(self, name: str) -> str:
        """The message naming the file ``name`` (what the user uploaded) instead of the path
        it was stored under."""
        return f"{name}: {self.text}"


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
            raise FileRejected(path, f"{clip(sheet)}: " + message(
                "unknown_column", language, column=f"{letter} {clip(label)}"))
        if field_key in seen:
            raise FileRejected(path, f"{clip(sheet)}: " + message(
                "duplicate_column", language, column=f"{letter} {clip(label)}"))
        seen[field_key] = letter
        if label is not None and "万元" in str(label):
            units[field_key] = WAN
        fields.append(field_key)
        columns.append(f"{letter}({category.by_key[field_key].label(language)})")
    if not seen:
        raise FileRejected(path, f"{sheet}: " + message("no_header", language))
    return fields, columns, units, 3 if key_row else 2


def _column_letter(index: int) -> str:
    return xlsx.column_letters(index + 1)


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
              allow_empty: bool = False, limits: Limits = DEFAULT) -> list[InputSheet]:
    """The census sheets in ``path`` (xlsx or csv); raises FileRejected.

    A file without a single row is refused unless ``allow_empty`` (one CSV of several,
    where another file holds the rows). Reads in this process: uploads go through
    :func:`ledger.census.isolate.read_isolated`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FileRejected(str(path), file_reason(exc, language)) from None
    if not head:
        raise FileRejected(str(path), message("empty", language))
    if head.startswith(OLE_MAGIC):
        encrypted = _holds(path, "EncryptedPackage".encode("utf-16-le"))
        raise FileRejected(str(path), message("encrypted" if encrypted else "legacy_xls",
                                              language))
    if head.startswith(ZIP_MAGIC):
        sheets = _read_xlsx(path, language, progress, limits)
    elif path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise FileRejected(str(path), message("not_workbook", language))
    else:
        sheets = [_read_csv(path, category, language, limits)]
    if not allow_empty and not any(sheet.rows for sheet in sheets):
        raise FileRejected(str(path), message("empty", language))
    return sheets


def _holds(path: Path, needle: bytes) -> bool:
    """Whether ``needle`` occurs in the file (read in chunks)."""
    with path.open("rb") as handle:
        tail = b""
        while block := handle.read(1024 * 1024):
            if needle in tail + block:
                return True
            tail = block[-len(needle):]
    return False


def _read_xlsx(path: Path, language: str, progress, limits: Limits) -> list[InputSheet]:
    # python-calamine (Rust) reads cell values about 15 times faster than openpyxl, which
    # is what keeps a 100,000-row import inside its minute (see bench/README.md).
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            xlsx.check_package(archive, limits, language)
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = []
        for title in workbook.sheet_names:
            sheet = _read_worksheet(path, workbook.get_sheet_by_name(title), language, progress)
            if sheet is not None:
                sheets.append(sheet)
        return sheets
    except FileRejected:
        raise
    except xlsx.PackageRefused as exc:
        raise FileRejected(str(path), str(exc)) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, CalamineError,
            ElementTree.ParseError, RuntimeError, NotImplementedError) as exc:
        raise FileRejected(str(path), message("corrupt", language,
                                              detail=clip(exc, 200))) from None


def _read_worksheet(path: Path, ws, language: str, progress) -> InputSheet | None:
    title = ws.name.strip()
    if title in INSTRUCTIONS:
        return None
    category = category_for_sheet(title)
    if category is None:
        raise FileRejected(str(path), f"{clip(title)}: " + message("unknown_sheet", language))
    # Rows one at a time, never the whole sheet as lists. iter_rows starts at row 1 but at
    # the first used column, so the columns before it are put back: indexes are positions.
    pad = [""] * ws.start[1] if ws.start else []
    records = (pad + row for row in ws.iter_rows()) if pad else iter(ws.iter_rows())
    first = list(next(records, []))
    second = next(records, None)
    fields, columns, units, start = _resolve_headers(str(path), title, category, first, second,
                                                     language)

    def numbered():
        if start == 2 and second is not None:
            yield 2, second
        for number, values in enumerate(records, start=3):
            if progress and number % 20000 == 0:
                progress(f"{title}: {number}")
            yield number, values

    return _build_sheet(category, title, fields, columns, units, numbered())


def _csv_category(path: Path, header: list[str], wanted: str | None, language) -> Category:
    if wanted:
        if wanted not in CATEGORIES:
            raise FileRejected(str(path), message("csv_category", language))
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


def _unquote(value: str) -> str | None:
    """A CSV cell as the census sees it: empty is None; an export's neutralising quote goes."""
    if value == "":
        return None
    if value[0] == "'" and value[1:2] in CSV_TRIGGERS:
        return value[1:]
    return value


def _read_csv(path: Path, wanted: str | None, language: str, limits: Limits) -> InputSheet:
    import csv

    try:
        codec, encoding = csvfile.detect(path, language)
        records = csvfile.rows(path, codec, limits, language)
        first = next(records, None)
        if first is None:
            raise FileRejected(str(path), message("empty", language))
        second = next(records, None)
        category = _csv_category(path, first, wanted, language)
        fields, columns, units, start = _resolve_headers(
            str(path), path.name, category, first, second, language)

        def numbered():
            if start == 2 and second is not None:
                yield 2, [_unquote(v) for v in second]
            for number, values in enumerate(records, start=3):
                yield number, [_unquote(v) for v in values]

        sheet = _build_sheet(category, path.name, fields, columns, units, numbered())
    except csvfile.EncodingRefused as exc:
        raise FileRejected(str(path), str(exc)) from None
    except csv.Error as exc:
        raise FileRejected(str(path), message("corrupt", language,
                                              detail=clip(exc, 200))) from None
    except ValueError as exc:   # past the limits
        if isinstance(exc, FileRejected):
            raise
        raise FileRejected(str(path), str(exc)) from None
    sheet.encoding = encoding
    return sheet
