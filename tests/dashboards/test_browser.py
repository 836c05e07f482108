"""Each role signs in with Debian's Chromium (Playwright) and sees its own pages only.

The app is served on a free loopback port by werkzeug's server in a thread; Chromium runs
headless from /usr/bin/chromium (never a downloaded browser). The operator's target page
draws its plotly charts under the Content-Security-Policy without a single violation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time

import pyotp
import pytest
from werkzeug.serving import make_server

from collectors.base import Sample
from dashboards import create_app
from ledger.db import Ledger
from ledger.status import PollRecord, record_poll
from tests.dashboards.users import FAST_HASHER, PASSWORD, make_user

SECRET = pyotp.random_base32()
UTC = dt.timezone.utc
#: person -> (roles, department, navigation labels they see, pages they must be refused)
PEOPLE = {
    "ops": ({"operator"}, None, ["运行总览", "采集目标", "分区采集器", "告警", "我的账户"],
            ["/census", "/admin/users", "/audit"]),
    "officer": ({"data_officer"}, "D002",
                ["总览", "算力大屏", "普查台账", "核查发现", "资源关系", "告警", "我的账户"],
                ["/targets", "/admin/users", "/audit", "/silences"]),
    "finance": ({"finance"}, None,
                ["总览", "算力大屏", "普查台账", "核查发现", "资源关系", "报表", "我的账户"],
                ["/targets", "/audit"]),
    "leader": ({"leader"}, "D001", ["总览", "算力大屏", "报表", "我的账户"], ["/census", "/targets"]),
    "sysadmin": ({"system_admin"}, None, ["运行总览", "采集目标", "分区采集器", "账户管理",
                                         "我的账户"],
                 ["/census", "/audit"]),
    "secadmin": ({"security_admin"}, None, ["账户管理", "我的账户"],
                 ["/census", "/targets", "/audit"]),
    "auditor": ({"audit_admin"}, None, ["审计日志", "我的账户"],
                ["/census", "/targets", "/admin/users", "/reports"]),
}


@pytest.fixture
def ledger(tmp_path):
    """SQLite only here: the scope matrix covers both backends, this covers the browser."""
    db = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield db
    db.close()


@pytest.fixture
def server(settings, ledger, embedded_store):
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "PASSWORD_HASHER": FAST_HASHER})
    coordinator = app.test_client()
    from tests.dashboards.users import make_token
    make_user(app, "coordinator", {"census_admin"})
    coordinator.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {make_token(app, 'coordinator', {'census_admin'})}"
    assert coordinator.post("/api/v1/census/import", json={
        "department": [{"code": "D001", "name": "数据局"}, {"code": "D002", "name": "公安局"}],
        "device": [{"code": f"DEV-{d}", "name": f"设备{d}", "department": d,
                    "device_type": "server", "status": "in_use"} for d in ("D001", "D002")],
    }).json["applied"]
    for name, (roles, department, _nav, _refused) in PEOPLE.items():
        admin = any(r.endswith("_admin") for r in roles)
        make_user(app, name, roles, department, totp=SECRET if admin else None)
    _poll(ledger, embedded_store)
    with serving(app) as base:
        yield base


@contextlib.contextmanager
def serving(app):
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(10)
        httpd.server_close()


def _poll(ledger, store):
    now = time.time()
    with ledger.session() as session:
        record_poll(session, PollRecord(name="local", kind="host", status="ok",
                                        duration_seconds=0.1, error=None, samples=20,
                                        at=dt.datetime.now(UTC), interval_seconds=15))
        session.commit()
    store.write([Sample("cpu", {"target": "local", "cpu": "cpu-total"},
                        {"usage_percent": float(i)}, int((now - 600 + i * 30) * 1e9))
                 for i in range(20)])


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    assert page.title().startswith("登录")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    if "/login/totp" in page.url:
        page.fill("#code", pyotp.TOTP(SECRET).now())
        page.click("#submit")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_each_role_sees_its_own_pages(chromium, server, name):
    roles, department, nav, refused = PEOPLE[name]
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: violations.append(str(error)))
    try:
        sign_in(page, server, name)
        assert page.locator("#nav a").all_inner_texts() == nav
        for path in refused:
            response = page.goto(f"{server}{path}")
            assert response.status == 403, path
        if "采集目标" in nav:
            page.goto(f"{server}/targets/local")
            page.wait_for_selector("div[data-figure] .main-svg", timeout=20000)
        if "普查台账" in nav:
            page.goto(f"{server}/census?category=device")
            codes = page.locator("#rows tbody tr td:first-child").all_inner_texts()
            assert codes == (["DEV-D002"] if department == "D002" else ["DEV-D001", "DEV-D002"])
        if name == "leader":
            page.goto(f"{server}/overview")
            assert page.locator("#scope").inner_text() == "D001"
            assert page.locator('li[data-category="device"] b').inner_text() == "1"
        page.goto(f"{server}/account?lang=en")
        assert page.locator("#user").is_visible() and "My account" in page.content()
        page.click("form.logout button")
        page.wait_for_load_state()
        assert page.url.startswith(f"{server}/login")
        assert page.goto(f"{server}/account").url.startswith(f"{server}/login")
        assert violations == []
    finally:
        context.close()
