"""The change log anchored outside the database: a chain key and signed checkpoints.

Each test plays someone with full rights on the ledger database (but not the key file):
they drop the append-only guards, then truncate, rewind, rewrite or edit census rows.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from ledger.census import audit
from ledger.census.anchor import AuditChain, AuditKeyError, digest
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.tables import audit_record
from monitor.cli import main
from tests.ledger.census.builders import filled_workbook


@pytest.fixture
def chain(tmp_path):
    return AuditChain("sha256", f"file:{tmp_path / 'keys' / 'audit.key'}",
                      tmp_path / "audit-checkpoints.jsonl", create_key=True)


@pytest.fixture
def imported(ledger, tmp_path, chain):
    CensusService(ledger.engine, algorithm=chain).apply(
        read_file(filled_workbook(tmp_path / "c.xlsx")))
    return ledger


def _drop_guards(conn) -> None:
    """What someone with full database rights could do first."""
    if conn.dialect.name == "postgresql":
        for trigger, table in (("audit_record_no_update", "audit_record"),
                               ("audit_head_no_delete", "audit_head"),
                               ("audit_record_no_truncate", "audit_record"),
                               ("audit_head_no_truncate", "audit_head")):
            conn.execute(text(f"DROP TRIGGER {trigger} ON {table}"))
    else:
        for name in ("audit_record_no_update", "audit_record_no_delete", "audit_head_no_delete"):
            conn.execute(text(f"DROP TRIGGER {name}"))


def _unanchored(chain: AuditChain) -> AuditChain:
    """The same key without its checkpoints: what the database alone can tell."""
    return AuditChain(chain.algorithm, chain.key_ref)


def _problems(ledger, chain) -> list[str]:
    with ledger.engine.connect() as conn:
        return audit.verify(conn, chain=chain).problems


def test_keyed_chain_verifies_against_its_checkpoints(imported, chain):
    with imported.engine.connect() as conn:
        result = audit.verify(conn, chain=chain)
        algorithms = set(conn.execute(select(audit_record.c.algorithm)).scalars())
    assert (result.records, result.problems, result.checkpoints) == (16, [], 1)
    assert algorithms == {"hmac-sha256"}
    assert (chain.checkpoints.parent / "keys" / "audit.key").stat().st_mode & 0o777 == 0o600
    line = json.loads(chain.checkpoints.read_text().splitlines()[-1])
    assert (line["seq"], line["hash"]) == (16, result.head_hash)


def test_truncate_is_refused_then_detected(imported, chain):
    if imported.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            with imported.engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_record"))
    with imported.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text("TRUNCATE audit_record" if conn.dialect.name == "postgresql"
                          else "DELETE FROM audit_record"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": audit.GENESIS})
    with imported.engine.connect() as conn:   # the key and the head alone: "fine"
        assert audit.verify(conn, chain=_unanchored(chain), census=False).problems == []
    problems = _problems(imported, chain)
    assert any("ends at record 0, the checkpoint" in p and "truncated or rewound" in p
               for p in problems), problems


def test_rewinding_the_head_is_detected(imported, chain):
    with imported.engine.begin() as conn:
        _drop_guards(conn)
        tenth = conn.execute(select(audit_record.c.hash).where(audit_record.c.seq == 10)).scalar()
        conn.execute(text("DELETE FROM audit_record WHERE seq > 10"))
        conn.execute(text("UPDATE audit_head SET seq = 10, hash = :h"), {"h": tenth})
    with imported.engine.connect() as conn:
        assert audit.verify(conn, chain=_unanchored(chain), census=False).problems == []
    assert any("ends at record 10" in p for p in _problems(imported, chain))


def _rewrite(conn, algorithm: str, key: bytes | None) -> None:
    """Edit record 5 and recompute every hash after it, as a forger would."""
    rows = [dict(r) for r in conn.execute(select(audit_record).order_by(audit_record.c.seq))
            .mappings()]
    prev = audit.GENESIS
    for row in rows:
        if row["seq"] == 5:
            row["changes"] = {**row["changes"], "name": [None, "forged"]}
        row.update(algorithm=algorithm, prev_hash=prev)
        row["hash"] = prev = digest(algorithm, audit._payload(row), key)
        conn.execute(audit_record.update().where(audit_record.c.seq == row["seq"])
                     .values(changes=row["changes"], algorithm=algorithm,
                             prev_hash=row["prev_hash"], hash=row["hash"]))
    conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


@pytest.mark.parametrize("algorithm, key", [("sha256", None), ("hmac-sha256", b"a guess")])
def test_a_wholly_rewritten_chain_is_detected(imported, chain, algorithm, key):
    with imported.engine.begin() as conn:
        _drop_guards(conn)
        _rewrite(conn, algorithm, key)
    if key is None:
        with imported.engine.connect() as conn:
            assert audit.verify(conn, census=False).problems == []   # self-consistent
    problems = _problems(imported, chain)
    assert any("record 16: differs from the checkpoint" in p for p in problems), problems
    if key:
        assert any("record 5: content does not match its hash" in p for p in problems)


@pytest.mark.parametrize("statement, expected", [
    ("UPDATE census_device SET name = 'x' WHERE code = 'DEV01'",
     "device DEV01: name is 'x' in the table, '核心交换机' in the change log"),
    ("UPDATE census_information_system SET total_investment = 1 WHERE code = 'IS02'",
     "information_system IS02: total_investment is '0.01' in the table"),
    ("DELETE FROM census_dr_pair WHERE code = 'DR01'",
     "dr_pair DR01: in the change log, missing from the table"),
    ("INSERT INTO census_region (code, name, level, path, created_at, updated_at) "
     "VALUES ('150000', '内蒙古', 'province', '/', '2026-01-01', '2026-01-01')",
     "region 150000: in the table, never created in the change log"),
])
def test_census_rows_edited_with_sql_are_detected(imported, chain, statement, expected):
    assert _problems(imported, chain) == []
    with imported.engine.begin() as conn:
        conn.execute(text(statement))
    problems = _problems(imported, chain)
    assert any(expected in p for p in problems), problems


def test_forged_checkpoint_lines_and_rollbacks(imported, chain):
    before = chain.checkpoints.read_text()
    with pytest.raises(RuntimeError):
        with imported.engine.begin() as conn:
            head = audit.lock_head(conn)
            audit.append(conn, head, audit.Actor("x", "b"),
                         [audit.Change("create", "note", "n", {})], chain)
            raise RuntimeError("rolled back")
    assert chain.checkpoints.read_text() == before    # nothing checkpointed on rollback
    with chain.checkpoints.open("a") as handle:
        handle.write(json.dumps({"seq": 99, "hash": "0" * 64, "time": "t", "mac": "0" * 64})
                     + "\n")
    problems = _problems(imported, chain)
    assert any("line 2: signature does not match" in p for p in problems), problems
    assert not any("ends at record" in p for p in problems)    # the forged line is ignored


def test_unkeyed_records_before_the_key_and_downgrades(ledger, tmp_path, chain):
    book = read_file(filled_workbook(tmp_path / "c.xlsx"))
    CensusService(ledger.engine).apply(book[:1])                    # before the key existed
    CensusService(ledger.engine, algorithm=chain).apply(book[1:2])
    with ledger.engine.connect() as conn:
        result = audit.verify(conn, chain=chain)
    assert result.problems == []
    assert result.notes == ["records 1–3 (3) are hashed without the chain key, written "
                            "before it was in use; records are keyed from 4 on"]
    with pytest.raises(AuditKeyError, match="no chain key: pass settings.audit_chain"):
        CensusService(ledger.engine).apply(book[2:3])                # a writer without key
    other = AuditChain("sha256", f"file:{tmp_path / 'other.key'}", create_key=True)
    with pytest.raises(AuditKeyError, match="must share ledger.audit_key"):
        CensusService(ledger.engine, algorithm=other).apply(book[2:3])
    assert _problems(ledger, chain) == []                            # nothing was written
    with ledger.engine.begin() as conn:                              # a forger's append
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
        row = {"seq": head.seq + 1, "time": dt.datetime.now(dt.timezone.utc), "actor": "x",
               "batch_id": "b", "request_id": None, "action": "create",
               "object_type": "note", "object_key": "n", "changes": {},
               "algorithm": "sha256", "prev_hash": head.hash}
        row["hash"] = digest("sha256", audit._payload(row))
        conn.execute(audit_record.insert(), row)
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"),
                     {"s": row["seq"], "h": row["hash"]})
    assert any("unkeyed after keyed record 4" in p for p in _problems(ledger, chain))


def test_cli_verify_with_the_default_key_and_checkpoints(tmp_path, capsys):
    data = tmp_path / "data"
    book = filled_workbook(tmp_path / "c.xlsx")
    assert main(["census", "import", str(book), "--data-dir", str(data)]) == 0
    assert (data / "audit.key").exists() and (data / "audit-checkpoints.jsonl").exists()
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert "审计链完整：16 条记录，与 1 个检查点一致" in capsys.readouterr().out
    from ledger.db import Ledger
    ledger = Ledger(f"sqlite:///{data / 'ledger.sqlite'}")
    with ledger.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text("DELETE FROM audit_record"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": audit.GENESIS})
    ledger.close()
    assert main(["audit", "verify", "--data-dir", str(data), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "audit chain BROKEN" in out and "truncated or rewound" in out
    assert "device DEV01: in the table, never created in the change log" in out
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert "审计链校验失败" in out and "（末尾记录被删除：清空或回拨）" in out
    assert "设备 DEV01：表中存在，但变更日志中从未创建（绕过应用写入）" in out
    assert "record" not in out and "checkpoint" not in out


def test_cli_refuses_a_key_that_did_not_write_the_chain(tmp_path, capsys):
    data = tmp_path / "data"
    book = filled_workbook(tmp_path / "c.xlsx")
    assert main(["census", "import", str(book), "--data-dir", str(data)]) == 0
    (data / "audit.key").write_text("a different key\n")
    rows = filled_workbook(tmp_path / "d.xlsx", {"地区": [["150000", "内蒙古", "省级", None]]})
    capsys.readouterr()
    assert main(["census", "import", str(rows), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "导入失败（审计链密钥）" in err and "must share ledger.audit_key" in err
    assert "Traceback" not in err


def test_a_service_with_another_key_refuses_to_start(tmp_path, capsys):
    data = tmp_path / "data"
    book = filled_workbook(tmp_path / "c.xlsx")
    assert main(["census", "import", str(book), "--data-dir", str(data)]) == 0
    config = tmp_path / "other.yaml"   # a second host: same ledger, its own data directory
    config.write_text(f"ledger:\n  url: sqlite:///{data / 'ledger.sqlite'}\n"
                      "targets: []\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["scheduler", "--config", str(config), "--data-dir", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "错误 (error): this process's chain key did not write record 16" in err
    from dashboards import create_app
    from monitor.config import load_settings
    with pytest.raises(AuditKeyError, match="must share ledger.audit_key"):
        create_app({"SETTINGS": load_settings(config, data_dir=str(tmp_path / "b"))})
