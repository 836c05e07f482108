"""Credentials written inside URLs (``scheme://user:pass@host``) never leave the config."""

from __future__ import annotations

import concurrent.futures
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.base import Collector
from collectors.secrets import redact
from core.observation import Observation
from monitor.cli import RedactFilter
from monitor.config import TargetConfig
from monitor.poller import RunningTarget

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cretpw"


@pytest.mark.parametrize("text, expected", [
    ("http://scrape:s3cretpw@127.0.0.1:1/metrics", "http://***@127.0.0.1:1/metrics"),
    ("cannot scrape https://u:p%40x@h/m: refused", "cannot scrape https://***@h/m: refused"),
    ("postgresql+psycopg://ledger:pw@db:5432/x and influxdb://admin@h:8086/db",
     "postgresql+psycopg://***@db:5432/x and influxdb://***@h:8086/db"),
    ("no url here; user@example.org", "no url here; user@example.org"),
    ("http://host/path?next=a@b", "http://host/path?next=a@b"),
    ("http://host:8080/p?next=a@b", "http://host:8080/p?next=a@b"),
    # A password holding / ? @ : the userinfo runs to the last @ before the host.
    ("postgresql+psycopg://ledger:pa/ss?w0rd@host/x", "postgresql+psycopg://***@host/x"),
    ("postgresql+psycopg://ledger:p@ss:w0rd@host/x", "postgresql+psycopg://***@host/x"),
    # Credentials in query, fragment and path parameters.
    ("GET http://h/m?token=abc&x=1 failed", "GET http://h/m?token=***&x=1 failed"),
    ("http://h/m?a=1&api_key=K3y#frag", "http://h/m?a=1&api_key=***#frag"),
    ("https://h/p?Password=pw", "https://h/p?Password=***"),
    ("https://h/cb#access_token=tok&state=s", "https://h/cb#access_token=***&state=s"),
    ("http://h/app;jsessionid=ABC123?x=1", "http://h/app;jsessionid=***?x=1"),
    ("error=http://u:p@h/m?token=t", "error=http://***@h/m?token=***"),
])
def test_redact_userinfo(text, expected):
    assert redact(text) == expected


def _config(tmp_path: Path, target_url: str = "http://127.0.0.1:1/metrics") -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(f"""ledger:
  url: postgresql+psycopg://ledger:{SECRET}@127.0.0.1:1/x
store:
  backend: influxdb://admin@127.0.0.1:1/db
targets:
  - name: exp
    kind: prometheus
    options:
      url: {target_url}
""", encoding="utf-8")
    return config


def _monitor(config: Path, *command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "monitor", *command, "--config", str(config),
                           "--data-dir", str(config.parent / "d")], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_check_config_and_collect_never_print_the_password(tmp_path):
    config = _config(tmp_path)
    for command in (["check-config"], ["collect", "prometheus", "--target", "exp", "--once"]):
        out = _monitor(config, *command)
        assert "127.0.0.1:1" in out and SECRET not in out, out
    # A target URL with credentials is refused, and the refusal does not repeat them.
    out = _monitor(_config(tmp_path, f"http://scrape:{SECRET}@127.0.0.1:1/m"), "check-config")
    assert "targets[0].options.url: must not hold a user or password" in out
    assert SECRET not in out


class LeakyCollector(Collector):
    """Fails as a library would, with the URL it was talking to in the message."""

    kind = "leaky"

    def collect(self) -> Observation:
        raise ConnectionError(f"cannot reach https://svc:{SECRET}@10.0.0.9/api: refused")


def test_poll_errors_and_logs_never_hold_the_password(caplog):
    target = TargetConfig("leaky-1", "leaky", 15.0, 5.0, 0.0, {}, {})
    caplog.handler.addFilter(RedactFilter())   # as on every handler of the command line
    with concurrent.futures.ThreadPoolExecutor(1) as pool, caplog.at_level(logging.DEBUG):
        obs = RunningTarget(target, LeakyCollector("leaky-1"), pool).poll()
    assert "Traceback" in caplog.text and "ConnectionError: cannot reach https://***@" in \
        caplog.text                              # the debug traceback is redacted too
    assert obs.error == "ConnectionError: cannot reach https://***@10.0.0.9/api: refused"
    assert "Target leaky-1 (leaky) is down" in caplog.text and SECRET not in caplog.text


def test_the_log_handlers_of_the_command_line_redact_every_record(tmp_path):
    code = ("import logging, sys; from monitor.cli import install_logging; "
            "install_logging('INFO'); "
            f"logging.getLogger('x').warning('to %s', 'http://u:{SECRET}@h:1/'); "
            f"logging.getLogger('y').error('http://u:{SECRET}@h:2/')")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert "to http://***@h:1/" in done.stderr and "http://***@h:2/" in done.stderr
    assert SECRET not in done.stderr
