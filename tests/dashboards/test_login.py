"""Signing in through the pages: lockout, second factor, expiry, logout, tokens, records."""

from __future__ import annotations

import json
import re

import pyotp
import pytest

from dashboards.access import services
from ledger.identity.policy import PolicyError
from tests.dashboards.users import CTX, PASSWORD, csrf_of, field, login, make_user

SECRET = pyotp.random_base32()


def test_brute_force_locks_the_account(app, anonymous, ledger):
    make_user(app, "ops", {"operator"})
    for _ in range(4):
        failed = login(anonymous, "ops", "Wrong-password-1")
        assert failed.status_code == 401 and "用户名或口令错误" in failed.get_data(as_text=True)
    locked = login(anonymous, "ops", "Wrong-password-1")
    assert "账户已锁定" in locked.get_data(as_text=True)
    right = login(anonymous, "ops")
    assert right.status_code == 401 and "账户已锁定" in right.get_data(as_text=True)
    english = anonymous.get("/login?lang=en")
    assert "Sign in" in english.get_data(as_text=True)
    assert "locked" in login(anonymous, "ops").get_data(as_text=True)
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT action FROM audit_record WHERE object_key = 'ops' ORDER BY seq").all()
    assert [r[0] for r in rows][-3:] == ["lockout", "login_refused", "login_refused"]


def test_privileged_login_needs_the_totp_code(app, anonymous, clock):
    make_user(app, "secadmin", {"security_admin"}, totp=SECRET)
    first = login(anonymous, "secadmin")
    assert first.location.endswith("/login/totp")
    assert anonymous.get("/admin/users").status_code == 302        # not signed in yet
    page = anonymous.get("/login/totp").get_data(as_text=True)
    wrong = anonymous.post("/login/totp", data={"code": "123456",
                                                "csrf_token": field(page, "csrf_token")})
    assert wrong.status_code == 401 and "动态口令错误" in wrong.get_data(as_text=True)
    done = anonymous.post("/login/totp", data={"code": pyotp.TOTP(SECRET).at(clock()),
                                               "csrf_token": field(page, "csrf_token")})
    assert done.status_code == 302
    assert anonymous.get("/admin/users").status_code == 200


def test_first_privileged_login_enrols_the_authenticator(app, anonymous, clock):
    make_user(app, "auditor", {"audit_admin"})
    assert login(anonymous, "auditor").location.endswith("/login/enroll")
    page = anonymous.get("/login/enroll", follow_redirects=True).get_data(as_text=True)
    secret = page.split('id="secret">')[1].split("<")[0]
    assert 'src="data:image/svg+xml' in page
    done = anonymous.post("/login/enroll", data={"code": pyotp.TOTP(secret).at(clock()),
                                                 "csrf_token": field(page, "csrf_token")})
    assert done.status_code == 302 and anonymous.get("/audit").status_code == 200
    clock.advance(30)
    again = app.test_client()
    assert login(again, "auditor", totp=secret, clock=clock).status_code == 302
    assert again.get("/audit").status_code == 200


def test_session_idle_and_absolute_lifetime(app, anonymous, clock, ledger):
    make_user(app, "ops", {"operator"})
    login(anonymous, "ops")
    assert anonymous.get("/targets").status_code == 200
    clock.advance(31 * 60)
    expired = anonymous.get("/targets")
    assert expired.status_code == 302 and "/login" in expired.location
    assert "会话已结束" in anonymous.get(expired.location).get_data(as_text=True)
    login(anonymous, "ops")
    for _ in range(17):
        clock.advance(29 * 60)
        response = anonymous.get("/targets")
    assert response.status_code == 302
    with ledger.engine.connect() as conn:
        ends = conn.exec_driver_sql("SELECT changes FROM audit_record WHERE action = "
                                    "'session_end' ORDER BY seq").scalars().all()
    assert [json.loads(e)["reason"] if isinstance(e, str) else e["reason"] for e in ends] == [
        "idle", "absolute"]


def test_logout_ends_the_session_server_side(app, anonymous):
    make_user(app, "ops", {"operator"})
    login(anonymous, "ops")
    cookie = anonymous.get_cookie("il_session").value
    anonymous.post("/logout", data={"csrf_token": csrf_of(anonymous)})
    other = app.test_client()
    other.set_cookie("il_session", cookie)
    assert other.get("/targets").status_code == 302     # the old value is worth nothing


