"""Workbooks and CSV files built to exhaust memory: refused before they are read, read in
a child process with bounded memory whatever slips through, and never taking the caller
down. Peak memory is the child's own (``ru_maxrss`` of ``wait4``), not a timing."""

from __future__ import annotations

import zipfile

import pytest

from ledger.census.files import FileRejected, read_file
from ledger.census.isolate import read_isolated, run_reader
from ledger.census.limits import Limits
from tests.ledger.census.hostile import (MAIN, device_sheet, repeated, sheet_xml,
                                         streamed_xlsx, write_xlsx)

MIB = 1024 * 1024
#: The checks of a Limits this large never refuse: only the child's memory bounds it.
UNCHECKED = Limits(rows=10**9, columns=10**6, cells=10**15, unpacked_bytes=10**12,
                   memory_bytes=1024 * MIB)


def far_cell(tmp_path, declared: bool = True):
    dimension = '<dimension ref="A1:XFD1048576"/>' if declared else ""
    body = ('<row r="1"><c r="A1" t="inlineStr"><is><t>编号</t></is></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    return write_xlsx(tmp_path / "far.xlsx", {"设备": sheet_xml(body, before=dimension)})


@pytest.mark.parametrize("declared", [True, False])
def test_a_cell_at_xfd1048576_is_refused_before_reading(tmp_path, declared):
    path = far_cell(tmp_path, declared)
    assert path.stat().st_size < 5000
    result = run_reader(path)
    assert result.sheets is None and "1048576" in result.rejected
    assert result.max_rss_bytes < 200 * MIB


def test_a_reader_that_dies_is_a_refusal_and_the_caller_lives(tmp_path):
    # With the checks out of the way calamine asks for 512 GiB and aborts: only the child.
    result = run_reader(far_cell(tmp_path), limits=UNCHECKED)
    assert result.sheets is None
    assert "读取文件时超出资源限制" in result.rejected
    assert result.max_rss_bytes < 1100 * MIB
    with pytest.raises(FileRejected):
        read_isolated(far_cell(tmp_path), limits=UNCHECKED, language="en")
    assert read_file(write_xlsx(tmp_path / "ok.xlsx", {"设备": device_sheet()}))


def test_a_sheet_bomb_is_refused_in_bounded_memory(tmp_path):
    # 100 million empty cells in one row: 400 MB unpacked from under half a megabyte.
    head = sheet_xml("@").split(b"@")
    path = streamed_xlsx(tmp_path / "cells.xlsx", "设备",
                         repeated(head[0] + b'<row r="1">', b"<c/>", 100_000_000,
                                  b"</row>" + head[1]))
    assert path.stat().st_size < 2 * MIB
    result = run_reader(path)
    assert "工作表过大" in result.rejected
    assert result.max_rss_bytes < 200 * MIB


def test_many_rows_are_refused_at_the_limit(tmp_path):
    head = sheet_xml("@").split(b"@")
    path = streamed_xlsx(tmp_path / "rows.xlsx", "设备",
                         repeated(head[0], b"<row><c><v>1</v></c></row>", 300_000, head[1]))
    result = run_reader(path)
    assert "工作表过大" in result.rejected and "200000" in result.rejected


def test_a_shared_strings_bomb_is_refused_in_bounded_memory(tmp_path):
    strings = repeated(f'<sst xmlns="{MAIN}">'.encode(), b"<si><t>a</t></si>", 20_000_000,
                       b"</sst>")
    path = streamed_xlsx(tmp_path / "strings.xlsx", "设备", device_sheet(),
                         shared_strings=strings)
    assert path.stat().st_size < 3 * MIB
    result = run_reader(path)
    assert "共享字符串过多" in result.rejected
    assert result.max_rss_bytes < 200 * MIB
    small = Limits(unpacked_bytes=100 * MIB)
    assert "解压后过大" in run_reader(path, limits=small).rejected


def test_a_zip_that_lies_about_its_sizes_is_corrupt(tmp_path):
    path = write_xlsx(tmp_path / "lie.xlsx", {"设备": device_sheet()})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    # The local header's and central directory's uncompressed size say 10 bytes.
    for offset in (info.header_offset + 22, data.rfind(b"xl/worksheets/sheet1.xml") - 46 + 24):
        data[offset:offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert "文件已损坏" in run_reader(path).rejected


def test_a_million_row_csv_is_read_as_a_stream_in_bounded_memory(tmp_path):
    path = tmp_path / "many.device.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("code,name,department,device type,vendor,serial number,status\n")
        for number in range(1_000_000):
            out.write(f"DEV{number:07d},接入交换机{number},D001,switch,H3C,SN{number:09d},in use\n")
    assert path.stat().st_size > 60 * MIB
    result = run_reader(path)
    assert "数据超过 200000 行" in result.rejected
    assert result.max_rss_bytes < 300 * MIB
    # Held rows aside, what reading costs does not grow with the file (65 MB here).
    few = run_reader(path, limits=Limits(rows=1000))
    assert "数据超过 1000 行" in few.rejected and few.max_rss_bytes < 100 * MIB
