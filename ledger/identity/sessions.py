"""Browser sessions and API tokens: both kept server-side, both stored only as digests.

A session cookie holds a 256-bit random value; the ledger keeps its SHA-256 with the
account, the login stage reached (``oidc`` waiting for the provider, ``totp`` or
``enroll`` waiting for the second factor, ``password`` waiting for a required change,
``active``), a CSRF token and the times that bound it: a session ends when idle for
``session_idle`` or older than ``session_absolute``, whichever comes first. Each stage
change issues a new cookie value (no session fixation).

An API token (``ilt_…``) belongs to an account, carries some of its business roles and a
department, expires, and can be revoked; it counts only while its owner is enabled and
still holds those roles. Its use is recorded in the chain once per
``token_use_record_interval`` and source address.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from ledger.identity.crypto import digest, new_secret
from ledger.identity.policy import PolicyError
from ledger.identity.roles import ROLES
from ledger.identity.service import Context, Identity, IdentityService
from ledger.identity.tables import identity_session, identity_token, identity_user

STAGES = ("oidc", "totp", "enroll", "password", "active")
TOKEN_PREFIX = "ilt_"
#: last_seen_at is written at most this often, so reads do not all become writes.
TOUCH_SECONDS = 15


@dataclass(frozen=True)
class Session:
    """One browser session as the web tier sees it."""

    id: str
    user_id: int | None
    stage: str
    csrf: str
    data: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class Token:
    """An API token's description (never its value)."""

    id: int
    prefix: str
    name: str
    username: str
    roles: tuple[str, ...]
    department: str | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class SessionService:
    """Sessions and tokens on top of an :class:`IdentityService`."""

    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.engine = identity.engine
        self.policy = identity.policy
        self.clock = identity.clock

    # Sessions.
    def start(self, user_id: int | None, stage: str, source_address: str | None,
              data: dict[str, Any] | None = None) -> str:
        """A new session; returns the cookie value (shown once, stored as a digest)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        cookie, now = new_secret(), self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(identity_session).where(or_(
                identity_session.c.created_at < now - self._absolute,
                identity_session.c.last_seen_at < now - self._idle)))
            conn.execute(insert(identity_session).values(
                id=digest(cookie), user_id=user_id, stage=stage, csrf=secrets.token_urlsafe(32),
                source_address=source_address, data=data or {}, created_at=now,
                last_seen_at=now))
        return cookie

    @property
    def _idle(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.policy.session_idle)

    @property
    def _absolute(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.policy.session_absolute)

    def load(self, cookie: str | None) -> tuple[Session | None, str | None]:
        """The live session of ``cookie`` and, if it just ended, why (``idle``/``absolute``)."""
        if not cookie:
            return None, None
        key, now = digest(cookie), self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(identity_session)
                               .where(identity_session.c.id == key)).first()
            if row is None:
                return None, None
            ended = "absolute" if row.created_at + self._absolute < now else \
                "idle" if row.last_seen_at + self._idle < now else None
            if ended:
                conn.execute(delete(identity_session).where(identity_session.c.id == key))
                return Session(key, row.user_id, row.stage, row.csrf, row.data,
                               row.created_at), ended
            if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
                conn.execute(update(identity_session).where(identity_session.c.id == key)
                             .values(last_seen_at=now))
        return Session(key, row.user_id, row.stage, row.csrf, row.data, row.created_at), None

    def advance(self, session: Session, stage: str, *, user_id: int | None = None,
                data: dict[str, Any] | None = None) -> str:
        """Move a session to ``stage`` under a new cookie value (the old one stops working).

        The absolute lifetime counts from the first stage: a login cannot be stretched."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        cookie, now = new_secret(), self.clock()
        with self.engine.begin() as conn:
            conn.execute(delete(identity_session).where(identity_session.c.id == session.id))
            conn.execute(insert(identity_session).values(
                id=digest(cookie), user_id=user_id if user_id is not None else session.user_id,
                stage=stage, csrf=secrets.token_urlsafe(32), source_address=None,
                data=data if data is not None else {}, created_at=session.created_at,
                last_seen_at=now))
        return cookie

    def end(self, session_id: str) -> None:
        """End a session (logout)."""
        with self.engine.begin() as conn:
            conn.execute(delete(identity_session).where(identity_session.c.id == session_id))

    def end_all(self, user_id: int) -> None:
        """End every session of an account (password change elsewhere, disabling)."""
        with self.engine.begin() as conn:
            conn.execute(delete(identity_session).where(identity_session.c.user_id == user_id))

    # API tokens.
    def create_token(self, ctx: Context, username: str, name: str, roles: set[str],
                     department: str | None, lifetime_seconds: float) -> str:
        """Issue a token for ``username``; returns its value (shown once, kept as a digest)."""
        owner = self.identity.user(username)
        bad = sorted(r for r in roles if r not in owner.roles or not ROLES[r].token)
        if bad or not roles:
            raise PolicyError("token_roles", role=", ".join(bad or ["-"]))
        days = int(self.policy.token_max_age // 86400)
        if not 86400 <= lifetime_seconds <= self.policy.token_max_age:
            raise PolicyError("token_expiry", days=days)
        if owner.department is not None and department != owner.department:
            raise PolicyError("token_department")
        if department is None and any(ROLES[r].department == "required" for r in roles):
            raise PolicyError("department_required", role=sorted(roles)[0])
        value = TOKEN_PREFIX + new_secret()
        now = self.clock()
        with self.identity.writing() as (conn, head):
            token_id = conn.execute(insert(identity_token).values(
                token_hash=digest(value), prefix=value[len(TOKEN_PREFIX):][:8], name=name[:128],
                user_id=owner.id, roles=sorted(roles), department=department,
                created_by=ctx.actor, created_at=now,
                expires_at=now + dt.timedelta(seconds=lifetime_seconds))).inserted_primary_key[0]
            self.identity.record(conn, ctx, "token_create", "api_token",
                                 f"{token_id}:{value[4:12]}", {
                                     "owner": username, "roles": sorted(roles),
                                     "department": department,
                                     "expires_at": (now + dt.timedelta(
                                         seconds=lifetime_seconds)).isoformat()}, head)
        return value

    def revoke_token(self, ctx: Context, token_id: int, *, owner: str | None = None) -> None:
        """Revoke a token (only ``owner``'s, when given); PolicyError if there is none."""
        with self.identity.writing() as (conn, head):
            query = select(identity_token.c.id, identity_token.c.prefix,
                           identity_token.c.revoked_at, identity_user.c.username).join(
                identity_user, identity_user.c.id == identity_token.c.user_id).where(
                identity_token.c.id == token_id)
            row = conn.execute(query).first()
            if row is None or (owner is not None and row.username != owner):
                raise PolicyError("unknown_token")
            if row.revoked_at is None:
                conn.execute(update(identity_token).where(identity_token.c.id == token_id)
                             .values(revoked_at=self.clock()))
                self.identity.record(conn, ctx, "token_revoke", "api_token",
                                     f"{token_id}:{row.prefix}", {"owner": row.username}, head)

    def tokens(self, username: str | None = None) -> list[Token]:
        """Tokens of one account (or all), newest first."""
        query = select(identity_token, identity_user.c.username).join(
            identity_user, identity_user.c.id == identity_token.c.user_id)
        if username is not None:
            query = query.where(identity_user.c.username == username)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(identity_token.c.id.desc())).all()
        return [Token(r.id, r.prefix, r.name, r.username, tuple(r.roles), r.department,
                      r.created_by, r.created_at, r.expires_at, r.revoked_at, r.last_used_at)
                for r in rows]

    def authenticate_token(self, value: str, ctx: Context) -> Identity | None:
        """The identity a bearer token stands for, or None (unknown, expired, revoked)."""
        if not value.startswith(TOKEN_PREFIX):
            return None
        now = self.clock()
        with self.engine.connect() as conn:
            row = conn.execute(select(identity_token)
                               .where(identity_token.c.token_hash == digest(value))).first()
            if row is None:
                return None
            owner = self.identity.identity(conn, row.user_id)
        key = f"{row.id}:{row.prefix}"
        refused = "revoked" if row.revoked_at is not None else \
            "expired" if row.expires_at <= now else "owner_disabled" if owner is None else \
            "department_changed" if owner.department is not None and \
            owner.department != row.department else None
        if refused:
            ctx.actor = owner.username if owner else "anonymous"
            self.identity.record_event(ctx, "token_refused", "api_token", key, reason=refused)
            return None
        roles = frozenset(row.roles) & owner.roles
        self._note_use(ctx, row, key, owner.username, now)
        return Identity(owner.user_id, owner.username, roles, row.department, via="token",
                        token_id=row.id, display_name=owner.display_name, zone=owner.zone)

    def _note_use(self, ctx: Context, row, key: str, username: str, now) -> None:
        interval = dt.timedelta(seconds=self.policy.token_use_record_interval)
        same_place = row.last_address == (ctx.source_address or "-")
        if row.last_recorded_at and row.last_recorded_at + interval > now and same_place:
            return
        ctx.actor = username
        with self.identity.writing() as (conn, head):
            conn.execute(update(identity_token).where(identity_token.c.id == row.id).values(
                last_used_at=now, last_recorded_at=now, last_address=ctx.source_address or "-"))
            self.identity.record(conn, ctx, "token_use", "api_token", key, {}, head)