def test_initial_password_must_be_changed(app, anonymous, clock):
    make_user(app, "sysadmin", {"system_admin"}, totp=SECRET)
    login(anonymous, "sysadmin", totp=SECRET, clock=clock)
    created = anonymous.post("/admin/users", data={
        "username": "zhou", "password": "Initial-Pass-2026", "repeat_password":
        "Initial-Pass-2026", "csrf_token": csrf_of_admin(anonymous)})
    assert created.status_code == 302
    make_user_roles(app, "zhou", {"leader"})
    newcomer = app.test_client()
    first = login(newcomer, "zhou", "Initial-Pass-2026")
    assert first.location.endswith("/login/password")
    assert newcomer.get("/overview").status_code == 302
    page = newcomer.get("/login/password").get_data(as_text=True)
    weak = newcomer.post("/login/password", data={
        "password": "Initial-Pass-2026", "new_password": "short", "repeat_password": "short",
        "csrf_token": field(page, "csrf_token")})
    assert "至少 12 个字符" in weak.get_data(as_text=True)
    changed = newcomer.post("/login/password", data={
        "password": "Initial-Pass-2026", "new_password": "Better-Pass-2027",
        "repeat_password": "Better-Pass-2027", "csrf_token": field(page, "csrf_token")})
    assert changed.status_code == 302 and newcomer.get("/overview").status_code == 200


def csrf_of_admin(client) -> str:
    return field(client.get("/admin/users").get_data(as_text=True), "csrf_token")


def make_user_roles(app, username, roles, department=None):
    from dashboards.access import services
    from tests.dashboards.users import CTX
    with app.app_context():
        services().identity.grant(CTX, username, roles, department)


def test_separation_of_duties_on_the_admin_pages(app, anonymous, clock):
    make_user(app, "secadmin", {"security_admin"}, totp=SECRET)
    make_user(app, "zhou", {"leader"})
    login(anonymous, "secadmin", totp=SECRET, clock=clock)
    refused = anonymous.post("/admin/users/zhou/grant", data={
        "roles": ["system_admin", "audit_admin"], "csrf_token": csrf_of_admin(anonymous)})
    assert refused.status_code == 400 and "三员分立" in refused.get_data(as_text=True)
    # The security administrator grants, but neither creates accounts nor reads the log.
    assert anonymous.post("/admin/users", data={
        "username": "x1", "password": PASSWORD, "repeat_password": PASSWORD,
        "csrf_token": csrf_of_admin(anonymous)}).status_code == 403
    assert anonymous.get("/audit").status_code == 403
    assert anonymous.get("/api/v1/census/device").status_code == 403


def test_token_created_used_and_revoked_on_the_account_page(app, anonymous, ledger):
    make_user(app, "ops", {"operator"})
    login(anonymous, "ops")
    page = anonymous.post("/account/tokens", data={
        "name": "prometheus", "roles": ["operator"], "days": "30",
        "csrf_token": csrf_of(anonymous)}).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    bearer = {"Authorization": f"Bearer {token}", "X-Actor": "someone-else"}
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    program = app.test_client()
    assert program.get("/metrics", headers=bearer, environ_base=remote).status_code == 200
    token_id = re.search(r"/account/tokens/(\d+)/revoke", page).group(1)
    anonymous.post(f"/account/tokens/{token_id}/revoke",
                   data={"csrf_token": csrf_of(anonymous)})
    assert program.get("/metrics", headers=bearer, environ_base=remote).status_code == 401
    with ledger.engine.connect() as conn:
        uses = conn.exec_driver_sql(
            "SELECT action, actor, changes FROM audit_record WHERE object_type = 'api_token' "
            "ORDER BY seq").all()
    assert [(a, actor) for a, actor, _ in uses] == [
        ("token_create", "ops"), ("token_use", "ops"), ("token_revoke", "ops"),
        ("token_refused", "ops")]
    used = uses[1][2] if isinstance(uses[1][2], dict) else json.loads(uses[1][2])
    assert used["source_address"] == "203.0.113.9"


