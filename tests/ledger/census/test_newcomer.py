"""What a department's data officer meets first: re-imports, dry-run diffs, DR pairs."""

from __future__ import annotations

import copy
import io

import pytest

from ledger.census.files import read_file
from ledger.census.report import print_diff
from ledger.census.service import CensusRejected, CensusService
from ledger.census.template import write_workbook
from tests.ledger.census.builders import ROWS, filled_workbook


@pytest.fixture
def imported(ledger, tmp_path):
    CensusService(ledger.engine).apply(read_file(filled_workbook(tmp_path / "c.xlsx")))
    return ledger


def _diff_text(plan, language="zh") -> str:
    out = io.StringIO()
    print_diff(plan, out, language=language, details=True)
    return out.getvalue()


def test_a_department_reimports_its_own_scoped_export(imported, tmp_path):
    police = CensusService(imported.engine, department="D002")
    export = tmp_path / "police.xlsx"
    write_workbook(export, police.export())
    result = police.apply(read_file(export), dry_run=True)
    assert result.plan.empty
    assert result.plan.diffs["region"].unchanged == 3
    assert result.plan.diffs["department"].unchanged == 2
    # A changed region or someone else's row is still refused.
    rows = {"地区": [["440000", "广东省（改）", "省级", None]]}
    with pytest.raises(CensusRejected) as exc:
        police.apply(read_file(filled_workbook(tmp_path / "r.xlsx", rows)))
    assert [e.reason for e in exc.value.errors] == ["地区为全局数据，仅管理员可修改"]
    rows = {"部门": [["D001", "深圳市政务服务数据管理局", None, "440300", "张三", "0755-88120000"]]}
    with pytest.raises(CensusRejected) as exc:   # unchanged, but not visible to the police
        police.apply(read_file(filled_workbook(tmp_path / "o.xlsx", rows)))
    assert [e.reason for e in exc.value.errors] == ["编号已被其他部门使用"]


def test_the_dry_run_diff_shows_labels_in_the_callers_language(imported, tmp_path):
    rows = copy.deepcopy(ROWS)
    rows["信息系统"][0][6] = "已下线"                 # usage status in_use -> retired
    sheets = read_file(filled_workbook(tmp_path / "l.xlsx", rows))
    plan = CensusService(imported.engine).apply(sheets, dry_run=True).plan
    assert "使用状态: 在用 → 已下线" in _diff_text(plan)
    assert "usage status: in use → retired" in _diff_text(plan, "en")


def test_blank_cells_that_clear_filled_values_are_counted_per_field(imported, tmp_path):
    rows = copy.deepcopy(ROWS)
    rows["设备"][0][19] = None                         # funding source of DEV01
    rows["设备"][1][19] = None                         # ... and of DEV02
    rows["设备"][1][20] = None                         # remarks of DEV02
    plan = CensusService(imported.engine).apply(
        read_file(filled_workbook(tmp_path / "b.xlsx", rows)), dry_run=True).plan
    assert plan.diffs["device"].cleared == {"funding_source": 2, "remarks": 1}
    text = _diff_text(plan)
    assert "将清空已填写的值：资金来源 2 条，备注 1 条" in text
    assert "删除该列" in text
    assert "blank cells clear filled values: funding source 2, remarks 1" in _diff_text(plan, "en")


@pytest.mark.parametrize("primary, standby, column", [
    ("IS02", "IS02", "F(备用系统)"), (None, None, None)])
def test_a_dr_pair_needs_two_different_systems(imported, tmp_path, primary, standby, column):
    rows = {"灾备关系": [["DR02", "自己备自己", "D002", "主备", primary, standby, None, None,
                          None, None, None]]}
    if primary is None:
        rows["灾备关系"][0][6:8] = ["CP01", "CP01"]
        column = "H(备用平台)"
    with pytest.raises(CensusRejected) as exc:
        CensusService(imported.engine).apply(read_file(filled_workbook(tmp_path / "s.xlsx",
                                                                       rows)))
    assert [(e.column, e.reason) for e in exc.value.errors] == [(column, "不能与主用系统相同" if primary else "不能与主用平台相同")]
