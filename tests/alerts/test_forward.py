"""Forwarding to a real Alertmanager (v2 API): it takes the alerts, notifies through its own
webhook (checked by the same receiver as ours) and resolves them when we do."""

from __future__ import annotations

import datetime as dt
import time

from alerts.config import parse_alerts
from alerts.engine import AlertEngine
from ledger.status import set_runtime_stats
from tests.alerts.helpers import settings_with
from tests.alerts.receivers import AlertmanagerServer


def wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def spool(ledger, depth: float) -> None:
    with ledger.session() as session:
        set_runtime_stats(session, {"spool_depth_samples": depth}, dt.datetime.now(dt.timezone.utc))
        session.commit()


def test_forward_to_alertmanager(ledger, tmp_path, chat, embedded_store):
    manager = AlertmanagerServer(tmp_path / "am", chat.urls()["webhook"], "hook-token").start()
    try:
        settings = settings_with(tmp_path, {
            "rules": [{"name": "spool_backlog", "kind": "health", "metric":
                       "spool_depth_samples", "op": ">", "value": 10, "severity": "critical"}],
            "forward": {"url": manager.url}}, ledger.url, targets=[])
        engine = AlertEngine(settings, parse_alerts(settings), ledger.engine, embedded_store)
        spool(ledger, 5000)
        engine.evaluate()
        assert engine.dispatch() == 1
        [held] = manager.alerts()
        assert held["labels"]["alertname"] == "spool_backlog"
        assert held["annotations"]["summary"] == "系统自身健康：spool_depth_samples = 5000"
        wait(lambda: chat.of("webhook"))
        assert chat.of("webhook")[0]["body"]["status"] == "firing"
        assert engine.dispatch() == 0            # unchanged: not re-posted before the delay
        spool(ledger, 0)
        engine.evaluate()
        assert engine.dispatch() == 1
        wait(lambda: manager.alerts() == [])
        wait(lambda: any(m["body"]["status"] == "resolved" for m in chat.of("webhook")))
    finally:
        manager.stop()
