"""Single sign-on against a real OpenID Connect provider (node's oidc-provider) on loopback:
claims map to roles and a department; the ID token, state and nonce are checked."""

from __future__ import annotations

import urllib.parse

import pytest

from dashboards import create_app
from monitor.config import parse_settings
from tests.dashboards.users import FAST_HASHER, Clock
from tests.oidc import OidcProvider

REDIRECT = "http://localhost/login/oidc/callback"
ACCOUNTS = {
    "zhang.wei": {"preferred_username": "zhang.wei", "name": "张伟",
                  "roles": ["ledger-officer"], "department": "D002"},
    "two.hats": {"preferred_username": "two.hats", "roles": ["ledger-audit", "ledger-sys"]},
    "chen.audit": {"preferred_username": "chen.audit", "roles": ["ledger-audit"]},
    "nobody": {"preferred_username": "nobody", "roles": ["unmapped"]},
}


@pytest.fixture
def provider(tmp_path):
    server = OidcProvider("infra-ledger", "s3cret-for-tests", [REDIRECT], ACCOUNTS,
                          tmp_path / "oidc.log").start()
    yield server
    server.stop()


@pytest.fixture
def sso_app(provider, ledger, embedded_store, tmp_path, monkeypatch):
    monkeypatch.setenv("INFRA_LEDGER_OIDC_SECRET", "s3cret-for-tests")
    settings = parse_settings({"security": {"oidc": {
        "issuer": provider.issuer, "client_id": "infra-ledger",
        "scopes": ["openid", "profile", "ledger"],
        "role_map": {"ledger-officer": "data_officer", "ledger-audit": "audit_admin",
                     "ledger-sys": "system_admin"}}}}, "(test)", data_dir=str(tmp_path / "d"))
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "CLOCK": Clock(), "PASSWORD_HASHER": FAST_HASHER})
    coordinator = app.test_client()
    from tests.dashboards.users import make_token, make_user
    make_user(app, "coordinator", {"census_admin"})
    coordinator.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {make_token(app, 'coordinator', {'census_admin'})}"
    departments = [{"code": "D001", "name": "数据局"}, {"code": "D002", "name": "公安局"}]
    devices = [{"code": f"DEV-{d}", "name": f"设备{d}", "department": d,
                "device_type": "server", "status": "in_use"} for d in ("D001", "D002")]
    assert coordinator.post("/api/v1/census/import", json={
        "department": departments, "device": devices}).json["applied"]
    return app


def sso(app, provider, login: str):
    browser = app.test_client()
    start = browser.get("/login/oidc")
    assert start.status_code == 302 and start.location.startswith(provider.issuer)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.location).query))
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    back = provider.sign_in(start.location, login, REDIRECT)
    return browser, back


def test_claims_become_roles_and_department(sso_app, provider, ledger):
    browser, back = sso(sso_app, provider, "zhang.wei")
    done = browser.get(back.removeprefix("http://localhost"))
    assert done.status_code == 302, done.get_data(as_text=True)
    devices = browser.get("/api/v1/census/device").get_json()["items"]
    assert [d["code"] for d in devices] == ["DEV-D002"]
    account = browser.get("/account").get_data(as_text=True)
    assert "部门数据管理员" in account and "D002" in account
    with ledger.engine.connect() as conn:
        actions = conn.exec_driver_sql(
            "SELECT action FROM audit_record WHERE object_key = 'zhang.wei' ORDER BY seq"
        ).scalars().all()
    assert actions == ["create", "grant", "login"]


def test_a_replayed_or_forged_answer_is_refused(sso_app, provider):
    browser, back = sso(sso_app, provider, "zhang.wei")
    forged = back.replace("state=", "state=x")
    assert browser.get(forged.removeprefix("http://localhost")).status_code == 401
    assert browser.get("/api/v1/census/device").status_code == 401
    # The code is bound to the first login attempt's session, which is gone now.
    assert browser.get(back.removeprefix("http://localhost")).status_code == 302
    assert browser.get("/api/v1/census/device").status_code == 401


def test_claims_that_break_the_rules_are_refused(sso_app, provider):
    for login, reason in (("two.hats", "三员分立"), ("nobody", "尚未授予角色")):
        browser, back = sso(sso_app, provider, login)
        refused = browser.get(back.removeprefix("http://localhost"))
        assert refused.status_code == 401 and reason in refused.get_data(as_text=True), login


def test_a_privileged_role_from_the_provider_still_needs_the_second_factor(sso_app, provider):
    browser, back = sso(sso_app, provider, "chen.audit")
    assert browser.get(back.removeprefix("http://localhost")).location.endswith("/login/enroll")
    assert browser.get("/audit").status_code == 302
