"""The operator's alert pages in Debian's Chromium: list, alert page with the samples
chart (no CSP violation), silencing from the alert page."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from alerts.config import parse_alerts
from alerts.engine import AlertEngine
from collectors import get_collector
from dashboards import create_app
from ledger.db import Ledger
from tests.alerts.helpers import settings_with
from tests.dashboards.test_browser import sign_in
from tests.dashboards.users import FAST_HASHER, make_user


@pytest.fixture
def world(tmp_path, embedded_store):
    import collectors.all  # noqa: F401
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    obs = get_collector("host")("srv-1", {}, 10).collect()
    for sample in obs.samples:
        sample.tags.update(target="srv-1", datacenter="DC01")
    embedded_store.write(obs.samples)
    settings = settings_with(tmp_path, {"rules": [{
        "name": "mem_used", "kind": "threshold", "measurement": "mem", "field": "used_percent",
        "agg": "last", "window": "10m", "op": ">", "value": 0, "severity": "critical",
        "summary": {"zh": "{target} 内存使用率 {value}%", "en": "{target} memory at {value}%"}}],
        "route": {"receiver": "ops", "group_wait": "0s"}, "receivers": [{"name": "ops"}]},
        ledger.url)
    engine = AlertEngine(settings, parse_alerts(settings), ledger.engine, embedded_store)
    engine.evaluate()
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "PASSWORD_HASHER": FAST_HASHER})
    make_user(app, "ops", {"operator"})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", engine
    httpd.shutdown()
    thread.join(10)
    httpd.server_close()
    ledger.close()


def test_operator_lists_opens_and_silences_an_alert(chromium, world, tmp_path):
    base, engine = world
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: violations.append(str(error)))
    try:
        sign_in(page, base, "ops")
        page.click("#nav a:has-text('告警')")
        rows = page.locator("#alerts tbody tr")
        assert rows.count() == 1 and "srv-1 内存使用率" in rows.inner_text()
        page.screenshot(path=str(tmp_path / "alerts.png"), full_page=True)
        page.click("#alerts tbody a")
        page.wait_for_selector("div[data-figure] .main-svg", timeout=20000)
        assert "告警中" in page.locator("#alert-facts").inner_text()
        page.screenshot(path=str(tmp_path / "alert.png"), full_page=True)
        page.click("text=静默此告警")
        assert 'alertname="mem_used"' in page.locator("textarea[name=matchers]").input_value()
        page.fill("input[name=comment]", "扩容内存")
        page.click("#silence-form button")
        page.wait_for_load_state()
        assert "扩容内存" in page.locator("#silences").inner_text()
        page.screenshot(path=str(tmp_path / "silences.png"), full_page=True)
        engine.dispatch()
        page.goto(f"{base}/alerts?state=silenced")
        assert "已静默" in page.locator("#alerts").inner_text()
        assert violations == []
    finally:
        context.close()
    for name in ("alerts", "alert", "silences"):   # kept for a look by hand
        shutil.copy(tmp_path / f"{name}.png", f"/tmp/infra-ledger-{name}.png")
