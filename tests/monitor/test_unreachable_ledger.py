"""A ledger database that does not answer at start: one clear line (file, key ``ledger.url``,
the URL without its password, the reason) and exit status 3 from every command that needs
it and from ``wsgi.py`` (alone and under gunicorn), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards import create_app
from monitor.config import load_settings
from monitor.config_ledger import LedgerUnreachable

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
    assert f"{config}: ledger.url: postgresql+psycopg://***@127.0.0.1:{closed_port}" \
        in result.stderr
    assert "S3cret-pw" not in result.stderr + result.stdout


@pytest.fixture
def web_site(tmp_path, closed_port):
    """The environment of the web tier alone with a ledger on a closed loopback port."""
    config = tmp_path / "site.yaml"
    config.write_text(f"ledger:\n  url: postgresql+psycopg://ledger:S3cret-pw@127.0.0.1:"
                      f"{closed_port}/ledger\ntargets: []\n")
    # HOME too: gunicorn puts its control socket there.
    env = dict(os.environ, INFRA_LEDGER_CONFIG=str(config), HOME=str(tmp_path),
               INFRA_LEDGER_DATA_DIR=str(tmp_path / "data"))
    return config, env


WEB_ENTRIES = {"wsgi": [sys.executable, "-c", "import wsgi"],
               "gunicorn": [str(Path(sys.executable).with_name("gunicorn")), "--bind",
                            "127.0.0.1:0", "--workers", "1", "wsgi:app"]}


@pytest.mark.parametrize("entry", WEB_ENTRIES)
def test_the_web_tier_alone_says_it_in_one_line(web_site, closed_port, entry):
    config, env = web_site
    result = subprocess.run(WEB_ENTRIES[entry], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "S3cret-pw" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "台账数据库无法连接" in line]
    assert line.startswith(f"台账数据库无法连接 (ledger database unreachable): {config}: "
                           f"ledger.url: postgresql+psycopg://***@127.0.0.1:{closed_port}/ledger: ")
    assert "Connection refused" in line
    if entry == "wsgi":
        assert result.stderr.strip() == line
    else:        # gunicorn stops instead of starting workers again and again
        assert "Worker failed to boot" in result.stderr


def test_the_app_factory_raises_the_one_line(web_site, tmp_path):
    config, _env = web_site
    settings = load_settings(str(config), data_dir=str(tmp_path / "data"), check_targets=False)
    with pytest.raises(LedgerUnreachable) as info:
        create_app({"SETTINGS": settings})
    assert str(info.value).startswith(f"台账数据库无法连接 (ledger database unreachable): "
                                      f"{config}: ledger.url: ")
    assert "S3cret-pw" not in str(info.value) and "\n" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
