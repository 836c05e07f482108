"""``python -m monitor alerts list|silence|test-notify|run`` and ``check-config``."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ledger.db import Ledger
from ledger.status import set_runtime_stats
from monitor.cli import main


def write(tmp_path, chat, **alerts) -> str:
    config = {"targets": [], "alerts": {
        "rules": [{"name": "spool_backlog", "kind": "health", "metric": "spool_depth_samples",
                   "op": ">", "value": 10, "severity": "critical"}],
        "route": {"receiver": "ops", "group_wait": "0s"},
        "receivers": [{"name": "ops",
                       "webhook": [{"url": chat.urls()["webhook"],
                                    "bearer_token": "env:TEST_HOOK_TOKEN"}],
                       "feishu": [{"url": chat.urls()["feishu"],
                                   "secret": "env:TEST_FEISHU_SECRET"}]}], **alerts}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path)


def backlogged(tmp_path, chat, monkeypatch) -> str:
    """The configuration of a site whose spool backlog fires the monitor-health rule."""
    monkeypatch.setenv("TEST_HOOK_TOKEN", "hook-token")
    monkeypatch.setenv("TEST_FEISHU_SECRET", chat.feishu_secret)
    config = write(tmp_path, chat)
    ledger = Ledger(f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite'}")
    with ledger.session() as session:
        set_runtime_stats(session, {"spool_depth_samples": 99.0}, dt.datetime.now(dt.timezone.utc))
        session.commit()
    ledger.close()
    return config


def cli(capsys, config, tmp_path, *args):
    code = main([*args, "--config", config, "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_silence_and_test_notify(tmp_path, chat, capsys, monkeypatch):
    config = backlogged(tmp_path, chat, monkeypatch)
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "run")
    assert code == 0 and "新告警 1" in out
    assert {m["platform"] for m in chat.received} == {"webhook", "feishu"}
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "list")
    assert code == 0 and "告警中" in out and "spool_depth_samples = 99" in out
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "list", "--lang", "en")
    assert "firing" in out and "Monitor health" in out
    code, out, err = cli(capsys, config, tmp_path, "alerts", "silence", "add", "--matcher",
                         'alertname="spool_backlog"', "--duration", "1h", "--comment",
                         "disk replaced", "--author", "li.si")
    assert code == 0 and "已创建静默 #1" in out, err
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "run")
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "list", "--state", "silenced")
    assert "已静默 (silence:1)" in out
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "list")
    assert "#1 active alertname=\"spool_backlog\"" in out and "li.si: disk replaced" in out
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "expire", "1")
    assert code == 0 and "已结束" in out
    code, _, err = cli(capsys, config, tmp_path, "alerts", "silence", "add", "--comment", "x")
    assert code == 2 and "matchers" in err
    before = len(chat.received)
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "test-notify", "ops")
    assert code == 0 and out.count("已发送") == 2
    assert len(chat.received) == before + 2
    assert "测试通知" in chat.of("feishu")[-1]["body"]["card"]["header"]["title"]["content"]
    monkeypatch.setenv("TEST_FEISHU_SECRET", "wrong-secret")
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "test-notify", "ops")
    assert code == 1 and "发送失败: feishu error 19021" in out
    assert "wrong-secret" not in out and chat.feishu_secret not in out


def test_times_are_printed_in_the_configured_zone_with_their_offset(tmp_path, chat, capsys,
                                                                    monkeypatch):
    """``alerts list`` and ``alerts silence add|list`` print local times with the UTC offset
    (web.timezone, Asia/Shanghai by default); ``--json`` keeps ISO 8601 with the offset."""
    config = backlogged(tmp_path, chat, monkeypatch)
    assert cli(capsys, config, tmp_path, "alerts", "run")[0] == 0
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "list", "--json")
    fired = json.loads(out)["items"][0]["fired_at"]
    assert fired.endswith("+00:00")
    local = dt.datetime.fromisoformat(fired).astimezone(ZoneInfo("Asia/Shanghai"))
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "list")
    assert out.rstrip().endswith(f"spool_backlog {local.isoformat(sep=' ', timespec='seconds')}")
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "add", "--matcher",
                       'alertname="spool_backlog"', "--until", "2099-01-01T00:00:00+00:00",
                       "--comment", "disk replaced", "--author", "li.si")
    assert code == 0 and out.strip() == "已创建静默 #1，至 2099-01-01 08:00:00+08:00"
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "list")
    local_time = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00"
    assert re.search(f" {local_time} → 2099-01-01 08:00:00\\+08:00 li.si", out), out
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "list", "--json")
    assert json.loads(out)[0]["ends_at"] == "2099-01-01T00:00:00+00:00"
    data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    data["web"] = {"timezone": "Europe/Berlin"}
    Path(config).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out, _ = cli(capsys, config, tmp_path, "alerts", "silence", "list")
    assert "→ 2099-01-01 01:00:00+01:00 li.si" in out


def test_check_config_names_the_key_and_never_prints_secrets(tmp_path, chat, capsys,
                                                             monkeypatch):
    monkeypatch.setenv("TEST_FEISHU_SECRET", "very-secret-value")
    config = write(tmp_path, chat)
    code, out, _ = cli(capsys, config, tmp_path, "check-config")
    assert code == 0 and "alert rule spool_backlog: health" in out
    assert "alert receiver ops: webhook, feishu" in out
    assert "TEST_HOOK_TOKEN is not set" in out
    assert "very-secret-value" not in out and chat.urls()["feishu"] not in out
    bad = write(tmp_path, chat, inhibit_rules=[{"source_matchers": ["oops"],
                                                "target_matchers": ['a="b"']}])
    code, _, err = cli(capsys, bad, tmp_path, "check-config")
    assert code == 2
    assert f"{bad}: alerts.inhibit_rules[0].source_matchers: expected name" in err
