"""What a newcomer reads: one language per run, every config error at once, no raw errno."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.ledger.census.builders import filled_workbook

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command, expected", [
    (["census", "import", "{tmp}/missing.xlsx"], "导入失败: {tmp}/missing.xlsx: 文件不存在"),
    (["census", "import", "{tmp}"], "导入失败: {tmp}: 是目录，不是文件"),
    (["census", "export", "{tmp}/no/such/dir/x.xlsx"],
     "导出失败: {tmp}/no/such/dir/x.xlsx: 所在目录不存在"),
    (["census", "template", "{tmp}/no/such/dir/t.xlsx"],
     "导出失败: {tmp}/no/such/dir/t.xlsx: 所在目录不存在"),
    (["census", "export", "{tmp}/x.xlsx", "--department", "D999"],
     "错误：没有编号为 D999 的部门"),
    (["census", "export", "{tmp}/x.xlsx", "--department", "D999", "--lang", "en"],
     "error: no department with code D999"),
    (["reconcile", "--department", "D999"], "错误：没有编号为 D999 的部门"),
    (["findings", "--department", "D999", "--lang", "en"],
     "error: no department with code D999"),
    (["check-config", "--config", "{tmp}/missing.yaml"],
     "{tmp}/missing.yaml: (file): 无法读取：文件不存在 (cannot read: no such file)"),
])
def test_file_errors_are_worded_not_errno(tmp_path, capsys, command, expected):
    code = main([part.format(tmp=tmp_path) for part in command]
                + ["--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code != 0 and expected.format(tmp=tmp_path) in err, err
    assert "Errno" not in err and "Traceback" not in err


def test_import_progress_speaks_the_language_of_the_run(tmp_path, capsys):
    book = filled_workbook(tmp_path / "c.xlsx")
    assert main(["census", "import", str(book), "--dry-run",
                 "--data-dir", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "已检查单元格" in err and "已检查引用与重复" in err and f"已读取 {book}" in err
    assert "checked" not in err and "read " not in err
    assert main(["census", "import", str(book), "--lang", "en",
                 "--data-dir", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "checked cells" in err and "written" in err and "已" not in err


def _check_config(config: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SNMP_")}
    return subprocess.run([sys.executable, "-m", "monitor", "check-config", "--config",
                           str(config), "--data-dir", str(config.parent / "data")], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={**environment, **(env or {})})


def test_the_example_configuration_passes_out_of_the_box(tmp_path):
    example = tmp_path / "example.yaml"
    example.write_text((REPO / "config" / "example.yaml").read_text(encoding="utf-8"),
                       encoding="utf-8")
    done = _check_config(example)
    assert done.returncode == 0, done.stderr
    assert "targets[1].options.community: environment variable SNMP_COMMUNITY is not set" \
        in done.stdout
    assert "targets[2].options.auth_key" in done.stdout and "警告" in done.stdout
    with_secrets = _check_config(example, {"SNMP_COMMUNITY": "public", "SNMP_AUTH_KEY":
                                           "authkey123", "SNMP_PRIV_KEY": "privkey123"})
    assert with_secrets.returncode == 0 and "SNMP_" not in with_secrets.stdout


def test_every_configuration_error_is_reported_at_once(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("""web:
  port: 99999
  colour: blue
store:
  retention: {raw: 10m}
targets:
  - name: a
    kind: host
    interval: often
    tags: {zone: [1]}
  - name: b
    kind: nosuch
  - name: a
    kind: host
""", encoding="utf-8")
    done = _check_config(config)
    assert done.returncode == 2
    for key in ("web.colour", "web.port", "store.retention.raw", "targets[0].interval",
                "targets[0].tags.zone", "targets[1].kind", "targets[2].name"):
        assert f"bad.yaml: {key}: " in done.stderr, (key, done.stderr)
    assert "7 个配置错误 (7 configuration errors)" in done.stderr
