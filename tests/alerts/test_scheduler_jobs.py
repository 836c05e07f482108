"""The scheduler runs the alert engine's jobs: the process wiring of ``monitor run``."""

from __future__ import annotations

from monitor.scheduler import Monitor
from monitor.service import attach_alerts
from tests.alerts.helpers import settings_with


def test_scheduler_evaluates_and_notifies(ledger, tmp_path, embedded_store, chat):
    settings = settings_with(tmp_path, {
        "evaluation_interval": "5s", "dispatch_interval": "1s",
        "rules": [{"name": "spool_seen", "kind": "health", "metric": "spool_depth_samples",
                   "op": ">=", "value": 0, "summary": "缓冲待写入 {value} 条"}],
        "route": {"receiver": "ops", "group_wait": "0s"},
        "receivers": [{"name": "ops", "webhook": [{"url": chat.urls()["webhook"],
                                                   "bearer_token": "hook-token"}]}]},
        ledger.url, targets=[])
    monitor = Monitor(settings, ledger, embedded_store)
    attach_alerts(monitor, settings, ledger, embedded_store)
    monitor.start()
    try:
        chat.wait_for(1, timeout=30)
    finally:
        monitor.stop()
    [message] = chat.of("webhook")
    assert message["body"]["alerts"][0]["annotations"]["summary"] == "缓冲待写入 0 条"
    from dashboards import create_app
    from tests.dashboards.users import make_token, make_user
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store})
    make_user(app, "ops", {"operator"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, 'ops', {'operator'})}"
    text = client.get("/metrics").get_data(as_text=True)
    assert 'infraledger_alerts{state="firing"} 1.0' in text
    assert 'infraledger_alert_notifications{status="sent"} 1.0' in text
    assert "infraledger_alerts_rules 1.0" in text and "infraledger_alerts_evaluation_seconds" in text


def test_no_rules_no_jobs(ledger, tmp_path, embedded_store):
    settings = settings_with(tmp_path, {}, ledger.url, targets=[])
    monitor = Monitor(settings, ledger, embedded_store)
    attach_alerts(monitor, settings, ledger, embedded_store)
    assert monitor._extra_jobs == []
