"""End to end: ``python -m monitor run`` as a real process, and ``collect --once``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.db import Ledger
from ledger.observed import observed_for_source
from ledger.status import target_states
from monitor.store.embedded import EmbeddedStore

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                timeout=10) as response:
        return response.read().decode()


def operator_token(data_dir: Path) -> str:
    """An operator account and its API token, made with the command line."""
    common = ["--data-dir", str(data_dir)]
    created = subprocess.run([sys.executable, "-m", "monitor", "user", "create", "e2e-ops",
                              "--role", "operator", "--password-stdin", *common], cwd=REPO,
                             input="Operator-Pass-2026\n", capture_output=True, text=True,
                             timeout=60)
    assert created.returncode == 0, created.stderr
    token = subprocess.run([sys.executable, "-m", "monitor", "user", "token", "create",
                            "e2e-ops", "--role", "operator", *common], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert token.returncode == 0, token.stderr
    return token.stdout.strip()


def polls_done(base: str) -> float:
    for family in text_string_to_metric_families(get(base + "/metrics")):
        for sample in family.samples:
            if sample.name == "infraledger_polls_total":
                return sample.value
    return 0


@pytest.fixture
def running_monitor(tmp_path):
    config = tmp_path / "infra-ledger.yaml"
    config.write_text("scheduler: {jitter: 0s}\n"
                      "targets:\n  - {name: e2e-host, kind: host, interval: 1s,"
                      " tags: {department: 大数据局}}\n", encoding="utf-8")
    port = free_port()
    data_dir = tmp_path / "data"
    log = open(tmp_path / "monitor.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config),
                             "--data-dir", str(data_dir), "--port", str(port)],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        yield proc, base, data_dir
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        log.seek(0)
        print(log.read())
        log.close()


def test_run_polls_stores_and_serves(running_monitor):
    proc, base, data_dir = running_monitor
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "monitor exited early"
        try:
            if polls_done(base) >= 2:
                break
        except OSError:
            pass
        time.sleep(0.3)
    else:
        pytest.fail("two poll cycles did not complete within 60 s")

    token = operator_token(data_dir)
    page = get(base + "/targets/e2e-host", token)
    assert "plotly-graph-div" in page and "CPU使用率" in page and "e2e-host" in page
    assert "e2e-host" in get(base + "/targets", token)
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(base + "/targets/e2e-host?lang=en", token[:-2] + "xx")
    assert refused.value.code == 401
    metrics = get(base + "/metrics")
    assert 'infraledger_target_up{kind="host",target="e2e-host"} 1.0' in metrics
    assert json.loads(get(base + "/healthz"))["status"] == "ok"

    # Stored samples and facts, read back through the product's own store and ledger.
    deadline = time.monotonic() + 15
    store = EmbeddedStore(data_dir / "tsdb")
    while time.monotonic() < deadline:
        now = time.time()
        mem = store.query("mem", "used_percent", now - 600, now + 5,
                          tags={"target": "e2e-host", "department": "大数据局"})
        if mem and len(mem[0].points) >= 2:
            break
        time.sleep(0.3)
    assert mem and len(mem[0].points) >= 2
    store.close()
    ledger = Ledger(f"sqlite:///{data_dir / 'ledger.sqlite'}")
    with ledger.session() as session:
        (asset,) = observed_for_source(session, "e2e-host")
    ledger.close()
    assert asset.kind == "host" and asset.hostname == socket.gethostname()
    assert asset.department == "大数据局" and asset.last_seen >= asset.first_seen

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_a_second_run_on_the_same_data_dir_is_refused(running_monitor, tmp_path):
    proc, base, data_dir = running_monitor
    deadline = time.monotonic() + 30
    while not (data_dir / "scheduler.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    second = subprocess.run([sys.executable, "-m", "monitor", "run", "--data-dir", str(data_dir),
                             "--port", str(free_port())], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1 and "another Infra Ledger scheduler" in second.stderr


def test_collect_once_prints_json_lines():
    result = subprocess.run([sys.executable, "-m", "monitor", "collect", "host", "--once"],
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "INFRA_LEDGER_DATA_DIR": "/nonexistent"})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    samples = [x for x in lines if x["type"] == "sample"]
    facts = [x for x in lines if x["type"] == "fact"]
    assert {s["measurement"] for s in samples} >= {"cpu", "mem", "disk", "net", "system"}
    assert all(set(s) == {"type", "measurement", "tags", "fields", "time"} for s in samples)
    assert all(isinstance(s["time"], int) and s["time"] > 1.6e18 for s in samples)
    assert len(facts) == 1 and facts[0]["kind"] == "host" and facts[0]["keys"]["hostname"]
    assert "status=ok" in result.stderr


def test_scheduler_alone_and_the_wsgi_app_share_the_data_dir(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "scheduler", "--data-dir",
                             str(data_dir)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        ledger_file = data_dir / "ledger.sqlite"
        deadline = time.monotonic() + 60
        polled = False
        while not polled and time.monotonic() < deadline:
            time.sleep(0.5)
            if ledger_file.exists():
                ledger = Ledger(f"sqlite:///{ledger_file}")
                with ledger.session() as session:
                    polled = any(s.polls_total for s in target_states(session))
                ledger.close()
        assert polled, "the scheduler did not poll within 60 s"
        # The web tier as gunicorn would load it: wsgi.py reading the environment.
        monkeypatch.setenv("INFRA_LEDGER_DATA_DIR", str(data_dir))
        from dashboards import create_app
        client = create_app().test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {operator_token(data_dir)}"
        page = client.get("/targets").get_data(as_text=True)
        assert socket.gethostname() in page and "badge-ok" in page
        assert client.get("/healthz").get_json()["scheduler"] == "running"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
        proc.stderr.close()
