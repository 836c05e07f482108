"""Hostile census files crafted in code: minimal xlsx packages whose parts a test writes by
hand (namespace prefixes, macros, bombs), so no binary is committed."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
BOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_BOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
#: The device sheet's code row and one data row, as the template has them.
DEVICE_KEYS = ["code", "name", "department", "device_type", "purchase_price"]
DEVICE_ROW = ["DEV09", "接入交换机", "D001", "交换机", "1000"]


def cell(ref: str, value, prefix: str = "") -> str:
    """One inline-string or number cell."""
    if isinstance(value, (int, float)):
        return f'<{prefix}c r="{ref}"><{prefix}v>{value}</{prefix}v></{prefix}c>'
    return (f'<{prefix}c r="{ref}" t="inlineStr"><{prefix}is><{prefix}t>{escape(value)}'
            f'</{prefix}t></{prefix}is></{prefix}c>')


def rows_xml(rows: list[list], prefix: str = "") -> str:
    """``rows`` as ``<row>`` elements from row 1, column A."""
    out = []
    for number, values in enumerate(rows, start=1):
        cells = "".join(cell(f"{chr(65 + i)}{number}", v, prefix) for i, v in enumerate(values)
                        if v is not None)
        out.append(f'<{prefix}row r="{number}">{cells}</{prefix}row>')
    return "".join(out)


def sheet_xml(body: str, prefix: str = "", before: str = "") -> bytes:
    """A worksheet part; with ``prefix`` ("x:") every element carries that prefix."""
    declare = f'xmlns:{prefix[:-1]}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<{prefix}worksheet {declare} xmlns:r="{RELS}">{before}<{prefix}sheetData>{body}'
            f'</{prefix}sheetData></{prefix}worksheet>').encode()


def device_sheet(extra_cells: str = "", prefix: str = "") -> bytes:
    """The device sheet: labels, keys and one row, plus ``extra_cells`` in row 3."""
    body = rows_xml([["编号", "名称", "所属部门", "设备类型", "购置金额"], DEVICE_KEYS], prefix)
    row = "".join(cell(f"{chr(65 + i)}3", v, prefix) for i, v in enumerate(DEVICE_ROW))
    body += f'<{prefix}row r="3">{row}{extra_cells}</{prefix}row>'
    return sheet_xml(body, prefix)


def write_xlsx(path: Path, sheets: dict[str, bytes], *, shared_strings: bytes | None = None,
               extra: dict[str, bytes] | None = None, book_type: str = BOOK_TYPE,
               compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A workbook package holding ``sheets`` (title -> worksheet XML)."""
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{book_type}"/>']
    book_sheets, rels = [], []
    for number, title in enumerate(sheets, start=1):
        overrides.append(f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
                         f'ContentType="{SHEET_TYPE}"/>')
        book_sheets.append(f'<sheet name="{escape(title)}" sheetId="{number}" r:id="rId{number}"/>')
        rels.append(f'<Relationship Id="rId{number}" Type="{RELS}/worksheet" '
                    f'Target="worksheets/sheet{number}.xml"/>')
    if shared_strings is not None:
        overrides.append('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        rels.append(f'<Relationship Id="rIdS" Type="{RELS}/sharedStrings" '
                    f'Target="sharedStrings.xml"/>')
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            f'ContentType="application/xml"/>{"".join(overrides)}</Types>').encode(),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
                        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>').encode(),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
                            f'xmlns:r="{RELS}"><sheets>{"".join(book_sheets)}</sheets>'
                            '</workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                                       f'xmlns="{PKG}">{"".join(rels)}</Relationships>').encode(),
    }
    for number, xml in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{number}.xml"] = xml
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    parts.update(extra or {})
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def streamed_xlsx(path: Path, title: str, pieces, *, shared_strings=None) -> Path:
    """A workbook whose one sheet (and shared strings) are written from iterables of bytes,
    so a bomb of hundreds of megabytes unpacked never sits in the test's memory."""
    write_xlsx(path, {title: b""}, shared_strings=b"" if shared_strings is not None else None)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                data = pieces
            elif name == "xl/sharedStrings.xml":
                data = shared_strings
            with archive.open(name, "w", force_zip64=True) as out:
                for block in ([data] if isinstance(data, bytes) else data):
                    out.write(block)
    return path


def repeated(head: bytes, unit: bytes, count: int, tail: bytes, block: int = 1 << 16):
    """``head + unit * count + tail`` in blocks."""
    yield head
    for _ in range(count // block):
        yield unit * block
    yield unit * (count % block) + tail
