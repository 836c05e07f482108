"""Tables of users, role grants, sessions, API tokens and address lockouts.

Change only together with a migration (``ledger/migrations/versions/0004_identity.py``).
Secrets are never stored as given: passwords as argon2id hashes, session cookies and API
tokens as SHA-256 of 256-bit random values, TOTP seeds encrypted (Fernet) with the key in
the data directory. Login records are not here: they are in the audit chain.
"""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer,
                        PrimaryKeyConstraint, String, Table, Text)

from ledger.models import Base, UTCDateTime

identity_user = Table(
    "identity_user", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(255)),
    Column("source", String(16), nullable=False),           # local | oidc
    Column("oidc_subject", String(255), unique=True),       # issuer + " " + sub
    Column("password_hash", String(255)),
    Column("password_changed_at", UTCDateTime),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("totp_secret", Text),                            # Fernet token of the seed
    Column("totp_last_step", BigInteger),                   # refuses a replayed code
    Column("department", String(64)),                       # census department code
    Column("zone", String(64)),                             # a zone collector's one zone
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("first_failure_at", UTCDateTime),
    Column("locked_until", UTCDateTime),
    Column("last_login_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

identity_role = Table(
    "identity_role", Base.metadata,
    Column("user_id", Integer, ForeignKey("identity_user.id", ondelete="CASCADE"),
           nullable=False),
    Column("role", String(32), nullable=False),
    Column("granted_by", String(255), nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "role"),
)

identity_session = Table(
    "identity_session", Base.metadata,
    Column("id", String(64), primary_key=True),             # SHA-256 of the cookie value
    Column("user_id", Integer, ForeignKey("identity_user.id", ondelete="CASCADE")),
    Column("stage", String(16), nullable=False),            # see IdentityService.STAGES
    Column("csrf", String(64), nullable=False),
    Column("source_address", String(64)),
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_identity_session_user", "user_id"),
)

identity_token = Table(
    "identity_token", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),            # shown in lists, not secret
    Column("name", String(128), nullable=False),
    Column("user_id", Integer, ForeignKey("identity_user.id", ondelete="CASCADE"),
           nullable=False),
    Column("roles", JSON, nullable=False),
    Column("department", String(64)),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Column("last_recorded_at", UTCDateTime),
    Column("last_address", String(64)),
    Index("ix_identity_token_user", "user_id"),
)

identity_address = Table(
    "identity_address", Base.metadata,
    Column("address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failure_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
)

__all__ = ["identity_user", "identity_role", "identity_session", "identity_token",
           "identity_address"]
