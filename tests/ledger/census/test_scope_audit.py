"""Department scope on every read and write, and the tamper-evident change log."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.census.audit import verify
from ledger.census.fields import CATEGORIES
from ledger.census.files import read_file
from ledger.census.planner import InputSheet
from ledger.census.service import CensusRejected, CensusService, NotFound
from monitor.cli import main
from tests.ledger.census.builders import filled_workbook


@pytest.fixture
def imported(ledger, tmp_path):
    CensusService(ledger.engine).apply(read_file(filled_workbook(tmp_path / "c.xlsx")))
    return ledger


def device_row(code, department, serial):
    return InputSheet("device", "设备", ["code", "name", "department", "device_type", "status",
                                         "vendor", "serial_number"],
                      list("ABCDEFG"), [(3, [code, "交换机", department, "交换机", "在用",
                                             "H3C", serial])])


def test_a_department_sees_and_changes_only_its_subtree(imported):
    police = CensusService(imported.engine, department="D002")
    assert [d["code"] for d in police.list("department")[0]] == ["D002", "D00201"]
    assert [d["code"] for d in police.list("device")[0]] == ["DEV02"]   # owned by D00201
    assert police.list("region")[1] == 3                              # regions are shared
    with pytest.raises(NotFound):
        police.get("device", "DEV01")
    police.apply([device_row("DEV10", "D00201", "S-10")])
    with pytest.raises(CensusRejected) as exc:
        police.apply([device_row("DEV11", "D001", "S-11")])
    assert [e.reason for e in exc.value.errors] == ["不在本部门范围内"]
    with pytest.raises(CensusRejected) as exc:
        police.apply([device_row("DEV01", "D002", "S-12")])
    assert [e.reason for e in exc.value.errors] == ["编号已被其他部门使用"]
    with pytest.raises(CensusRejected) as exc:   # another department's serial: no details
        police.apply([device_row("DEV12", "D002", "S-10"), ])
    assert "DEV10" in exc.value.errors[0].reason   # its own row: named
    bureau = CensusService(imported.engine, department="D001")
    with pytest.raises(CensusRejected) as exc:
        bureau.apply([device_row("DEV13", "D001", "S-10")])
    assert exc.value.errors[0].reason == "与台账中其他部门的记录重复（序列号）"


def test_scoped_replace_never_touches_other_departments(imported, tmp_path):
    police = CensusService(imported.engine, department="D002")
    keys = [f.key for f in CATEGORIES["cloud_resource"].fields]
    result = police.apply([InputSheet("cloud_resource", "云资源", keys, keys, [])],
                          replace=True, dry_run=True)
    assert result.plan.diffs["cloud_resource"].removed == []  # VM01 belongs to D001
    new_unit = InputSheet("department", "部门", ["code", "name", "parent"], list("ABC"),
                          [(3, ["D00202", "南山分局", "D002"])])
    police.apply([new_unit])
    assert [d["code"] for d in police.list("department")[0]] == ["D002", "D00201", "D00202"]
    with pytest.raises(CensusRejected) as exc:
        police.apply([InputSheet("department", "部门", ["code", "name", "parent"], list("ABC"),
                                 [(3, ["D002", "深圳市公安局", "D001"])])])
    assert exc.value.errors[0].reason == "不在本部门范围内"
    with pytest.raises(CensusRejected) as exc:   # moving a sub-unit out of the subtree
        police.apply([InputSheet("department", "部门", ["code", "name", "parent"], list("ABC"),
                                 [(3, ["D00201", "福田分局", "D001"])])])
    assert exc.value.errors[0].reason == "不在本部门范围内"


def test_delete_is_refused_while_referenced(imported):
    service = CensusService(imported.engine)
    with pytest.raises(CensusRejected) as exc:
        service.delete("cloud_platform", "CP01")
    assert {e.reason for e in exc.value.errors} >= {"仍被 云资源 VM01 引用，不能删除"}
    service.delete("cloud_resource", "VM01")
    with pytest.raises(NotFound):
        service.get("cloud_resource", "VM01")


def _drop_guards(conn) -> None:
    """What someone with full database rights could do to hide a change."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER audit_record_no_update ON audit_record"))
        conn.execute(text("DROP TRIGGER audit_head_no_delete ON audit_head"))
    else:
        for name in ("audit_record_no_update", "audit_record_no_delete", "audit_head_no_delete"):
            conn.execute(text(f"DROP TRIGGER {name}"))


def test_audit_log_is_append_only_and_verifies(imported):
    with imported.engine.connect() as conn:
        result = verify(conn)
        assert (result.records, result.problems) == (16, [])
    with pytest.raises(Exception, match="append-only"):
        with imported.engine.begin() as conn:
            conn.execute(text("UPDATE audit_record SET actor = 'x' WHERE seq = 3"))
    with pytest.raises(Exception, match="append-only"):
        with imported.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_record WHERE seq = 16"))


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE audit_record SET changes = '{\"name\": [null, \"x\"]}' WHERE seq = 5",
     "record 5: content does not match its hash (edited)"),
    ("DELETE FROM audit_record WHERE seq = 7", "records 7..7 are missing"),
    ("DELETE FROM audit_record WHERE seq = 16", "the head says 16 records"),
])
def test_audit_verify_detects_edits_and_deletions(imported, tamper, expected):
    with imported.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text(tamper))
    with imported.engine.connect() as conn:
        problems = verify(conn).problems
    assert any(expected in p for p in problems), problems


def test_sm3_chain_and_cli(tmp_path, capsys):
    data = tmp_path / "data"
    config = tmp_path / "c.yaml"
    config.write_text("ledger:\n  audit_hash: sm3\n", encoding="utf-8")
    book = filled_workbook(tmp_path / "c.xlsx")
    assert main(["census", "import", str(book), "--data-dir", str(data),
                 "--config", str(config)]) == 0
    assert main(["audit", "verify", "--data-dir", str(data), "--lang", "en"]) == 0
    assert "16 records" in capsys.readouterr().out
    from ledger.db import Ledger
    ledger = Ledger(f"sqlite:///{data / 'ledger.sqlite'}")
    with ledger.engine.begin() as conn:
        assert conn.execute(text("SELECT DISTINCT algorithm FROM audit_record")).all() == \
            [("hmac-sm3",)]
        _drop_guards(conn)
        conn.execute(text("UPDATE audit_record SET actor = 'someone else' WHERE seq = 2"))
    ledger.close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "第 2 条记录内容与其哈希不符（被修改）" in capsys.readouterr().out
