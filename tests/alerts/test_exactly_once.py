"""Exactly once from the receiver's view, across a process killed mid-delivery.

A real ``python -m monitor alerts run`` evaluates, groups and delivers to the loopback
receivers; the receiver takes the first message and holds its answer; the process is
killed (SIGKILL) meanwhile. The next run settles what was in flight and delivers the rest:
the receiver has every notification exactly once, and a third run sends nothing.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ledger.db import Ledger
from ledger.status import set_runtime_stats

REPO = Path(__file__).resolve().parents[2]
METRICS = ("spool_depth_samples", "store_queue_depth", "ledger_pending_facts")


def write_config(path: Path, ledger_url: str, chat) -> Path:
    rules = [{"name": f"{metric}_high", "kind": "health", "metric": metric, "op": ">",
              "value": 10, "severity": "critical"} for metric in METRICS]
    config = {"ledger": {"url": ledger_url}, "targets": [], "alerts": {
        "rules": rules,
        "route": {"receiver": "ops", "group_by": ["alertname"], "group_wait": "0s"},
        "receivers": [{"name": "ops",
                       "webhook": [{"url": chat.urls()["webhook"], "bearer_token": "hook-token"}],
                       "dingtalk": [{"url": chat.urls()["dingtalk"],
                                     "secret": "env:TEST_DINGTALK_SECRET"}]}]}}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run(config: Path, data: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "alerts", "run", "--config",
                             str(config), "--data-dir", str(data), "--json"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def seen(chat) -> collections.Counter:
    """(platform, group) -> how many messages the receiver accepted."""
    out = collections.Counter()
    for message in chat.received:
        body = message["body"]
        name = body["groupLabels"]["alertname"] if message["platform"] == "webhook" else \
            body["markdown"]["title"].split()[-1]
        out[(message["platform"], name)] += 1
    return out


def test_kill_mid_delivery_sends_nothing_twice(ledger_url, tmp_path, chat):
    ledger = Ledger(ledger_url)
    with ledger.session() as session:
        set_runtime_stats(session, {m: 500.0 for m in METRICS}, dt.datetime.now(dt.timezone.utc))
        session.commit()
    ledger.close()
    config = write_config(tmp_path / "config.yaml", ledger_url, chat)
    env = {**os.environ, "TEST_DINGTALK_SECRET": chat.dingtalk_secret}
    chat.hold.clear()                       # the first message is taken, its answer held
    first = run(config, tmp_path / "data", env)
    chat.wait_for(1, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    chat.hold.set()
    assert len(chat.received) == 1
    second = run(config, tmp_path / "data", env)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    expected = {(p, f"{m}_high") for p in ("webhook", "dingtalk") for m in METRICS}
    assert seen(chat) == collections.Counter({key: 1 for key in expected}), seen(chat)
    third = run(config, tmp_path / "data", env)
    third.communicate(timeout=120)
    assert third.returncode == 0
    assert len(chat.received) == len(expected)
    ledger = Ledger(ledger_url)
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT status, confirmed, last_error FROM alert_outbox"
                                    ).all()
    ledger.close()
    assert sorted(r[0] for r in rows) == ["sent"] * 6
    unconfirmed = [r for r in rows if r[1] is not None and not r[1]]
    assert len(unconfirmed) == 1 and "not sent again" in unconfirmed[0][2]


def test_kill_while_the_mail_server_holds_its_reply(tmp_path, mail):
    """The same over SMTP: the server has the whole message when the sender dies."""
    import email
    import email.policy

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = Ledger(url)
    with ledger.session() as session:
        set_runtime_stats(session, {m: 500.0 for m in METRICS}, dt.datetime.now(dt.timezone.utc))
        session.commit()
    ledger.close()
    rules = [{"name": f"{metric}_high", "kind": "health", "metric": metric, "op": ">",
              "value": 10} for metric in METRICS]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"ledger": {"url": url}, "targets": [], "alerts": {
        "rules": rules, "route": {"receiver": "ops", "group_by": ["alertname"],
                                  "group_wait": "0s"},
        "receivers": [{"name": "ops", "email": [{
            "to": ["noc@example.gov.cn"], "from": "alerts@example.gov.cn",
            "smarthost": f"127.0.0.1:{mail.port}", "username": mail.user,
            "password": "env:TEST_SMTP_PASSWORD", "ca_file": str(mail.cert)}]}]}}),
        encoding="utf-8")
    env = {**os.environ, "TEST_SMTP_PASSWORD": mail.password}
    mail.hold.clear()
    first = run(config, tmp_path / "data", env)
    deadline = time.monotonic() + 60
    while not mail.messages:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    mail.hold.set()
    second = run(config, tmp_path / "data", env)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    subjects = collections.Counter(
        email.message_from_bytes(m["data"], policy=email.policy.default)["Subject"]
        for m in mail.messages)
    assert subjects == collections.Counter({f"[告警:1] {m}_high": 1 for m in METRICS})
