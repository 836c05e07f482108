"""The one writer of accounts and grants, and the checker of passwords and second factors.

Every change and every login event is appended to the census change log's hash chain
(:mod:`ledger.census.audit`) in the same transaction, with the actor, the source address
and the request id: logins, failures, lockouts, grants, token creation, revocation and use.
The chain is append-only (database triggers) and verified by ``audit verify``; it is never
pruned, which keeps these records well beyond the 180 days the Cybersecurity Law asks for.

Sessions and API tokens are in :mod:`ledger.identity.sessions`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import argon2
import pyotp
from sqlalchemy import Connection, Engine, delete, insert, select, update

from ledger.census import audit
from ledger.census.snapshot import Scope, ScopeError
from ledger.identity.crypto import SecretBox
from ledger.identity.policy import PolicyError, SecurityPolicy
from ledger.identity.roles import ROLES, check_grant, permissions_of
from ledger.identity.tables import identity_address, identity_role, identity_user

UTC = dt.timezone.utc
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
TOTP_STEP = 30
ISSUER = "Infra Ledger"


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(UTC)


@dataclass(frozen=True)
class Identity:
    """Who is calling: an account's name, roles and department, and how it proved itself."""

    user_id: int
    username: str
    roles: frozenset[str]
    department: str | None
    via: str = "session"              # session | token
    token_id: int | None = None
    display_name: str | None = None
    zone: str | None = None           # the one network zone a zone collector delivers for

    @property
    def permissions(self) -> frozenset[str]:
        """Every permission the identity's roles give."""
        return permissions_of(self.roles)

    def can(self, permission: str) -> bool:
        """Whether the identity holds ``permission``."""
        return permission in self.permissions


@dataclass(frozen=True)
class User:
    """An account as the pages and the command line show it."""

    id: int
    username: str
    display_name: str | None
    source: str
    department: str | None
    roles: frozenset[str]
    disabled: bool
    locked_until: dt.datetime | None
    totp: bool
    must_change_password: bool
    password_changed_at: dt.datetime | None
    last_login_at: dt.datetime | None
    zone: str | None = None


@dataclass
class Context:
    """Who does it, from where, under which request: what every recorded event carries."""

    actor: str
    source_address: str | None = None
    request_id: str | None = None
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)


PHANTOM_NAMES = 10_000


