"""No route answers without identity; CSRF, Host, headers, body limits, /metrics access."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from dashboards import create_app
from dashboards.access import rule_of
from monitor.config import parse_settings
from tests.dashboards.users import csrf_of, login, make_token, make_user
from tests.ledger.census.builders import filled_workbook

#: Every endpoint that answers without a session or token. Adding one needs a reason.
ALLOW_LIST = {"static", "operator.favicon", "auth.login", "auth.totp", "auth.enroll",
              "auth.password", "auth.logout", "auth.oidc_start", "auth.oidc_callback"}
#: Open without identity only where configured (loopback by default).
CONFIGURED = {"metrics.metrics", "metrics.healthz"}
SAMPLE_ARGS = {"category": "device", "code": "DEV01", "name": "local", "username": "tester",
               "token_id": 1, "fmt": "xlsx", "filename": "style.css", "finding_id": 1,
               "asset_id": 1,
               "alert_id": 1, "silence_id": 1,
               "report": "utilization"}
REMOTE = {"REMOTE_ADDR": "203.0.113.5"}
TEMPLATES = Path(__file__).resolve().parents[2] / "dashboards" / "templates"


def every_route(app):
    for rule in app.url_map.iter_rules():
        url = rule.build({a: SAMPLE_ARGS[a] for a in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_needs_an_identity_but_the_allow_list(app, anonymous):
    public = set()
    for endpoint, method, url in every_route(app):
        response = anonymous.open(url, method=method, environ_base=REMOTE)
        response.close()
        refused = response.status_code == 401 or (
            response.status_code == 302 and "/login" in response.location)
        if not refused:
            public.add(endpoint)
        assert response.status_code < 200 or response.status_code >= 300 or \
            endpoint in ALLOW_LIST, (endpoint, method, response.status_code)
    assert public <= ALLOW_LIST, public - ALLOW_LIST
    declared = {e for e in app.view_functions if rule_of(app, e).public}
    assert declared == ALLOW_LIST
    assert {e for e in app.view_functions if rule_of(app, e).open_setting} == CONFIGURED


def test_favicon_ico_is_the_svg_icon_for_anyone(app, anonymous):
    """Browsers ask for /favicon.ico on any page (a report opened in a tab too): the icon the
    pages link, without identity and cacheable like static files, never a 404."""
    response = anonymous.get("/favicon.ico", environ_base=REMOTE)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data == (Path(app.static_folder) / "favicon.svg").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_metrics_and_healthz_open_on_loopback_token_elsewhere(app, anonymous, client):
    assert anonymous.get("/metrics").status_code == 200
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/metrics", environ_base=REMOTE).status_code == 401
    assert client.get("/metrics", environ_base=REMOTE).status_code == 200
    make_user(app, "dept", {"data_officer"}, None if False else _department(client))
    officer = make_token(app, "dept", {"data_officer"}, "D001")
    assert anonymous.get("/metrics", environ_base=REMOTE, headers={
        "Authorization": f"Bearer {officer}"}).status_code == 403
    health = anonymous.get("/healthz").get_json()
    assert set(health) == {"status", "ledger", "scheduler", "scheduler_heartbeat_age_seconds",
                           "spool"}


def _department(client) -> str:
    client.post("/api/v1/census/import", json={"department": [
        {"code": "D001", "name": "大数据局"}]})
    return "D001"


def test_metrics_token_only_when_configured(settings, ledger, embedded_store, tmp_path):
    strict = parse_settings({"security": {"metrics": "token", "healthz": "open"}}, "(test)",
                            data_dir=str(tmp_path / "d"))
    app = create_app({"SETTINGS": strict, "LEDGER": ledger, "STORE": embedded_store})
    anonymous = app.test_client()
    assert anonymous.get("/metrics").status_code == 401
    assert anonymous.get("/healthz", environ_base=REMOTE).status_code == 200


def test_host_header_is_checked(client, anonymous):
    assert anonymous.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/v1/census/device",
                      headers={"Host": "rebind.evil.example:8080"}).status_code == 400
    assert client.get("/api/v1/census/device", headers={"Host": "127.0.0.1:8080"}) \
        .status_code == 200
    assert anonymous.get("/login", headers={"Host": "[::1]:8080"}).status_code == 200


def test_security_headers_and_no_inline_script(anonymous, client):
    response = anonymous.get("/login")
    csp = response.headers["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script == "'self'" and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_body_size_limits_per_route(client, anonymous):
    assert anonymous.post("/login", data={"username": "x" * 20000}).status_code == 413
    big = {"code": "X", "name": "n" * (2 * 1024 * 1024)}
    assert client.post("/api/v1/census/department", json=big).status_code == 413
    # The import takes workbooks up to security.import_max_body (64 MiB by default).
    # Encoded in memory: the test client would spool a body this size to an unclosed file.
    stream, length, boundary = stream_encode_multipart(
        {"file": FileStorage(io.BytesIO(b"x" * (2 * 1024 * 1024)), "big.xlsx")},
        use_tempfile=False)
    upload = client.post("/api/v1/census/import", data=stream.getvalue(),
                         content_type=f"multipart/form-data; boundary={boundary}")
    assert upload.status_code == 400


@pytest.fixture
def census(client, tmp_path):
    """The sample census, imported by the estate-wide token."""
    book = filled_workbook(tmp_path / "c.xlsx").read_bytes()
    assert client.post("/api/v1/census/import", data={
        "file": (io.BytesIO(book), "c.xlsx")}, content_type="multipart/form-data").json["applied"]
    return client


def test_cross_site_multipart_import_is_refused(app, census, tmp_path):
    """A page on another site posting the form with the victim's cookie deletes nothing."""
    make_user(app, "officer", {"data_officer"}, "D002")
    browser = app.test_client()
    assert login(browser, "officer").status_code == 302
    own = filled_workbook(tmp_path / "own.xlsx", {"部门": [
        ["D002", "深圳市公安局", None, "440300", "李四", None]]}).read_bytes()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        refused = browser.post("/api/v1/census/import?replace=1", headers=headers, data={
            "file": (io.BytesIO(own), "own.xlsx")}, content_type="multipart/form-data")
        assert refused.status_code == 403, headers
    assert [i["code"] for i in census.get("/api/v1/census/department").json["items"]] == [
        "D001", "D002", "D00201"]
    # The same request from the product's own page (its CSRF token) is accepted.
    token = csrf_of(browser)
    dry = browser.post("/api/v1/census/import?replace=1&dry_run=1",
                       headers={"X-CSRF-Token": token}, data={
                           "file": (io.BytesIO(own), "own.xlsx")},
                       content_type="multipart/form-data")
    assert dry.status_code == 200, dry.json


