"""One demo account per audience, with generated passwords (demo data only).

Every run gives each account a new random password (the old one is never kept anywhere)
and each administrator a new second-factor key, so the printed list is always the valid
one. Accounts are created and changed through the identity service, so each change is in
the audit chain like any other.
"""

from __future__ import annotations

import dataclasses
import secrets
import string

from ledger.identity.crypto import SecretBox, load_or_create_key
from ledger.identity.policy import PolicyError
from ledger.identity.service import Context, IdentityService

CTX = Context("demo", "127.0.0.1")
#: username -> (role, department, label zh, label en)
ACCOUNTS = {
    "demo-officer": ("data_officer", "D02", "部门数据专员（公安厅及下属部门）",
                     "department data officer (police and its sub-departments)"),
    "demo-operator": ("operator", None, "运维人员", "operator"),
    "demo-finance": ("finance", None, "财务审计人员", "finance / audit"),
    "demo-leader": ("leader", None, "领导", "leadership"),
    "demo-sysadmin": ("system_admin", None, "系统管理员", "system administrator"),
    "demo-secadmin": ("security_admin", None, "安全管理员", "security administrator"),
    "demo-auditor": ("audit_admin", None, "审计管理员", "audit administrator"),
}


@dataclasses.dataclass(frozen=True)
class Account:
    """A demo account as printed at start."""

    username: str
    role: str
    department: str | None
    password: str
    totp_secret: str | None
    label_zh: str
    label_en: str


def new_password() -> str:
    """A random password meeting the policy: 20 characters, four kinds of character."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{body}-{secrets.choice(string.ascii_uppercase)}{secrets.choice('abcdefghjk')}" \
        f"{secrets.randbelow(10)}"


def identity_service(engine, settings, hasher=None) -> IdentityService:
    """The identity service on the demo's ledger, as the web app builds it."""
    options = {"hasher": hasher} if hasher is not None else {}
    return IdentityService(engine, policy=settings.security.policy, algorithm=settings.audit_chain,
                           box=SecretBox(load_or_create_key(settings.security.key_file)),
                           **options)


def ensure_accounts(identity: IdentityService) -> list[Account]:
    """Create (or refresh) every demo account; return them with their new secrets."""
    out = []
    for username, (role, department, zh, en) in ACCOUNTS.items():
        password = new_password()
        try:
            identity.user(username)
        except PolicyError:
            identity.create_user(CTX, username, password=password, display_name=f"{zh}（演示）",
                                 must_change_password=False)
        else:
            identity.set_password(CTX, username, password)
            identity.set_disabled(CTX, username, False)
            identity.unlock(CTX, username=username)
        identity.grant(CTX, username, {role}, department)
        secret = None
        if identity.needs_totp(identity.user(username)):
            secret = identity.new_totp_secret()
            identity.set_totp_secret(CTX, username, secret)
        out.append(Account(username, role, department, password, secret, zh, en))
    return out