class IdentityService:
    """Accounts, grants, passwords and second factors of one ledger."""

    def __init__(self, engine: Engine, *, policy: SecurityPolicy | None = None,
                 box: SecretBox | None = None, algorithm: str = "sha256",
                 clock: Callable[[], dt.datetime] = utcnow,
                 hasher: argon2.PasswordHasher | None = None) -> None:
        self.engine = engine
        self.policy = policy or SecurityPolicy()
        self.box = box
        self.algorithm = algorithm
        self.clock = clock
        self.hasher = hasher or argon2.PasswordHasher()   # argon2id, RFC 9106 parameters
        self._dummy_hash = self.hasher.hash("not a password of anyone")
        #: Failures against names no account holds: [count, first failure, locked until].
        #: They lock like an account, so "locked" never tells that a name exists. In memory,
        #: per process, at most PHANTOM_NAMES names (the oldest dropped first).
        self._phantoms: OrderedDict[str, list] = OrderedDict()

    # Recording.
    def record(self, conn: Connection, ctx: Context, action: str, object_type: str,
               key: str, details: dict[str, Any], head: "ChainHead") -> None:
        """Append one event to the chain after ``head`` (from :meth:`writing`)."""
        change = audit.Change(action, object_type, key[:255],
                              {"source_address": ctx.source_address, **details})
        head.value = audit.append(conn, head.value,
                                  audit.Actor(ctx.actor[:255], ctx.batch_id, ctx.request_id),
                                  [change], self.algorithm, self.clock())

    def writing(self):
        """A transaction whose first statement takes the chain's lock (see audit.lock_head)."""
        return _Writing(self.engine)

    # Reading accounts.
    def users(self) -> list[User]:
        """Every account, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(identity_user).order_by(identity_user.c.username)).all()
            roles = self._roles(conn, [r.id for r in rows])
        return [self._user(row, roles.get(row.id, frozenset())) for row in rows]

    def user(self, username: str) -> User:
        """One account; PolicyError ``unknown_user`` if there is none."""
        with self.engine.connect() as conn:
            row = self._row(conn, username)
            return self._user(row, self._roles(conn, [row.id]).get(row.id, frozenset()))

    def user_by_id(self, user_id: int) -> User:
        """One account by id; PolicyError ``unknown_user`` if there is none."""
        with self.engine.connect() as conn:
            name = conn.execute(select(identity_user.c.username)
                                .where(identity_user.c.id == user_id)).scalar()
        if name is None:
            raise PolicyError("unknown_user", username=str(user_id))
        return self.user(name)

    def identity(self, conn: Connection, user_id: int) -> Identity | None:
        """The identity of an enabled account (None if disabled or gone)."""
        row = conn.execute(select(identity_user).where(identity_user.c.id == user_id)).first()
        if row is None or row.disabled:
            return None
        roles = self._roles(conn, [row.id]).get(row.id, frozenset())
        return Identity(row.id, row.username, roles, row.department,
                        display_name=row.display_name, zone=row.zone)

    def has_users(self) -> bool:
        """Whether any account exists (the first start prints how to create one if not)."""
        with self.engine.connect() as conn:
            return conn.execute(select(identity_user.c.id).limit(1)).first() is not None

    @staticmethod
    def _roles(conn: Connection, ids: list[int]) -> dict[int, frozenset[str]]:
        out: dict[int, set[str]] = {}
        if ids:
            for user_id, role in conn.execute(select(identity_role.c.user_id, identity_role.c.role)
                                              .where(identity_role.c.user_id.in_(ids))):
                out.setdefault(user_id, set()).add(role)
        return {k: frozenset(v) for k, v in out.items()}

    @staticmethod
    def _row(conn: Connection, username: str):
        row = conn.execute(select(identity_user)
                           .where(identity_user.c.username == username)).first()
        if row is None:
            raise PolicyError("unknown_user", username=username)
        return row

    @staticmethod
    def _user(row, roles: frozenset[str]) -> User:
        return User(row.id, row.username, row.display_name, row.source, row.department, roles,
                    row.disabled, row.locked_until, row.totp_secret is not None,
                    row.must_change_password, row.password_changed_at, row.last_login_at,
                    row.zone)

    # Accounts (system administrator).
    def create_user(self, ctx: Context, username: str, *, password: str | None = None,
                    display_name: str | None = None, must_change_password: bool = True,
                    source: str = "local", oidc_subject: str | None = None) -> int:
        """Create an account (no roles yet); returns its id."""
        if not USERNAME.match(username or ""):
            raise PolicyError("bad_username")
        if password is not None:
            self._check_password(password, username)
        now = self.clock()
        with self.writing() as (conn, head):
            if conn.execute(select(identity_user.c.id)
                            .where(identity_user.c.username == username)).first():
                raise PolicyError("user_exists", username=username)
            user_id = conn.execute(insert(identity_user).values(
                username=username, display_name=display_name, source=source,
                oidc_subject=oidc_subject,
                password_hash=None if password is None else self.hasher.hash(password),
                password_changed_at=None if password is None else now,
                must_change_password=must_change_password and password is not None,
                disabled=False, failed_logins=0, created_at=now)).inserted_primary_key[0]
            self.record(conn, ctx, "create", "user", username,
                        {"source": source, "display_name": display_name}, head)
        return user_id

    def set_disabled(self, ctx: Context, username: str, disabled: bool) -> None:
        """Disable (or enable again) an account; a disabled account's sessions end."""
        from ledger.identity.tables import identity_session
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            if disabled and not row.disabled and self._last_system_admin(conn, row.id):
                raise PolicyError("last_system_admin", username=username)
            conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                         .values(disabled=disabled))
            if disabled:
                conn.execute(delete(identity_session)
                             .where(identity_session.c.user_id == row.id))
            self.record(conn, ctx, "disable" if disabled else "enable", "user", username, {},
                        head)

    @staticmethod
    def _last_system_admin(conn: Connection, user_id: int) -> bool:
        """Whether ``user_id`` is the only enabled system administrator (nobody could
        manage accounts any more once it is disabled)."""
        holders = conn.execute(
            select(identity_user.c.id).join(identity_role,
                                            identity_role.c.user_id == identity_user.c.id)
            .where(identity_role.c.role == "system_admin",
                   identity_user.c.disabled.is_(False))).scalars().all()
        return list(holders) == [user_id]

    def bind_zone(self, ctx: Context, username: str, zone: str | None) -> None:
        """Tie a zone collector account (and so its API tokens) to one network zone: the
        center refuses its deliveries for any other zone. None unbinds (it then delivers
        for no zone)."""
        if zone is not None and (not zone.strip() or len(zone) > 64):
            raise PolicyError("bad_zone", zone=zone[:64])
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            if row.zone == zone:
                return
            conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                         .values(zone=zone))
            self.record(conn, ctx, "zone", "user", username, {"zone": [row.zone, zone]}, head)

    def set_password(self, ctx: Context, username: str, password: str, *,
                     must_change: bool = False, current: str | None = None) -> None:
        """Set a password (checked against the policy); ``current`` is verified if given."""
        self._check_password(password, username)
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            if current is not None and not self._verify(row.password_hash, current):
                raise PolicyError("bad_credentials")
            if row.password_hash and self._verify(row.password_hash, password):
                raise PolicyError("same_password")
            conn.execute(update(identity_user).where(identity_user.c.id == row.id).values(
                password_hash=self.hasher.hash(password), password_changed_at=self.clock(),
                must_change_password=must_change))
            self.record(conn, ctx, "password", "user", username,
                        {"must_change": must_change}, head)

    def _check_password(self, password: str, username: str) -> None:
        problems = self.policy.password_problems(password, username)
        if problems:
            raise PolicyError(problems[0][0], **problems[0][1])

    def password_expired(self, user: User) -> bool:
        """Whether a local account must change its password before going on."""
        if user.source != "local":
            return False
        if user.must_change_password or user.password_changed_at is None:
            return True
        age = (self.clock() - user.password_changed_at).total_seconds()
        return age > self.policy.password_max_age

    # Grants (security administrator).
    def grant(self, ctx: Context, username: str, roles: set[str] | frozenset[str],
              department: str | None) -> None:
        """Give ``username`` exactly ``roles`` within ``department`` (None: estate-wide)."""
        roles = frozenset(roles)
        check_grant(roles, department)
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            if department is not None:
                try:
                    Scope.for_department(conn, department)
                except ScopeError:
                    raise PolicyError("unknown_department", department=department) from None
            self._apply_grant(conn, ctx, row, roles, department, head)

    def _apply_grant(self, conn, ctx, row, roles, department, head) -> None:
        before = self._roles(conn, [row.id]).get(row.id, frozenset())
        if before == roles and row.department == department:
            return
        conn.execute(delete(identity_role).where(identity_role.c.user_id == row.id))
        now = self.clock()
        if roles:
            conn.execute(insert(identity_role), [
                {"user_id": row.id, "role": r, "granted_by": ctx.actor, "granted_at": now}
                for r in sorted(roles)])
        conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                     .values(department=department))
        self.record(conn, ctx, "grant", "user", row.username, {
            "roles": [sorted(before), sorted(roles)],
            "department": [row.department, department]}, head)

    def unlock(self, ctx: Context, username: str | None = None,
               address: str | None = None) -> None:
        """Clear an account's or an address's failed logins and lockout."""
        with self.writing() as (conn, head):
            if username is not None:
                row = self._row(conn, username)
                conn.execute(update(identity_user).where(identity_user.c.id == row.id).values(
                    failed_logins=0, first_failure_at=None, locked_until=None))
                self.record(conn, ctx, "unlock", "user", username, {}, head)
            if address is not None:
                conn.execute(delete(identity_address)
                             .where(identity_address.c.address == address))
                self.record(conn, ctx, "unlock", "address", address, {}, head)

    def locked_addresses(self) -> list[tuple[str, dt.datetime]]:
        """Source addresses locked out now, with when each lock ends."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(identity_address.c.address,
                                       identity_address.c.locked_until)
                                .where(identity_address.c.locked_until > self.clock())).all()
        return [(r.address, r.locked_until) for r in rows]

    # Passwords at login.
    def authenticate(self, ctx: Context, username: str, password: str) -> User:
        """Check a password with lockout per account and per source address.

        Every failure is recorded and counted before PolicyError is raised (``bad_credentials``,
        ``account_locked``, ``address_locked``, ``disabled``, ``no_roles``).
        """
        outcome: PolicyError | None = None
        with self.writing() as (conn, head):
            ctx.actor = username if USERNAME.match(username or "") else "anonymous"
            outcome, row = self._authenticate(conn, ctx, head, username, password)
            if outcome is None:
                conn.execute(update(identity_user).where(identity_user.c.id == row.id).values(
                    failed_logins=0, first_failure_at=None, locked_until=None))
                if self.hasher.check_needs_rehash(row.password_hash):
                    conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                                 .values(password_hash=self.hasher.hash(password)))
        if outcome is not None:
            raise outcome
        return self.user(username)

    def _authenticate(self, conn, ctx, head, username, password):
        now = self.clock()
        address = conn.execute(select(identity_address).where(
            identity_address.c.address == (ctx.source_address or "-"))).first()
        if address is not None and address.locked_until and address.locked_until > now:
            self.record(conn, ctx, "login_refused", "user", username,
                        {"reason": "address_locked"}, head)
            return self._locked("address_locked", address.locked_until), None
        row = conn.execute(select(identity_user)
                           .where(identity_user.c.username == username)).first()
        locked_until = row.locked_until if row is not None else \
            (self._phantoms.get(username) or [0, now, None])[2]
        if locked_until and locked_until > now:
            self.record(conn, ctx, "login_refused", "user", username,
                        {"reason": "account_locked"}, head)
            return self._locked("account_locked", locked_until), None
        if row is None or not row.password_hash:
            self._verify(self._dummy_hash, password)   # same time whether the name exists
            return self._failed(conn, ctx, head, username, None, now), None
        if not self._verify(row.password_hash, password):
            return self._failed(conn, ctx, head, username, row, now), None
        if row.disabled:
            self.record(conn, ctx, "login_refused", "user", username, {"reason": "disabled"},
                        head)
            return PolicyError("disabled"), None
        if not self._roles(conn, [row.id]).get(row.id):
            self.record(conn, ctx, "login_refused", "user", username, {"reason": "no_roles"},
                        head)
            return PolicyError("no_roles"), None
        self.record(conn, ctx, "password_ok", "user", username, {}, head)
        return None, row

    def _verify(self, hashed: str | None, password: str) -> bool:
        try:
            return bool(hashed) and self.hasher.verify(hashed, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def _locked(self, reason: str, until: dt.datetime) -> PolicyError:
        minutes = max(1, int((until - self.clock()).total_seconds() // 60) + 1)
        return PolicyError(reason, minutes=minutes)

    def _failed(self, conn, ctx, head, username, row, now, reason="bad_credentials"):
        """Count a failure against the address and (if known) the account; maybe lock."""
        policy, window = self.policy, dt.timedelta(seconds=self.policy.lockout_window)
        until = now + dt.timedelta(seconds=policy.lockout_period)
        self.record(conn, ctx, "login_failed", "user", username, {"reason": reason}, head)
        result = PolicyError(reason)
        address = ctx.source_address or "-"
        current = conn.execute(select(identity_address)
                               .where(identity_address.c.address == address)).first()
        if current is None or current.first_failure_at + window < now:
            conn.execute(delete(identity_address).where(identity_address.c.address == address))
            conn.execute(insert(identity_address).values(address=address, failures=1,
                                                         first_failure_at=now))
            failures = 1
        else:
            failures = current.failures + 1
            conn.execute(update(identity_address).where(identity_address.c.address == address)
                         .values(failures=failures))
        if failures >= policy.lockout_address_attempts:
            conn.execute(update(identity_address).where(identity_address.c.address == address)
                         .values(locked_until=until))
            self.record(conn, ctx, "lockout", "address", address, {"failures": failures}, head)
            result = self._locked("address_locked", until)
        if row is None:   # an unknown name locks exactly as an account would
            phantom = self._phantoms.pop(username, None)
            if phantom is None or phantom[1] + window < now:
                phantom = [0, now, None]
            phantom[0] += 1
            if phantom[0] >= policy.lockout_attempts:
                phantom[2] = until
                result = self._locked("account_locked", until)
            self._phantoms[username] = phantom
            while len(self._phantoms) > PHANTOM_NAMES:
                self._phantoms.popitem(last=False)
        else:
            fresh = row.first_failure_at is None or row.first_failure_at + window < now
            count = 1 if fresh else row.failed_logins + 1
            values: dict[str, Any] = {"failed_logins": count}
            if fresh:
                values["first_failure_at"] = now
            if count >= policy.lockout_attempts:
                values["locked_until"] = until
                self.record(conn, ctx, "lockout", "user", username, {"failures": count}, head)
                result = self._locked("account_locked", until)
            conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                         .values(**values))
        return result

    def login_completed(self, ctx: Context, username: str, method: str) -> None:
        """Record a completed login (password, second factor and any password change done)."""
        with self.writing() as (conn, head):
            conn.execute(update(identity_user).where(identity_user.c.username == username)
                         .values(last_login_at=self.clock()))
            self.record(conn, ctx, "login", "user", username, {"method": method}, head)

    def record_event(self, ctx: Context, action: str, object_type: str, key: str,
                     **details) -> None:
        """Append one event (logout, session expiry, refused token...) to the chain."""
        with self.writing() as (conn, head):
            self.record(conn, ctx, action, object_type, key, details, head)

    # Second factor (TOTP, RFC 6238).
    def new_totp_secret(self) -> str:
        """A fresh base32 TOTP seed (160 bits)."""
        return pyotp.random_base32(32)

    def totp_uri(self, username: str, secret: str) -> str:
        """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)

    def enroll_totp(self, ctx: Context, username: str, secret: str, code: str) -> None:
        """Keep ``secret`` as the account's second factor once ``code`` proves it was set up."""
        self._need_box()
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            step = self._matching_step(secret, code, None)
            if step is None:
                outcome = self._failed(conn, ctx, head, username, row, self.clock(), "bad_totp")
            else:
                conn.execute(update(identity_user).where(identity_user.c.id == row.id).values(
                    totp_secret=self.box.seal(secret), totp_last_step=step))
                self.record(conn, ctx, "totp_enroll", "user", username, {}, head)
                outcome = None
        if outcome is not None:
            raise outcome

    def set_totp_secret(self, ctx: Context, username: str, secret: str) -> None:
        """Set a seed directly (the command line, which shows it to the account's holder)."""
        self._need_box()
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                         .values(totp_secret=self.box.seal(secret), totp_last_step=None))
            self.record(conn, ctx, "totp_enroll", "user", username, {}, head)

    def reset_totp(self, ctx: Context, username: str) -> None:
        """Forget an account's second factor: it enrols a new one at its next login."""
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                         .values(totp_secret=None, totp_last_step=None))
            self.record(conn, ctx, "totp_reset", "user", username, {}, head)

    def verify_totp(self, ctx: Context, username: str, code: str) -> None:
        """Check a one-time code (a used code is refused); failures count toward lockout."""
        self._need_box()
        with self.writing() as (conn, head):
            row = self._row(conn, username)
            now = self.clock()
            if row.locked_until and row.locked_until > now:
                outcome = self._locked("account_locked", row.locked_until)
                self.record(conn, ctx, "login_refused", "user", username,
                            {"reason": "account_locked"}, head)
            else:
                step = None if row.totp_secret is None else self._matching_step(
                    self.box.open(row.totp_secret), code, row.totp_last_step)
                if step is None:
                    outcome = self._failed(conn, ctx, head, username, row, now, "bad_totp")
                else:
                    outcome = None
                    conn.execute(update(identity_user).where(identity_user.c.id == row.id)
                                 .values(totp_last_step=step, failed_logins=0,
                                         first_failure_at=None))
        if outcome is not None:
            raise outcome

    def _matching_step(self, secret: str, code: str, last_step: int | None) -> int | None:
        """The time step (±1 for clock drift) whose code is ``code``, if not used before."""
        code = (code or "").strip().replace(" ", "")
        totp = pyotp.TOTP(secret)
        now = int(self.clock().timestamp()) // TOTP_STEP
        for step in (now - 1, now, now + 1):
            if last_step is not None and step <= last_step:
                continue
            if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
                return step
        return None

    def _need_box(self) -> None:
        if self.box is None:
            raise RuntimeError("no key to seal second-factor seeds (security.key_file)")

    # Single sign-on.
    def oidc_user(self, ctx: Context, subject: str, username: str, roles: frozenset[str],
                  department: str | None, display_name: str | None) -> User:
        """The account of an OpenID Connect subject, created at its first login; its roles
        and department follow the identity provider's claims at every login (a change is
        a recorded grant)."""
        check_grant(roles, department)
        with self.writing() as (conn, head):
            row = conn.execute(select(identity_user)
                               .where(identity_user.c.oidc_subject == subject)).first()
            if row is None:
                if not USERNAME.match(username or ""):
                    raise PolicyError("bad_username")
                if conn.execute(select(identity_user.c.id)
                                .where(identity_user.c.username == username)).first():
                    raise PolicyError("user_exists", username=username)
                conn.execute(insert(identity_user).values(
                    username=username, display_name=display_name, source="oidc",
                    oidc_subject=subject, must_change_password=False, disabled=False,
                    failed_logins=0, created_at=self.clock()))
                self.record(conn, ctx, "create", "user", username, {"source": "oidc"}, head)
                row = self._row(conn, username)
            if department is not None:
                try:
                    Scope.for_department(conn, department)
                except ScopeError:
                    raise PolicyError("unknown_department", department=department) from None
            self._apply_grant(conn, ctx, row, roles, department, head)
        if row.disabled:
            raise PolicyError("disabled")
        if not roles:
            raise PolicyError("no_roles")
        return self.user(row.username)

    def needs_totp(self, user: User) -> bool:
        """Whether this account must pass a second factor (its roles, or it enrolled one)."""
        return user.totp or any(r in self.policy.totp_roles for r in user.roles)

    @staticmethod
    def role_labels(language: str) -> dict[str, str]:
        """Role keys to their names in ``language``."""
        return {key: role.label(language) for key, role in ROLES.items()}


class ChainHead:
    """The audit chain's head within one writing transaction, advanced by each record."""

    def __init__(self, value: tuple[int, str]) -> None:
        self.value = value


class _Writing:
    """``with`` block: a transaction that first takes the audit chain's lock."""

    def __init__(self, engine: Engine) -> None:
        self._begin = engine.begin()

    def __enter__(self):
        conn = self._begin.__enter__()
        try:
            return conn, ChainHead(audit.lock_head(conn))
        except BaseException as exc:
            self._begin.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def __exit__(self, *exc):
        return self._begin.__exit__(*exc)
