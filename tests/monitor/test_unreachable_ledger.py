"""A ledger database that does not answer at start: one clear line and exit status 3 from
every command that needs it, never a traceback, and never the password of its URL."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", [["run", "--port", "0"], ["scheduler"], ["db", "upgrade"],
                                     ["poll"], ["census", "export", "/dev/null/x.xlsx"], ["user", "list"],
                                     ["ledger", "kpi"], ["audit", "verify"]])
def test_an_unreachable_ledger_is_one_clear_line(tmp_path, closed_port, command):
    config = tmp_path / "site.yaml"
    config.write_text(f"ledger:\n  url: postgresql+psycopg://ledger:S3cret-pw@127.0.0.1:"
                      f"{closed_port}/ledger\ntargets: []\n")
    result = subprocess.run([sys.executable, "-m", "monitor", *command, "--config", str(config),
                             "--data-dir", str(tmp_path / "data")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "台账数据库无法连接" in result.stderr and str(closed_port) in result.stderr
    assert "S3cret-pw" not in result.stderr + result.stdout
