"""Census import and export through real workbooks and CSV files, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from ledger.census.audit import verify
from ledger.census.files import FileRejected, read_file
from ledger.census.service import CensusRejected, CensusService
from ledger.census.tables import TABLES, audit_record
from ledger.census.template import csv_paths, write_csv, write_workbook
from tests.ledger.census.builders import ROWS, filled_workbook


def counts(ledger) -> dict[str, int]:
    with ledger.engine.connect() as conn:
        found = {key: conn.execute(select(func.count()).select_from(table)).scalar_one()
                 for key, table in TABLES.items()}
        found["audit"] = conn.execute(select(func.count()).select_from(audit_record)).scalar_one()
    return found


@pytest.fixture
def imported(ledger, tmp_path):
    """The sample census imported once."""
    CensusService(ledger.engine, actor="test").apply(read_file(filled_workbook(tmp_path / "c.xlsx")))
    return ledger


def test_template_has_every_sheet_headers_keys_and_dropdowns(tmp_path):
    write_workbook(tmp_path / "t.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert workbook.sheetnames == ["填表说明", "地区", "部门", "数据中心", "云平台", "业务专网",
                                   "信息系统", "设备", "云资源", "灾备关系"]
    sheet = workbook["数据中心"]
    assert [c.value for c in sheet[1]][:3] == ["编号 *", "名称 *", "所属部门 *"]
    assert [c.value for c in sheet[2]][:3] == ["code", "name", "department"]
    rules = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert rules["E3:E1048576"] == '"自建,租用,购买服务"'
    assert any(v.type == "whole" and v.formula2 == "5" for v in
               sheet.data_validations.dataValidation)
    guide = [row for row in workbook["填表说明"].iter_rows(values_only=True)]
    assert ("数据中心", "等保级别", "protection_level", None, "等保级别 1-5") in guide
    english = tmp_path / "en.xlsx"
    write_workbook(english, language="en")
    assert openpyxl.load_workbook(english).sheetnames[:3] == ["instructions", "regions",
                                                             "departments"]


def test_import_types_every_field(imported):
    service = CensusService(imported.engine)
    dc = service.get("data_center", "DC01")
    assert dc["total_investment"] == decimal.Decimal("12345000.00")
    assert dc["in_service_date"] == dt.date(2019, 1, 1)  # Excel serial 43466
    assert dc["build_date"] == dt.date(2018, 5, 1)       # 2018年5月
    assert (dc["protection_level"], dc["build_mode"], dc["department"]) == (3, "self_built",
                                                                              "D001")
    device = service.get("device", "DEV02")
    assert (device["mac"], device["management_ip"], device["memory_gib"]) == \
        ("00:11:22:dd:ee:ff", "10.20.0.15", 512.0)
    assert device["purchase_price"] == decimal.Decimal("185000.50")
    system = service.get("information_system", "IS02")
    assert (system["migration_target"], system["migration_due"], system["dedicated_network"]) \
        == ("CP01", dt.date(2027, 6, 1), "NET01")
    assert service.get("department", "D00201")["parent"] == "D002"
    assert service.get("dedicated_network", "NET01")["internet_egress"] is False


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_export_then_import_changes_nothing(imported, tmp_path, suffix):
    service = CensusService(imported.engine)
    before = counts(imported)
    data = service.export()
    if suffix == "xlsx":
        write_workbook(tmp_path / "out.xlsx", data)
        sheets = read_file(tmp_path / "out.xlsx")
    else:
        sheets = []
        for key, path in csv_paths(tmp_path / "out.csv", data).items():
            write_csv(path, key, data[key])
            sheets += read_file(path, allow_empty=True)
    result = service.apply(sheets, replace=True)
    assert not result.applied and result.plan.empty
    assert sum(d.unchanged for d in result.plan.diffs.values()) == sum(
        len(v) for v in ROWS.values())
    assert counts(imported) == before
    assert service.export() == data


def test_dry_run_reports_field_changes_and_writes_nothing(imported, tmp_path):
    rows = copy.deepcopy(ROWS)
    rows["设备"][0][16] = "闲置"                       # status
    rows["设备"][1][18] = "190000"                     # purchase price
    rows["设备"].append(["DEV03", "防火墙", "D001", "防火墙", "Hillstone", "SG-6000", "HS0001"]
                       + [None] * 9 + ["在用"])
    rows["数据中心"].pop(1)
    rows["云资源"] = []
    rows["灾备关系"] = []
    sheets = read_file(filled_workbook(tmp_path / "d.xlsx", rows))
    before = counts(imported)
    service = CensusService(imported.engine)
    result = service.apply(sheets, dry_run=True)
    diff = result.plan.diffs["device"]
    assert [r["code"] for _row, r in diff.new] == ["DEV03"]
    changed = {code: fields for _row, code, fields in diff.changed}
    assert changed == {"DEV01": {"status": ("in_use", "idle")},
                       "DEV02": {"purchase_price": (decimal.Decimal("185000.50"),
                                                    decimal.Decimal("190000.00"))}}
    assert counts(imported) == before
    # --replace would remove DC02, but systems and a device still point at it.
    with pytest.raises(CensusRejected) as exc:
        service.apply(sheets, replace=True, dry_run=True)
    assert {(e.value, e.column) for e in exc.value.errors} >= {("DC02", "A(编号)")}
    assert all("仍被" in e.reason for e in exc.value.errors)


def test_applied_changes_are_audited_field_by_field(imported, tmp_path):
    rows = copy.deepcopy(ROWS)
    rows["设备"][0][16] = "闲置"
    CensusService(imported.engine, actor="张三").apply(
        read_file(filled_workbook(tmp_path / "e.xlsx", rows)))
    with imported.engine.connect() as conn:
        last = conn.execute(select(audit_record).order_by(audit_record.c.seq.desc())
                            .limit(1)).mappings().one()
        assert verify(conn).problems == []
    assert (last["actor"], last["action"], last["object_type"], last["object_key"]) == \
        ("张三", "update", "device", "DEV01")
    assert last["changes"] == {"status": ["in_use", "idle"]}


def _errors(ledger, tmp_path, rows, **kwargs) -> list:
    before = counts(ledger)
    with pytest.raises(CensusRejected) as exc:
        CensusService(ledger.engine, **kwargs).apply(
            read_file(filled_workbook(tmp_path / "bad.xlsx", rows)))
    assert counts(ledger) == before, "a rejected import must write nothing"
    return exc.value.errors


def test_every_bad_row_is_located_and_nothing_is_written(ledger, tmp_path):
    rows = copy.deepcopy(ROWS)
    rows["数据中心"][0][9] = "六级"                    # level
    rows["数据中心"][1][15] = "三百万"                 # amount
    rows["设备"][1][6] = "2102351931DMK8000123"       # serial of DEV01 again (same vendor? no)
    rows["设备"][1][4] = "Huawei"
    rows["设备"][1][17] = "2021-02-30"                # date
    rows["云资源"][0][5] = "CP99"                      # unknown platform
    rows["部门"].append(["D001", "重复部门"])          # duplicate code
    rows["灾备关系"][0][6] = "CP01"                    # both pairs filled
    errors = _errors(ledger, tmp_path, rows)
    found = {(e.sheet, e.row, e.column, e.value) for e in errors}
    assert ("数据中心", 3, "J(等保级别)", "六级") in found
    assert ("数据中心", 4, "P(总投资(元))", "三百万") in found
    assert ("设备", 4, "R(购置日期)", "2021-02-30") in found
    assert ("设备", 4, "G(序列号)", "2102351931DMK8000123") in found
    assert ("云资源", 3, "F(所在云平台)", "CP99") in found
    assert ("部门", 6, "A(编号)", "D001") in found
    assert any(e.sheet == "灾备关系" and e.row == 3 and "一组" in e.reason for e in errors)
    reasons = {e.value: e.reason for e in errors}
    assert reasons["CP99"] == "引用的云平台不存在"
    assert reasons["D001"] == "与第 3 行重复（A(编号)）"
    assert "与第 3 行重复" in reasons["2102351931DMK8000123"]
    english = _errors(ledger, tmp_path, rows, language="en")
    assert {e.value: e.reason for e in english}["CP99"] == "no such cloud platforms"
    assert "row 3" in str([e for e in english if e.value == "CP99"][0])


def test_duplicates_against_the_ledger(imported, tmp_path):
    rows = {"设备": [["DEV09", "新交换机", "D001", "交换机", "huawei", "X", "2102351931DMK8000123",
                      None, "00:11:22:aa:bb:cc"] + [None] * 7 + ["在用"]]}
    errors = _errors(imported, tmp_path, rows)
    assert {(e.column, e.reason) for e in errors} == {
        ("G(序列号)", "与台账中已有的 DEV01 重复（序列号）"),
        ("I(MAC地址)", "与台账中已有的 DEV01 重复（MAC地址）")}


def test_parent_cycles_are_refused(imported, tmp_path):
    rows = {"部门": [["D002", "深圳市公安局", "D00201", "440300"]]}
    errors = _errors(imported, tmp_path, rows)
    assert [e.reason for e in errors] == ["上级关系形成循环"]


def test_replace_removes_what_the_file_lacks(imported, tmp_path):
    rows = {"灾备关系": [], "云资源": [ROWS["云资源"][0]]}
    rows["云资源"].append(["VM02", "一网通办-web2", "D001", "云主机", None, "CP01", "IS01", 4])
    path = tmp_path / "r.csv"
    with open(path, "w", encoding="gbk", newline="") as handle:   # a GBK CSV from Excel
        writer = csv.writer(handle)
        writer.writerow(["编号", "名称", "所属部门", "资源类型", "实例ID", "所在云平台",
                         "所属信息系统", "vCPU", "内存(GiB)", "磁盘(GiB)", "IP地址", "主机名",
                         "使用状态", "开通日期", "年度费用(万元)", "备注"])
        writer.writerow(["VM02", "一网通办-web2", "D001", "云主机", "", "CP01", "IS01", "4",
                         "", "", "", "", "", "", "1.2", ""])
    sheets = read_file(path)
    assert sheets[0].category == "cloud_resource"
    result = CensusService(imported.engine).apply(sheets, replace=True)
    diff = result.plan.diffs["cloud_resource"]
    assert (len(diff.new), diff.removed) == (1, ["VM01"])
    assert CensusService(imported.engine).get("cloud_resource", "VM02")["annual_cost"] == \
        decimal.Decimal("12000.00")


def test_csv_with_bom_and_english_labels(imported, tmp_path):
    path = tmp_path / "devices.csv"
    path.write_text("code,name,department,device type,vendor,serial number,status\n"
                    "DEV05,Access switch,D001,switch,H3C,H3C-001,in use\n", encoding="utf-8-sig")
    result = CensusService(imported.engine).apply(read_file(path))
    assert result.applied
    assert CensusService(imported.engine).get("device", "DEV05")["vendor"] == "H3C"


def _rejected(path, **kwargs) -> str:
    with pytest.raises(FileRejected) as exc:
        read_file(path, **kwargs)
    return str(exc.value)


def test_bad_files_get_one_clear_message(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    text = tmp_path / "notes.xlsx"
    text.write_text("this is not a workbook")
    assert "不是有效的 Excel 工作簿" in _rejected(text)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert "没有可导入的数据" in _rejected(empty)
    blank = tmp_path / "blank.xlsx"
    write_workbook(blank)
    assert "没有可导入的数据" in _rejected(blank)
    good = filled_workbook(tmp_path / "good.xlsx")
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[:4000])
    assert "文件已损坏" in _rejected(truncated)
    encrypted = tmp_path / "encrypted.xlsx"
    with open(good, "rb") as plain, open(encrypted, "wb") as out:
        OOXMLFile(plain).encrypt("密码123", out)
    assert "工作簿已加密" in _rejected(encrypted)
    assert "password" in _rejected(encrypted, language="en")


def test_formulas_and_merged_headers_are_refused(tmp_path):
    path = filled_workbook(tmp_path / "f.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["设备"]["R4"] = "=R3*2"
    workbook.save(path)
    assert "设备!R4" in _rejected(path)
    path = filled_workbook(tmp_path / "m.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["部门"].merge_cells("A1:B1")
    workbook.save(path)
    assert "表头有合并单元格 A1:B1" in _rejected(path)


def test_unknown_sheets_and_columns(tmp_path):
    path = filled_workbook(tmp_path / "u.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("统计")["A1"] = "x"
    workbook.save(path)
    assert "统计: 未知工作表" in _rejected(path)
    workbook = openpyxl.load_workbook(filled_workbook(tmp_path / "c.xlsx"))
    workbook["设备"]["Z1"], workbook["设备"]["Z2"] = "颜色", "colour"
    workbook.save(tmp_path / "c.xlsx")
    assert "未知列 Z 颜色" in _rejected(tmp_path / "c.xlsx")
