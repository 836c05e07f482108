"""Checking an xlsx package before python-calamine reads it.

Calamine returns cell values only and allocates one dense block from A1 to the last cell,
so what it would hide or what would exhaust memory is found here first, by streaming each
part's XML in chunks (never the whole part in memory):

- macros (a ``vbaProject`` part or the macro-enabled content type): refused, the census
  takes data, not programs;
- formulas anywhere in the cells, whatever namespace prefix the element carries
  (``<f>``, ``<x:f>``): their cached result is not what the sheet shows;
- merged cells (calamine keeps a merge's first cell only);
- sizes: zip members, unpacked bytes, the declared ``<dimension>``, the last row and column
  that the cells reach, and the number of shared strings, against :class:`Limits`.

Element names are matched with any prefix (``(?:\\w+:)?``), since SpreadsheetML may bind
its namespace to one; formulas outside ``<sheetData>`` (drop-down lists in an extension
list, ``<xm:f>``) are not cell contents and do not count.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

from ledger.census.limits import Limits
from ledger.census.messages import message

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MACRO_TYPE = b"macroEnabled"
CHUNK = 1024 * 1024
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_TAG = re.compile(rb"<(/?)" + _PREFIX + rb"(sheetData|row|c|f|mergeCell|dimension)\b([^>]*)>")
_REF = re.compile(rb'\b(?:r|ref)="\$?([A-Z]{1,4})?\$?(\d{1,9})?(?::\$?([A-Z]{1,4})\$?(\d{1,9}))?"')


class PackageRefused(ValueError):
    """Why a workbook is not read; ``str()`` is the user's message."""


@dataclass
class _SheetScan:
    title: str
    in_data: bool = False
    row: int = 0
    column: int = 0
    max_row: int = 0
    max_column: int = 0
    merges: list | None = None


def column_number(letters: bytes | str) -> int:
    """1 for A, 26 for Z, 27 for AA."""
    number = 0
    for char in letters if isinstance(letters, str) else letters.decode():
        number = number * 26 + ord(char) - 64
    return number


def column_letters(number: int) -> str:
    """The inverse of :func:`column_number`."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
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


def check_package(archive: zipfile.ZipFile, limits: Limits, language: str) -> dict[str, str]:
    """Check the whole package; returns the sheet members. Raises PackageRefused."""
    infos = archive.infolist()
    unpacked = sum(info.file_size for info in infos)
    if len(infos) > limits.parts or unpacked > limits.unpacked_bytes:
        raise PackageRefused(message("too_large_unpacked", language,
                                     size=_mib(unpacked), limit=_mib(limits.unpacked_bytes)))
    names = {info.filename.lower() for info in infos}
    types = archive.read("[Content_Types].xml") if "[content_types].xml" in names else b""
    if any(name.endswith("vbaproject.bin") for name in names) or MACRO_TYPE in types:
        raise PackageRefused(message("macros", language))
    members = sheet_members(archive)
    if len(members) > limits.parts:
        raise PackageRefused(message("too_large_unpacked", language, size=_mib(unpacked),
                                     limit=_mib(limits.unpacked_bytes)))
    for title, member in members.items():
        _scan_sheet(archive, member, _SheetScan(title, merges=[]), limits, language)
    for name in archive.namelist():
        if name.lower().endswith("sharedstrings.xml"):
            _count_strings(archive, name, limits, language)
    return members


def _chunks(archive: zipfile.ZipFile, member: str):
    """The part's bytes in chunks cut after a ``>``, so no tag spans two chunks."""
    rest = b""
    with archive.open(member) as stream:
        while True:
            block = stream.read(CHUNK)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b">") + 1
            if cut == 0 and len(block) > 16 * CHUNK:
                raise ValueError(f"{member}: a tag longer than 16 MiB")
            rest = block[cut:]
            yield block[:cut]
    if rest.strip():
        yield rest


def _scan_sheet(archive, member: str, scan: _SheetScan, limits: Limits, language: str) -> None:
    for chunk in _chunks(archive, member):
        for match in _TAG.finditer(chunk):
            closing, name, attrs = match[1], match[2], match[3]
            if name == b"sheetData":
                scan.in_data = not closing and not attrs.endswith(b"/")
            elif closing:
                continue
            elif name == b"c":
                _cell(scan, attrs, limits, language)
            elif name == b"row":
                _row(scan, attrs, limits, language)
            elif name == b"f" and scan.in_data:
                raise PackageRefused(message("formula", language, cell=(
                    f"{scan.title}!{column_letters(scan.column)}{scan.row}")))
            elif name == b"mergeCell":
                scan.merges.append(_ref_text(attrs))
            elif name == b"dimension":
                _dimension(scan, attrs, limits, language)
    if scan.merges:
        raise PackageRefused(f"{scan.title}: " + message(
            "merged_header", language, cells=", ".join(scan.merges[:5])))


def _row(scan: _SheetScan, attrs: bytes, limits: Limits, language: str) -> None:
    ref = _REF.search(attrs)
    scan.row = int(ref[2]) if ref and ref[2] else scan.row + 1
    scan.column = 0
    _reach(scan, scan.row, 0, limits, language)


def _cell(scan: _SheetScan, attrs: bytes, limits: Limits, language: str) -> None:
    ref = _REF.search(attrs)
    if ref and ref[1]:
        scan.column = column_number(ref[1])
        scan.row = int(ref[2]) if ref[2] else scan.row
    else:
        scan.column += 1
    _reach(scan, scan.row, scan.column, limits, language)


def _dimension(scan: _SheetScan, attrs: bytes, limits: Limits, language: str) -> None:
    ref = _REF.search(attrs)
    if ref:
        last_column, last_row = (ref[3], ref[4]) if ref[3] else (ref[1], ref[2])
        _reach(scan, int(last_row or 0), column_number(last_column or b""), limits, language,
               declared=True)


def _reach(scan: _SheetScan, row: int, column: int, limits: Limits, language: str, *,
           declared: bool = False) -> None:
    """Refuse a sheet whose area (A1 to its last cell) exceeds the limits."""
    if not declared:
        scan.max_row, scan.max_column = max(scan.max_row, row), max(scan.max_column, column)
        row, column = scan.max_row, scan.max_column
    if row > limits.rows + 2 or column > limits.columns or row * column > limits.cells:
        raise PackageRefused(f"{scan.title}: " + message(
            "too_large_sheet", language, cell=f"{column_letters(column) or 'A'}{row}",
            rows=limits.rows, columns=limits.columns, cells=limits.cells))


def _count_strings(archive, member: str, limits: Limits, language: str) -> None:
    count = 0
    for chunk in _chunks(archive, member):
        count += len(re.findall(rb"<" + _PREFIX + rb"si\b", chunk))
        if count > limits.cells:
            raise PackageRefused(message("too_many_strings", language, limit=limits.cells))


def _ref_text(attrs: bytes) -> str:
    ref = re.search(rb'\bref="([^"]{1,40})"', attrs)
    return ref[1].decode() if ref else "?"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MiB"
