"""``python -m monitor census ...`` and ``audit verify`` as a data officer runs them."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ledger.census.builders import ROWS, filled_workbook

REPO = Path(__file__).resolve().parents[2]


def monitor(*args: str, data: Path, ledger_url: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "monitor", *args, "--data-dir", str(data)]
    if ledger_url:
        config = data.parent / "ledger.yaml"
        config.write_text(f"ledger:\n  url: {ledger_url}\n", encoding="utf-8")
        command += ["--config", str(config)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_fill_import_export_verify(tmp_path, ledger_url):
    data = tmp_path / "data"
    assert monitor("census", "template", str(tmp_path / "t.xlsx"), data=data,
                   ledger_url=ledger_url).returncode == 0
    book = filled_workbook(tmp_path / "c.xlsx")
    dry = monitor("census", "import", str(book), "--dry-run", data=data, ledger_url=ledger_url)
    assert dry.returncode == 0, dry.stderr
    assert "设备: 新增 2，变更 0，未变 0，删除 0" in dry.stdout
    assert "+ DEV02 (第4行) 视频存储服务器" in dry.stdout
    assert "试运行：未写入任何数据" in dry.stdout
    assert "已检查单元格" in dry.stderr                         # progress goes to stderr
    done = monitor("census", "import", str(book), data=data, ledger_url=ledger_url)
    assert done.returncode == 0 and "已导入，批次" in done.stdout
    out = tmp_path / "out.xlsx"
    assert monitor("census", "export", str(out), data=data, ledger_url=ledger_url).returncode == 0
    again = monitor("census", "import", str(out), "--dry-run", "--replace", data=data,
                    ledger_url=ledger_url)
    assert "新增 0，变更 0，未变 2，删除 0" in again.stdout
    police = monitor("census", "export", str(tmp_path / "p.csv"), "--category", "device",
                     "--department", "D002", data=data, ledger_url=ledger_url)
    assert police.returncode == 0
    text = (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    assert "DEV02" in text and "DEV01" not in text
    verify = monitor("audit", "verify", data=data, ledger_url=ledger_url)
    assert verify.returncode == 0 and "16 条记录" in verify.stdout, verify.stdout


def test_errors_and_bad_files_exit_non_zero_and_write_nothing(tmp_path):
    data = tmp_path / "data"
    rows = copy.deepcopy(ROWS)
    rows["设备"][0][7] = "10.0.0.300"
    book = filled_workbook(tmp_path / "bad.xlsx", rows)
    result = monitor("census", "import", str(book), data=data)
    assert result.returncode == 1
    assert "发现 1 个错误，未导入任何数据" in result.stderr
    assert "设备 第3行 H(管理地址) [10.0.0.300]: 不是 IP 地址" in result.stderr
    english = monitor("census", "import", str(book), "--lang", "en", data=data)
    assert "设备 row 3 H(management IP) [10.0.0.300]: not an IP address" in english.stderr
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 truncated")
    broken = monitor("census", "import", str(junk), data=data)
    assert broken.returncode == 1 and "导入失败" in broken.stderr and "文件已损坏" in broken.stderr
    assert "Traceback" not in broken.stderr
    verify = monitor("audit", "verify", data=data)
    assert "0 条记录" in verify.stdout, verify.stdout
    unknown = monitor("census", "export", str(tmp_path / "x.xlsx"), "--department", "NOPE",
                      data=data)
    assert unknown.returncode == 2 and "NOPE" in unknown.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


def test_the_encoding_a_csv_was_read_in_is_said(tmp_path):
    data = tmp_path / "data"
    path = tmp_path / "regions.region.csv"
    path.write_bytes("code,name,level\n440000,广东省,省级\n".encode("gbk"))
    result = monitor("census", "import", str(path), "--dry-run", data=data)
    assert result.returncode == 0, result.stderr
    assert "按 GB18030 编码读取" in result.stderr
    big5 = tmp_path / "big5.region.csv"
    big5.write_bytes("code,name,level\n710000,臺灣省資訊處機房,省級\n".encode("big5"))
    refused = monitor("census", "import", str(big5), "--dry-run", "--lang", "en", data=data)
    assert refused.returncode == 1 and "Big5" in refused.stderr


def test_template_writes_the_workbook_without_opening_the_ledger(tmp_path):
    """``census template`` creates no ledger database as a side effect."""
    data = tmp_path / "data"
    done = monitor("census", "template", str(tmp_path / "t.xlsx"), data=data)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.xlsx").stat().st_size > 0
    assert not (data / "ledger.sqlite").exists()
