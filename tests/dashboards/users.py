"""Accounts for web tests: created through the real identity service, signed in through
the real login form (with its CSRF token and second factor)."""

from __future__ import annotations

import datetime as dt
import re

import argon2
import pyotp

from dashboards.access import services
from ledger.identity.service import Context

UTC = dt.timezone.utc
PASSWORD = "Correct-Horse-7-battery"
#: argon2id with small costs: the same algorithm, fast enough for many test accounts.
FAST_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
CTX = Context("test-setup", "127.0.0.1")


class Clock:
    """A settable clock handed to the identity service (idle and absolute session ends)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def make_user(app, username: str, roles=(), department: str | None = None, *,
              password: str = PASSWORD, totp: str | None = None,
              zone: str | None = None) -> None:
    """Create an account with ``roles`` (and a TOTP seed, a zone when given)."""
    with app.app_context():
        identity = services().identity
        identity.create_user(CTX, username, password=password, must_change_password=False)
        identity.grant(CTX, username, set(roles), department)
        if zone:
            identity.bind_zone(CTX, username, zone)
        if totp:
            identity.set_totp_secret(CTX, username, totp)


def make_token(app, username: str, roles, department: str | None = None, days: int = 30) -> str:
    """An API token for ``username``."""
    with app.app_context():
        return services().sessions.create_token(CTX, username, "test", set(roles), department,
                                                days * 86400.0)


def field(page: str, name: str) -> str:
    """The value of a hidden form field."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, *, totp: str | None = None,
          clock: Clock | None = None, follow: bool = True):
    """Sign in through the form; returns the last response."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password,
                                           "login_token": field(page, "login_token")})
    if totp and response.status_code == 302 and response.location.endswith("/login/totp"):
        page = client.get("/login/totp").get_data(as_text=True)
        at = clock() if clock else dt.datetime.now(UTC)
        response = client.post("/login/totp", data={
            "code": pyotp.TOTP(totp).at(at), "csrf_token": field(page, "csrf_token")})
    return response


def csrf_of(client) -> str:
    """The CSRF token of the client's current session (from the account page)."""
    return field(client.get("/account").get_data(as_text=True), "csrf_token")
