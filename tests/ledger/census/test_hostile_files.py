"""Census files crafted to slip past the checks: formulas behind a namespace prefix, macros,
text encodings guessed wrong, and formula injection into CSV exports."""

from __future__ import annotations

import csv

import pytest

from ledger.census.files import FileRejected, read_file
from ledger.census.service import CensusRejected, CensusService
from ledger.census.template import write_csv
from tests.ledger.census.builders import filled_workbook
from tests.ledger.census.hostile import (DEVICE_ROW, MACRO_BOOK_TYPE, cell, device_sheet,
                                         write_xlsx)


def _rejected(path, **kwargs) -> str:
    with pytest.raises(FileRejected) as exc:
        read_file(path, **kwargs)
    return str(exc.value)


def test_the_crafted_workbook_reads_as_a_census(tmp_path):
    for prefix in ("", "x:"):
        sheets = read_file(write_xlsx(tmp_path / f"ok{prefix[:1]}.xlsx",
                                      {"设备": device_sheet(prefix=prefix)}))
        assert [s.category for s in sheets] == ["device"]
        assert sheets[0].rows == [(3, DEVICE_ROW)]


@pytest.mark.parametrize("prefix", ["", "x:", "ss:"])
def test_a_formula_is_refused_whatever_its_namespace_prefix(tmp_path, prefix):
    formula = (f'<{prefix}c r="F3"><{prefix}f>E3*2</{prefix}f><{prefix}v>999</{prefix}v>'
               f'</{prefix}c>')
    sheet = device_sheet(formula, prefix=prefix)
    if prefix == "ss:":
        sheet = sheet.replace(b"xmlns:ss=", b"xmlns:ss=")   # any prefix bound to the namespace
    path = write_xlsx(tmp_path / "f.xlsx", {"设备": sheet})
    assert "设备!F3" in _rejected(path)


def test_formulas_outside_the_cells_do_not_count(tmp_path):
    # Excel keeps cross-sheet drop-down lists as <xm:f> in the sheet's extension list.
    ext = ('<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"><x14:dataValidations '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
           'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:dataValidation>'
           '<x14:formula1><xm:f>lists!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>D3:D9</xm:sqref>'
           '</x14:dataValidation></x14:dataValidations></ext></extLst>')
    sheet = device_sheet().replace(b"</worksheet>", ext.encode() + b"</worksheet>")
    assert read_file(write_xlsx(tmp_path / "v.xlsx", {"设备": sheet}))[0].rows


def test_macro_enabled_workbooks_are_refused(tmp_path):
    macro = write_xlsx(tmp_path / "m.xlsm", {"设备": device_sheet()},
                       extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really"},
                       book_type=MACRO_BOOK_TYPE)
    assert "宏" in _rejected(macro)
    assert "macro" in _rejected(macro, language="en")
    renamed = tmp_path / "m.xlsx"
    renamed.write_bytes(macro.read_bytes())
    assert "宏" in _rejected(renamed)


TRADITIONAL = "code,name,department,device type\nDEV07,臺北市資訊局機房交換器,D001,switch\n"
JAPANESE = "code,name,department,device type\nDEV08,東京都庁情報システム部サーバー,D001,server\n"
SIMPLIFIED = "code,name,department,device type\nDEV06,深圳市政务服务数据管理局交换机,D001,switch\n"


@pytest.mark.parametrize("text, encoding", [(TRADITIONAL, "big5"), (JAPANESE, "shift_jis")])
def test_text_that_only_decodes_as_nonsense_is_refused(tmp_path, text, encoding):
    path = tmp_path / "devices.csv"
    path.write_bytes(text.encode(encoding))
    reason = _rejected(path)
    assert "UTF-8" in reason and "GB18030" in reason
    assert "UTF-8" in _rejected(path, language="en")


@pytest.mark.parametrize("encoding, named", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8"),
                                             ("gbk", "GB18030"), ("gb18030", "GB18030")])
def test_the_encoding_assumed_is_reported(tmp_path, encoding, named):
    path = tmp_path / "devices.csv"
    path.write_bytes((SIMPLIFIED + "DEV0601,王喆的终端,D001,server\n").encode(encoding))
    sheet = read_file(path)[0]
    assert sheet.rows[0][1][1] == "深圳市政务服务数据管理局交换机"
    assert sheet.encoding == named


def test_utf16_text_is_not_read_as_gb18030(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_bytes(SIMPLIFIED.encode("utf-16-le"))
    assert "UTF-8" in _rejected(path)


DANGEROUS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-3+4", "@SUM(A1)", "'quoted",
             "''=twice", "'"]


def test_csv_export_neutralises_formula_triggers_and_round_trips(ledger, tmp_path):
    service = CensusService(ledger.engine, actor="test")
    service.apply(read_file(filled_workbook(tmp_path / "c.xlsx")))
    for number, text in enumerate(DANGEROUS):
        service.update("device", "DEV01", {"remarks": text}, partial=True)
        path = tmp_path / f"out{number}.device.csv"
        write_csv(path, "device", service.export()["device"])
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        remarks = rows[1].index("remarks")
        assert [row[remarks] for row in rows[2:] if row[0] == "DEV01"] == ["'" + text]
        result = service.apply(read_file(path), dry_run=True)
        assert result.plan.diffs["device"].changed == [], text


def test_csv_export_writes_no_control_characters_raw(tmp_path):
    path = tmp_path / "x.device.csv"
    write_csv(path, "device", [{"code": "DEV01", "name": "\tcmd|' /C calc'!A0",
                                "remarks": "a\x00b", "model": "\rX"}])
    raw = path.read_bytes()
    assert b"\x00" not in raw
    with open(path, encoding="utf-8-sig", newline="") as handle:
        row = list(csv.reader(handle))[2]
    assert [value[:1] for value in row if value] == ["D", "'", "'", "a"]


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "x\x1by"])
def test_control_characters_never_become_census_values(ledger, tmp_path, text):
    service = CensusService(ledger.engine, actor="test")
    service.apply(read_file(filled_workbook(tmp_path / "c.xlsx")))
    with pytest.raises(CensusRejected) as exc:
        service.update("device", "DEV01", {"remarks": text}, partial=True)
    assert "不可见字符" in str(exc.value.errors[0])
    assert service.get("device", "DEV01")["remarks"] is None


def test_long_headers_and_sheet_names_are_not_echoed_whole(tmp_path):
    path = tmp_path / "long.device.csv"
    path.write_text("code,name," + "x" * 100_000 + "\nDEV01,a,b\n", encoding="utf-8")
    reason = _rejected(path)
    assert "未知列 C" in reason and len(reason) < 400