def test_csrf_token_on_forms_and_session_api_calls(app, census):
    make_user(app, "officer", {"data_officer"}, "D002")
    browser = app.test_client()
    login(browser, "officer")
    body = {"code": "DEV30", "name": "接入交换机", "department": "D002",
            "device_type": "switch", "status": "in_use"}
    assert browser.post("/api/v1/census/device", json=body).status_code == 403
    token = csrf_of(browser)
    assert browser.post("/api/v1/census/device", json=body,
                        headers={"X-CSRF-Token": token}).status_code == 201
    assert browser.post("/account/tokens", data={"name": "x"}).status_code == 403
    assert browser.post("/logout").status_code == 403
    assert browser.get("/account").status_code == 200          # still signed in
    browser.post("/logout", data={"csrf_token": token})
    assert browser.get("/account").status_code == 302          # signed out


def test_login_form_has_its_own_csrf_token(app, anonymous):
    make_user(app, "ops", {"operator"})
    forged = anonymous.post("/login", data={"username": "ops", "password": "x" * 12})
    assert forged.status_code == 401 and "CSRF" in forged.get_data(as_text=True)


def test_behind_a_proxy_the_client_address_and_https_count(ledger, embedded_store, tmp_path):
    proxied = parse_settings({"security": {"proxy_hops": 1,
                                           "allowed_hosts": ["ledger.gov.example"]}},
                             "(test)", data_dir=str(tmp_path / "d"))
    app = create_app({"SETTINGS": proxied, "LEDGER": ledger, "STORE": embedded_store})
    browser = app.test_client()
    forwarded = {"X-Forwarded-For": "198.51.100.23", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "ledger.gov.example"}
    page = browser.get("/login", headers=forwarded)
    assert page.status_code == 200 and "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    # Through the proxy, /metrics is not "loopback" even though the proxy is.
    assert browser.get("/metrics", headers=forwarded).status_code == 401
    assert browser.get("/login", headers={"Host": "ledger.gov.example"}).status_code == 200
    assert browser.get("/login").status_code == 400     # localhost is not configured here


#: Open to any identity (a zone's machine token too): where the roles lead, a script file.
ANY_IDENTITY = {"index", "operator.plotly_js"}


def test_every_route_declares_what_it_needs(app):
    """Every route but the allow-listed and configured ones names the permissions it needs:
    a route open to any identity is open to a zone's machine token too."""
    bare = {e for e in app.view_functions
            if not rule_of(app, e).public and not rule_of(app, e).open_setting
            and not rule_of(app, e).permissions}
    assert bare == ANY_IDENTITY
