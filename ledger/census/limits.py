"""How much of a census file is read at most: rows, columns, cells, unpacked bytes, and the
memory and time of the process that reads an upload.

Every limit is checked before the reader allocates for it (an xlsx declares its size in
its zip directory and its ``<dimension>``; cell references say where the last cell is), so
a 5 KB workbook claiming a cell at XFD1048576 is refused in milliseconds instead of asking
for 512 GiB. What the checks cannot foresee is bounded by the reading process's address
space (:mod:`ledger.census.isolate`).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upper bounds of one census file."""

    rows: int = 200_000                  # data rows of one sheet or CSV file
    columns: int = 256                   # columns of one sheet
    cells: int = 8_000_000               # rows x columns of a sheet's area; shared strings
    unpacked_bytes: int = 1024 * MIB     # a workbook's parts once decompressed, together
    parts: int = 10_000                  # members of a workbook's zip
    memory_bytes: int = 3 * 1024 * MIB   # address space of the process reading an upload
    seconds: int = 600                   # CPU time of that process


DEFAULT = Limits()
