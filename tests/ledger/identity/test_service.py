"""Accounts, lockout, second factor, grants and tokens on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from ledger.census.audit import list_records, verify
from ledger.census.tables import audit_record
from ledger.identity.crypto import SecretBox
from ledger.identity.policy import PolicyError, SecurityPolicy
from ledger.identity.service import Context, IdentityService
from ledger.identity.sessions import SessionService
from ledger.identity.tables import identity_token, identity_user
from tests.dashboards.users import FAST_HASHER, PASSWORD, Clock

ADMIN = Context("cli:root", "cli")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def identity(ledger, clock):
    return IdentityService(ledger.engine, policy=SecurityPolicy(), clock=clock,
                           box=SecretBox(Fernet.generate_key()), hasher=FAST_HASHER)


def ctx(address="192.0.2.10"):
    return Context("anonymous", address, "req-1")


def events(ledger, **filters):
    with ledger.engine.connect() as conn:
        return [(r["action"], r["actor"], r["object_key"], r["changes"].get("source_address"))
                for r in reversed(list_records(conn, **filters))]


def test_password_policy_and_no_plain_text(identity, ledger):
    for weak, reason in (("short1A!", "too_short"), ("alllowercaseletters", "too_simple"),
                         ("Zhangsan-2026-long", "contains_username")):
        with pytest.raises(PolicyError) as refused:
            identity.create_user(ADMIN, "zhangsan", password=weak)
        assert refused.value.reason == reason
    identity.create_user(ADMIN, "zhangsan", password=PASSWORD)
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(identity_user.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(PolicyError) as taken:
        identity.create_user(ADMIN, "zhangsan", password=PASSWORD)
    assert taken.value.reason == "user_exists"


def test_separation_of_duties_and_department_rules(identity, ledger):
    identity.create_user(ADMIN, "admin1", password=PASSWORD)
    for roles, department, reason in (
            ({"system_admin", "audit_admin"}, None, "two_admin_roles"),
            ({"security_admin", "operator"}, None, "admin_alone"),
            ({"data_officer"}, None, "department_required"),
            ({"operator"}, "D001", "department_refused"),
            ({"root"}, None, "unknown_role"),
            ({"finance"}, "D404", "unknown_department")):
        with pytest.raises(PolicyError) as refused:
            identity.grant(ADMIN, "admin1", roles, department)
        assert refused.value.reason == reason, roles
    identity.grant(ADMIN, "admin1", {"audit_admin"}, None)
    assert identity.user("admin1").roles == {"audit_admin"}
    grants = [e for e in events(ledger) if e[0] == "grant"]
    assert grants == [("grant", "cli:root", "admin1", "cli")]
    with ledger.engine.connect() as conn:
        (record,) = list_records(conn, action="grant")
    assert record["changes"]["roles"] == [[], ["audit_admin"]]


def test_lockout_per_account_then_period_ends(identity, ledger, clock):
    identity.create_user(ADMIN, "li.si", password=PASSWORD)
    identity.grant(ADMIN, "li.si", {"operator"}, None)
    for attempt in range(4):
        with pytest.raises(PolicyError) as refused:
            identity.authenticate(ctx(), "li.si", "wrong-password")
        assert refused.value.reason == "bad_credentials"
    with pytest.raises(PolicyError) as locked:
        identity.authenticate(ctx(), "li.si", "wrong-password")
    assert locked.value.reason == "account_locked"
    with pytest.raises(PolicyError) as still:   # even the right password, from anywhere
        identity.authenticate(ctx("192.0.2.99"), "li.si", PASSWORD)
    assert still.value.reason == "account_locked"
    clock.advance(31 * 60)
    assert identity.authenticate(ctx(), "li.si", PASSWORD).username == "li.si"
    actions = [e[0] for e in events(ledger, object_types=["user"]) if e[2] == "li.si"]
    assert actions.count("login_failed") == 5 and "lockout" in actions
    assert actions[-1] == "password_ok" and "login_refused" in actions
    assert all(e[3] in ("192.0.2.10", "192.0.2.99") for e in events(ledger) if e[2] == "li.si"
               and e[0] != "create" and e[0] != "grant")


def test_lockout_per_source_address_covers_unknown_names(identity, clock):
    identity.create_user(ADMIN, "wang.wu", password=PASSWORD)
    identity.grant(ADMIN, "wang.wu", {"leader"}, None)
    for attempt in range(20):
        with pytest.raises(PolicyError):
            identity.authenticate(ctx("198.51.100.7"), f"guess{attempt}", "x")
    with pytest.raises(PolicyError) as locked:
        identity.authenticate(ctx("198.51.100.7"), "wang.wu", PASSWORD)
    assert locked.value.reason == "address_locked"
    assert identity.authenticate(ctx("198.51.100.8"), "wang.wu", PASSWORD)
    assert [a for a, _ in identity.locked_addresses()] == ["198.51.100.7"]
    identity.unlock(ADMIN, address="198.51.100.7")
    assert identity.authenticate(ctx("198.51.100.7"), "wang.wu", PASSWORD)


def test_totp_rfc6238_codes_once_each(identity, clock):
    identity.create_user(ADMIN, "auditor", password=PASSWORD)
    identity.grant(ADMIN, "auditor", {"audit_admin"}, None)
    user = identity.user("auditor")
    assert identity.needs_totp(user) and not user.totp
    secret = identity.new_totp_secret()
    with pytest.raises(PolicyError):
        identity.enroll_totp(ctx(), "auditor", secret, "000000")
    identity.enroll_totp(ctx(), "auditor", secret, pyotp.TOTP(secret).at(clock()))
    clock.advance(30)
    code = pyotp.TOTP(secret).at(clock())
    identity.verify_totp(ctx(), "auditor", code)
    with pytest.raises(PolicyError) as replay:
        identity.verify_totp(ctx(), "auditor", code)
    assert replay.value.reason == "bad_totp"
    clock.advance(30)
    identity.verify_totp(ctx(), "auditor", pyotp.TOTP(secret).at(clock()))
    with pytest.raises(PolicyError):   # a code from ten minutes ago
        identity.verify_totp(ctx(), "auditor", pyotp.TOTP(secret).at(clock().timestamp() - 600))


def test_password_expiry(identity, clock):
    identity.create_user(ADMIN, "zhao", password=PASSWORD, must_change_password=False)
    assert not identity.password_expired(identity.user("zhao"))
    clock.advance(91 * 86400)
    assert identity.password_expired(identity.user("zhao"))
    with pytest.raises(PolicyError) as same:
        identity.set_password(ctx(), "zhao", PASSWORD)
    assert same.value.reason == "same_password"
    identity.set_password(ctx(), "zhao", "Another-Good-Pass-9")
    assert not identity.password_expired(identity.user("zhao"))


def test_tokens_hashed_scoped_expiring_revocable(identity, ledger, clock):
    sessions = SessionService(identity)
    identity.create_user(ADMIN, "ops", password=PASSWORD)
    identity.grant(ADMIN, "ops", {"operator"}, None)
    with pytest.raises(PolicyError):
        sessions.create_token(ADMIN, "ops", "x", {"census_admin"}, None, 86400)
    with pytest.raises(PolicyError):
        sessions.create_token(ADMIN, "ops", "x", {"operator"}, None, 400 * 86400)
    value = sessions.create_token(ADMIN, "ops", "scraper", {"operator"}, None, 2 * 86400)
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(identity_token.c.token_hash)).scalar_one()
    assert value.startswith("ilt_") and value not in stored and len(stored) == 64
    who = sessions.authenticate_token(value, ctx())
    assert (who.username, who.roles, who.via) == ("ops", {"operator"}, "token")
    assert sessions.authenticate_token(value + "x", ctx()) is None
    clock.advance(3 * 86400)
    assert sessions.authenticate_token(value, ctx()) is None        # expired
    second = sessions.create_token(ADMIN, "ops", "scraper", {"operator"}, None, 2 * 86400)
    sessions.revoke_token(ADMIN, sessions.tokens("ops")[0].id)
    assert sessions.authenticate_token(second, ctx()) is None       # revoked
    identity.grant(ADMIN, "ops", set(), None)
    actions = [e[0] for e in events(ledger, object_types=["api_token"])]
    assert actions == ["token_create", "token_use", "token_refused", "token_create",
                       "token_revoke", "token_refused"]


def test_records_are_in_the_chain_and_append_only(identity, ledger):
    identity.create_user(ADMIN, "sun", password=PASSWORD)
    with pytest.raises(PolicyError):
        identity.authenticate(ctx(), "sun", "nope")
    with ledger.engine.connect() as conn:
        assert verify(conn).problems == []
        assert conn.execute(select(audit_record.c.action)).scalars().all() == [
            "create", "login_failed"]
    with pytest.raises(Exception, match="append-only"):
        with ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_record WHERE action = 'login_failed'"))


def test_sessions_end_idle_and_absolute(identity, clock):
    sessions = SessionService(identity)
    identity.create_user(ADMIN, "qian", password=PASSWORD)
    cookie = sessions.start(1, "active", "192.0.2.1")
    session, ended = sessions.load(cookie)
    assert session.stage == "active" and ended is None
    clock.advance(29 * 60)
    assert sessions.load(cookie)[1] is None
    clock.advance(31 * 60)
    assert sessions.load(cookie)[1] == "idle"
    assert sessions.load(cookie) == (None, None)
    cookie = sessions.start(1, "active", "192.0.2.1")
    for _ in range(17):                     # busy all day: still ends after 8 hours
        clock.advance(29 * 60)
        session, ended = sessions.load(cookie)
    assert ended == "absolute"
    rotated = sessions.start(1, "totp", None)
    session, _ = sessions.load(rotated)
    newer = sessions.advance(session, "active")
    assert sessions.load(rotated) == (None, None) and sessions.load(newer)[0].stage == "active"
    assert dt.timedelta(0) <= clock() - sessions.load(newer)[0].created_at
