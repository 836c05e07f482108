"""``poll``, ``reconcile``, ``findings``, ``ledger …`` and ``check-config`` as people run them."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config import ConfigError, parse_settings
from tests.ledger.census.builders import filled_workbook

REPO = Path(__file__).resolve().parents[2]


def monitor(*args: str, config: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args, "--config", str(config),
                           "--data-dir", str(data)], cwd=REPO, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def site(tmp_path, ledger_url):
    """A configuration with this machine as a host target of department D001."""
    config = tmp_path / "site.yaml"
    config.write_text(f"""
ledger: {{url: "{ledger_url}"}}
analysis:
  reconcile: {{missing_after: 2d}}
  kpi_targets: {{ledger_accuracy: 90%}}
targets:
  - name: this-host
    kind: host
    tags: {{department: D001, datacenter: DC01, platform: CP404}}
""", encoding="utf-8")
    return config, tmp_path / "data"


def test_poll_reconcile_and_the_findings_lifecycle(site, tmp_path):
    config, data = site
    book = filled_workbook(tmp_path / "c.xlsx")
    assert monitor("census", "import", str(book), config=config, data=data).returncode == 0
    checked = monitor("check-config", config=config, data=data)
    assert checked.returncode == 0
    assert "targets[0].tags.platform: 'CP404' is no cloud_platform code" in checked.stdout
    assert "tags.department" not in checked.stdout and "tags.datacenter" not in checked.stdout

    polled = monitor("poll", config=config, data=data)
    assert polled.returncode == 0, polled.stderr
    assert polled.stdout.startswith("this-host: status=ok")
    assert monitor("poll", "--target", "nope", config=config, data=data).returncode == 2

    text = monitor("reconcile", config=config, data=data)
    assert text.returncode == 0, text.stderr
    assert "对账结果（范围：全部）" in text.stdout and "漏报 (1):" in text.stdout
    assert f"this-host/host" in text.stdout and "设备 DEV01 · 从未发现" in text.stdout
    assert "重算范围：全部（首次对账）" in text.stdout
    english = monitor("reconcile", "--lang", "en", "--department", "D002", config=config,
                      data=data)
    assert "Reconciliation (scope: D002)" in english.stdout and "device DEV02" in english.stdout
    # Nothing changed since: nothing recomputed, unless asked.
    assert "Recomputed: 0 observed and 0 declared rows reached by changes" in english.stdout
    whole = monitor("reconcile", "--whole", "--lang", "en", config=config, data=data)
    assert whole.returncode == 0 and "Recomputed: everything (asked for)" in whole.stdout
    report = json.loads(monitor("reconcile", "--json", config=config, data=data).stdout)
    assert report["recomputed"] == {"whole": False, "observed": 0, "declared": 0}
    assert report["summary"] == {"matched": 0, "undeclared": 1, "missing": 3, "suspect": 0,
                                 "mismatch": 0, "conflict": 0}
    undeclared = [p for p in report["pairs"] if p["outcome"] == "undeclared"][0]
    assert undeclared["observed"]["keys"]["hostname"] == socket.gethostname()
    assert set(undeclared) == {"outcome", "state", "declared", "observed", "matched_by",
                               "differences", "note", "first_seen", "last_seen"}

    listed = json.loads(monitor("findings", "--json", config=config, data=data).stdout)
    missing = [f for f in listed["findings"] if f["kind"] == "missing"][0]
    refused = monitor("findings", "resolve", str(missing["id"]), config=config, data=data)
    assert refused.returncode == 1 and "必须填写原因" in refused.stderr
    done = monitor("findings", "resolve", str(missing["id"]), "--reason", "设备已报废，台账待更新",
                   "--actor", "王五", config=config, data=data)
    assert done.returncode == 0 and "→ resolved" in done.stdout
    shown = monitor("findings", "--state", "resolved", "--all", config=config, data=data)
    assert f"#{missing['id']} [未发现资产 · 已解决]" in shown.stdout
    # Times in the analyses' zone (Asia/Shanghai by default) with the offset written out.
    seen = re.search(r"; (\S+ \S+) → (\S+ \S+)\)$", shown.stdout.splitlines()[0])
    first = dt.datetime.fromisoformat(missing["first_seen"]).astimezone(
        ZoneInfo("Asia/Shanghai"))
    assert seen and seen.group(1) == first.isoformat(sep=" ", timespec="seconds")
    assert seen.group(1).endswith("+08:00") and seen.group(2).endswith("+08:00")
    assert missing["first_seen"].endswith("+00:00")     # JSON stays ISO 8601 with its offset
    assert monitor("audit", "verify", config=config, data=data).returncode == 0


def test_ledger_commands_print_text_and_json(site, tmp_path):
    config, data = site
    assert monitor("census", "import", str(filled_workbook(tmp_path / "c.xlsx")),
                   config=config, data=data).returncode == 0
    assert monitor("poll", config=config, data=data).returncode == 0
    ran = monitor("ledger", "run", config=config, data=data)
    assert ran.returncode == 0 and "对账：" in ran.stdout
    compute = json.loads(monitor("ledger", "compute", "--by", "dc", "--json", config=config,
                                 data=data).stdout)
    assert compute["by"] == "dc" and [g["key"] for g in compute["groups"]] == ["DC01"]
    assert compute["totals"]["hosts"] == 1
    kpi = json.loads(monitor("ledger", "kpi", "--json", config=config, data=data).stdout)
    assert kpi["ledger_accuracy"]["target"] == 0.9
    migration = monitor("ledger", "migration", "--lang", "en", config=config, data=data)
    assert "Information systems:" in migration.stdout and "IS02" in migration.stdout
    assert "on the cloud 0/" in migration.stdout and "By department:" in migration.stdout
    assert "answering: declared devices" in migration.stdout
    idle = monitor("ledger", "idle", config=config, data=data)
    assert "闲置资源" in idle.stdout and "DEV02" in idle.stdout      # declared 闲置
    assert "device:DEV02 · 申报" in idle.stdout
    assert monitor("ledger", "summarize", config=config, data=data).returncode == 0
    assert monitor("ledger", "kpi", "--department", "NOPE", config=config,
                   data=data).returncode == 2


@pytest.mark.parametrize("analysis, key, words", [
    ({"idle": {"vm": "slow"}}, "analysis.idle.vm", "unknown preset"),
    ({"idle": {"vm": {"preset": "aws", "cpu_p95_max": -1}}}, "analysis.idle.vm.cpu_p95_max",
     "at least 0"),
    ({"idle": {"vm": {"preset": "aws", "cpu_p95_max": float("nan")}}},
     "analysis.idle.vm.cpu_p95_max", "finite"),
    ({"idle": {"vm": {"preset": "aws", "net_bytes_max": float("inf")}}},
     "analysis.idle.vm.net_bytes_max", "finite"),
    ({"idle": {"vm": {"window_days": 7, "days_required": 9, "cpu_p95_max": 3}}},
     "analysis.idle.vm.days_required", "at most window_days"),
    ({"reconcile": {"keys": {"device": ["serial_number", "colour"]}}},
     "analysis.reconcile.keys.device", "non-empty list"),
    ({"reconcile": {"missing_after": "10m"}}, "analysis.reconcile.missing_after",
     "at least 3600s"),
    ({"kpi_targets": {"ledger_accuracy": 1.5}}, "analysis.kpi_targets.ledger_accuracy",
     "fraction"),
    ({"daily_at": "25:00"}, "analysis.daily_at", "time of day"),
    ({"cpu_models": "nowhere.yaml"}, "analysis.cpu_models", "no such file"),
    ({"colour": 1}, "analysis.colour", "unknown key"),
])
def test_bad_analysis_settings_name_the_key(analysis, key, words, tmp_path):
    with pytest.raises(ConfigError) as exc:
        parse_settings({"analysis": analysis}, "site.yaml", data_dir=str(tmp_path))
    assert (exc.value.file, exc.value.key) == ("site.yaml", key)
    assert words in exc.value.reason


def test_analysis_settings_and_presets(tmp_path):
    settings = parse_settings({"analysis": {"idle": {"instance": "aws", "device": {
        "preset": "azure", "window_days": 14}}, "min_coverage": "60%",
        "reconcile": {"keys": {"device": ["serial_number", "hostname"]},
                      "placeholders": ["SN-TEMPLATE"]}}},
        "site.yaml", data_dir=str(tmp_path))
    analysis = settings.analysis
    assert analysis.idle_policy("instance").name == "aws"
    assert analysis.idle_policy("device").window_days == 14
    assert analysis.idle_policy("device").cpu_p95_max == 3.0
    assert analysis.idle_policy("host").name == "government"
    assert analysis.min_coverage == 0.6
    assert analysis.reconcile.keys["device"] == ("serial_number", "hostname")
    assert analysis.reconcile.placeholders == frozenset({"SN-TEMPLATE"})


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_ledger_action_prints_text_in_both_languages(site, tmp_path, language):
    """Each ``ledger`` action's text output renders (the kpi text once crashed in ``_t``)."""
    from monitor.ledger_cli import ACTIONS

    config, data = site
    assert monitor("census", "import", str(filled_workbook(tmp_path / "c.xlsx")),
                   config=config, data=data).returncode == 0
    for action in ACTIONS:
        done = monitor("ledger", action, "--lang", language, config=config, data=data)
        assert done.returncode == 0, (action, done.stderr)
        assert done.stdout.strip() and "Traceback" not in done.stderr, action
    kpi = monitor("ledger", "kpi", "--lang", language, config=config, data=data).stdout
    name, target = ("台账准确率", "（目标 90.0%）") if language == "zh" else \
        ("ledger accuracy", "(target 90.0%)")
    assert name in kpi and target in kpi