def test_login_records_only_for_the_audit_administrator(app, anonymous, clock):
    make_user(app, "auditor", {"audit_admin"}, totp=SECRET)
    make_user(app, "ops", {"operator"})
    login(anonymous, "ops", "Wrong-password-1")
    ops = app.test_client()
    login(ops, "ops")
    assert ops.get("/audit").status_code == 403
    assert ops.get("/api/v1/audit").status_code == 403
    login(anonymous, "auditor", totp=SECRET, clock=clock)
    page = anonymous.get("/audit?kind=security&verify=1").get_data(as_text=True)
    assert "login_failed" in page and "127.0.0.1" in page and "哈希链完整" in page
    records = anonymous.get("/api/v1/audit?kind=security").get_json()["items"]
    assert {"login", "login_failed", "password_ok", "grant"} <= {r["action"] for r in records}
    assert anonymous.get("/api/v1/audit/verify").get_json()["problems"] == []


def test_next_is_a_path_on_this_site_as_the_browser_reads_it(app, anonymous):
    make_user(app, "ops2", {"operator"})
    page = anonymous.get("/login").get_data(as_text=True)
    token = field(page, "login_token")
    for wanted, where in (("/targets?x=1", "/targets?x=1"), ("/%09/evil.com", "/"),
                          ("/%0a/evil.com", "/"), ("/%0d%0aX-Evil:1", "/"),
                          ("/\\evil.com", "/"), ("//evil.com", "/"),
                          ("https://evil.com/", "/"), ("/%7f/evil.com", "/")):
        fresh = app.test_client()
        page = fresh.get("/login").get_data(as_text=True)
        token = field(page, "login_token")
        response = fresh.post(f"/login?next={wanted}", data={
            "username": "ops2", "password": PASSWORD, "login_token": token})
        assert response.status_code == 302, (wanted, response.status_code)
        assert response.headers["Location"] == where, wanted
        assert "X-Evil" not in response.headers


def test_non_ascii_form_tokens_are_refused_not_a_server_error(app, anonymous):
    make_user(app, "ops3", {"operator"})
    page = anonymous.get("/login").get_data(as_text=True)
    refused = anonymous.post("/login", data={"username": "ops3", "password": PASSWORD,
                                             "login_token": "é" + field(page, "login_token")})
    assert 400 <= refused.status_code < 500
    assert login(anonymous, "ops3").status_code == 302
    for headers, data in (({"X-CSRF-Token": "jeton-é"}, {}), ({}, {"csrf_token": "令牌"})):
        answer = anonymous.post("/account/tokens", headers=headers,
                                data={"name": "t", "days": "1", **data})
        assert answer.status_code == 403, answer.status_code
    password = anonymous.post("/logout", data={"csrf_token": "令牌"})
    assert 400 <= password.status_code < 500


def test_the_system_administrator_cannot_disable_itself_or_the_last_one(app, anonymous, clock):
    make_user(app, "sys1", {"system_admin"}, totp=SECRET)
    make_user(app, "sys2", {"system_admin"}, totp=SECRET)
    login(anonymous, "sys1", totp=SECRET, clock=clock)
    refused = anonymous.post("/admin/users/sys1/disable", data={
        "csrf_token": csrf_of_admin(anonymous)})
    assert refused.status_code == 400 and "不能停用自己" in refused.get_data(as_text=True)
    assert anonymous.post("/admin/users/sys2/disable", data={
        "csrf_token": csrf_of_admin(anonymous)}).status_code == 302
    with app.app_context():
        identity = services().identity
        with pytest.raises(PolicyError, match="only enabled system administrator"):
            identity.set_disabled(CTX, "sys1", True)
        assert not identity.user("sys1").disabled
        identity.set_disabled(CTX, "sys2", False)
        identity.set_disabled(CTX, "sys1", True)     # another one is enabled again


def test_an_unknown_name_locks_like_an_account(app, anonymous):
    # Otherwise "locked" after five tries would tell which names hold an account.
    make_user(app, "real.user", {"operator"})
    answers = {}
    for name in ("real.user", "no.such.user"):
        client = app.test_client()
        texts = [login(client, name, "Wrong-password-1").get_data(as_text=True)
                 for _ in range(6)]
        answers[name] = ["账户已锁定" in t for t in texts]
        assert all("用户名或口令错误" in t for t in texts[:4])
    assert answers["real.user"] == answers["no.such.user"] == [False] * 4 + [True] * 2
