"""The ``security:`` section of the configuration: hosts, cookies, policy, /metrics, OIDC.

Kept apart from :mod:`monitor.config` (which calls :func:`parse_security`) so the identity
settings live in one place. Every key is documented in ``config/example.yaml``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ledger.identity.policy import SecurityPolicy
from ledger.identity.roles import ROLES
from monitor.units import parse_size

OPEN_MODES = ("open", "loopback", "token")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclasses.dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect provider for single sign-on (统一身份认证)."""

    issuer: str
    client_id: str
    client_secret_env: str = "INFRA_LEDGER_OIDC_SECRET"
    scopes: tuple[str, ...] = ("openid", "profile")
    username_claim: str = "preferred_username"
    display_name_claim: str = "name"
    roles_claim: str = "roles"
    role_map: dict[str, str] = dataclasses.field(default_factory=dict)
    department_claim: str = "department"
    label: str = "统一身份认证"
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True)
class SecuritySettings:
    """Validated ``security:`` settings."""

    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    key_file: Path | None = None
    cookie_secure: str = "auto"              # auto | always | never
    metrics: str = "loopback"
    healthz: str = "loopback"
    max_body: int = 1024 * 1024
    import_max_body: int = 64 * 1024 * 1024
    import_max_json: int = 16 * 1024 * 1024   # JSON rows posted to the import
    proxy_hops: int = 0                      # reverse proxies in front (X-Forwarded-*)
    policy: SecurityPolicy = dataclasses.field(default_factory=SecurityPolicy)
    oidc: OidcSettings | None = None


def parse_security(reader, root: Path, web_host: str) -> SecuritySettings:
    """Validate ``security:`` (``reader`` is monitor.config's reader of that mapping)."""
    reader.check_known({"allowed_hosts", "key_file", "cookie_secure", "metrics", "healthz",
                        "max_body", "import_max_body", "import_max_json", "password",
                        "lockout", "session", "tokens", "totp_roles", "oidc", "proxy_hops"})
    hosts = reader.get("allowed_hosts", list)
    if hosts is None:
        hosts = list(LOOPBACK_NAMES) + ([web_host] if web_host not in ("0.0.0.0", "::") else [])
    if not all(isinstance(h, str) and h for h in hosts):
        _fail(reader, "allowed_hosts", "expected a list of host names")
    key_file = reader.get("key_file", str)
    return SecuritySettings(
        allowed_hosts=tuple(dict.fromkeys(h.lower().strip("[]") for h in hosts)),
        key_file=Path(key_file).expanduser() if key_file else root / "secret.key",
        cookie_secure=_one_of(reader, "cookie_secure", ("auto", "always", "never"), "auto"),
        metrics=_one_of(reader, "metrics", OPEN_MODES, "loopback"),
        healthz=_one_of(reader, "healthz", OPEN_MODES, "loopback"),
        max_body=_size(reader, "max_body", "1MiB"),
        import_max_body=_size(reader, "import_max_body", "64MiB"),
        import_max_json=_size(reader, "import_max_json", "16MiB"),
        proxy_hops=_int(reader, "proxy_hops", 0, 0, 5),
        policy=_policy(reader),
        oidc=_oidc(reader.child("oidc")) if reader.data.get("oidc") else None)


def _policy(reader) -> SecurityPolicy:
    password, lockout = reader.child("password"), reader.child("lockout")
    session, tokens = reader.child("session"), reader.child("tokens")
    password.check_known({"min_length", "min_classes", "max_age"})
    lockout.check_known({"attempts", "address_attempts", "window", "period"})
    session.check_known({"idle", "absolute"})
    tokens.check_known({"max_age", "use_record_interval"})
    base = SecurityPolicy()
    totp_roles = reader.get("totp_roles", list, list(base.totp_roles))
    unknown = [r for r in totp_roles if r not in ROLES]
    if unknown:
        _fail(reader, "totp_roles", f"unknown roles {unknown}; known: {', '.join(ROLES)}")
    missing = [r for r in base.totp_roles if r not in totp_roles]
    if missing:
        _fail(reader, "totp_roles", f"the administrators {missing} always need a second factor")
    return SecurityPolicy(
        password_min_length=_int(password, "min_length", base.password_min_length, 8),
        password_min_classes=_int(password, "min_classes", base.password_min_classes, 2, 4),
        password_max_age=password.duration("max_age", base.password_max_age),
        lockout_attempts=_int(lockout, "attempts", base.lockout_attempts, 1, 10),
        lockout_address_attempts=_int(lockout, "address_attempts",
                                      base.lockout_address_attempts, 1),
        lockout_window=lockout.duration("window", base.lockout_window),
        lockout_period=lockout.duration("period", base.lockout_period),
        session_idle=session.duration("idle", base.session_idle),
        session_absolute=session.duration("absolute", base.session_absolute),
        token_max_age=tokens.duration("max_age", base.token_max_age),
        token_use_record_interval=tokens.duration("use_record_interval",
                                                  base.token_use_record_interval),
        totp_roles=tuple(totp_roles))


def _oidc(reader) -> OidcSettings:
    reader.check_known({"issuer", "client_id", "client_secret_env", "scopes", "username_claim",
                        "display_name_claim", "roles_claim", "role_map", "department_claim",
                        "label", "timeout"})
    issuer, client_id = reader.get("issuer", str), reader.get("client_id", str)
    if not issuer or not client_id:
        _fail(reader, "issuer" if not issuer else "client_id", "required for single sign-on")
    role_map = reader.get("role_map", dict, {})
    bad = {k: v for k, v in role_map.items() if v not in ROLES}
    if bad:
        _fail(reader, "role_map", f"unknown roles {bad}; known: {', '.join(ROLES)}")
    base = OidcSettings(issuer, client_id)
    return OidcSettings(
        issuer=issuer.rstrip("/"), client_id=client_id,
        client_secret_env=reader.get("client_secret_env", str, base.client_secret_env),
        scopes=tuple(reader.get("scopes", list, list(base.scopes))),
        username_claim=reader.get("username_claim", str, base.username_claim),
        display_name_claim=reader.get("display_name_claim", str, base.display_name_claim),
        roles_claim=reader.get("roles_claim", str, base.roles_claim),
        role_map={str(k): v for k, v in role_map.items()},
        department_claim=reader.get("department_claim", str, base.department_claim),
        label=reader.get("label", str, base.label),
        timeout=reader.duration("timeout", base.timeout))


def _one_of(reader, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = reader.get(name, str, default)
    if value not in allowed:
        _fail(reader, name, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _int(reader, name: str, default: int, low: int, high: int | None = None) -> int:
    value = reader.get(name, int, default)
    if value < low or (high is not None and value > high):
        _fail(reader, name, f"must be {low}..{high}" if high else f"must be at least {low}")
    return value


def _size(reader, name: str, default: str) -> int:
    try:
        return parse_size(reader.data.get(name, default))
    except ValueError as exc:
        _fail(reader, name, str(exc))


def _fail(reader, name: str, reason: str) -> Any:
    from monitor.config import ConfigError
    raise ConfigError(reader.file, reader.key(name), reason)
