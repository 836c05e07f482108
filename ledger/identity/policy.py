"""Security policy: password rules, lockout, session lifetimes, and their messages.

The defaults follow GB/T 22239-2019 third grade practice (身份鉴别, 8.1.4.1): passwords of
at least 12 characters from three of four classes, changed every 90 days; five failures
lock an account, twenty lock a source address, each for 30 minutes; a session ends after
30 minutes idle and 8 hours in all. ``monitor.config`` reads them from ``security:``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

MESSAGES: dict[str, tuple[str, str]] = {
    "too_short": ("口令至少 {n} 个字符", "the password needs at least {n} characters"),
    "too_simple": ("口令须包含大写字母、小写字母、数字、符号中的至少 {n} 类",
                   "the password needs at least {n} of: upper case, lower case, digits, "
                   "symbols"),
    "contains_username": ("口令不能包含用户名", "the password must not contain the user name"),
    "same_password": ("新口令不能与当前口令相同",
                      "the new password must differ from the current one"),
    "bad_credentials": ("用户名或口令错误", "wrong user name or password"),
    "account_locked": ("登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系安全管理员",
                       "too many failed logins: the account is locked; try again in {minutes} "
                       "minutes or ask the security administrator"),
    "address_locked": ("该地址登录失败次数过多，已暂时禁止登录，请 {minutes} 分钟后再试",
                       "too many failed logins from this address; try again in {minutes} "
                       "minutes"),
    "disabled": ("账户已停用", "the account is disabled"),
    "no_roles": ("账户尚未授予角色，请联系安全管理员",
                 "the account has no role yet; ask the security administrator"),
    "bad_totp": ("动态口令错误", "wrong one-time code"),
    "unknown_role": ("未知角色：{role}", "unknown role: {role}"),
    "two_admin_roles": ("三员分立：一个账户不能同时担任 {role}",
                        "separation of duties: one account cannot hold {role}"),
    "admin_alone": ("三员分立：{role} 不能兼任其他角色",
                    "separation of duties: {role} cannot hold another role"),
    "department_required": ("角色 {role} 必须指定部门", "role {role} needs a department"),
    "department_refused": ("角色 {role} 面向全局，不能指定部门",
                           "role {role} is estate-wide and takes no department"),
    "unknown_department": ("部门 {department} 不存在", "no department {department}"),
    "disable_self": ("不能停用自己的账户", "you cannot disable your own account"),
    "last_system_admin": ("{username} 是唯一启用的系统管理员，不能停用",
                          "{username} is the only enabled system administrator"),
    "zone_required": ("分区采集器账户须用 --zone 指定所属分区",
                      "a zone_collector account needs --zone (the one zone it delivers for)"),
    "zone_refused": ("只有分区采集器账户绑定分区", "only a zone_collector account takes --zone"),
    "bad_zone": ("分区名无效：{zone}", "invalid zone name: {zone}"),
    "unknown_user": ("用户 {username} 不存在", "no user {username}"),
    "user_exists": ("用户 {username} 已存在", "user {username} already exists"),
    "bad_username": ("用户名须为 2-64 个字母、数字或 . _ - @",
                     "a user name is 2-64 letters, digits or . _ - @"),
    "token_roles": ("令牌只能携带本账户拥有的业务角色：{role}",
                    "a token carries only business roles its owner holds: {role}"),
    "token_expiry": ("令牌有效期须在 1 天到 {days} 天之间",
                     "a token must expire within 1 to {days} days"),
    "unknown_token": ("令牌不存在", "no such token"),
    "token_department": ("令牌的部门须在本账户部门范围内",
                         "a token's department must lie within its owner's"),
}


def message(key: str, language: str = "zh", **params) -> str:
    """The message ``key`` in ``language`` with ``params`` filled in."""
    zh, en = MESSAGES.get(key, (key, key))
    return (zh if language == "zh" else en).format(**params)


@dataclass(frozen=True)
class SecurityPolicy:
    """Every tunable of identity and sessions (seconds for durations)."""

    password_min_length: int = 12
    password_min_classes: int = 3
    password_max_age: float = 90 * 86400.0
    lockout_attempts: int = 5
    lockout_address_attempts: int = 20
    lockout_window: float = 15 * 60.0
    lockout_period: float = 30 * 60.0
    session_idle: float = 30 * 60.0
    session_absolute: float = 8 * 3600.0
    token_max_age: float = 365 * 86400.0
    token_use_record_interval: float = 60.0
    totp_roles: tuple[str, ...] = ("system_admin", "security_admin", "audit_admin")

    def password_problems(self, password: str, username: str) -> list[tuple[str, dict]]:
        """What is wrong with ``password`` as a new password of ``username`` (empty: fine)."""
        problems: list[tuple[str, dict]] = []
        if len(password) < self.password_min_length:
            problems.append(("too_short", {"n": self.password_min_length}))
        classes = sum(any(c in group for c in password) for group in (
            string.ascii_uppercase, string.ascii_lowercase, string.digits))
        classes += any(not c.isalnum() for c in password)
        if classes < self.password_min_classes:
            problems.append(("too_simple", {"n": self.password_min_classes}))
        if username and len(username) >= 3 and username.lower() in password.lower():
            problems.append(("contains_username", {}))
        return problems


class PolicyError(ValueError):
    """A request the policy refuses: ``reason`` is a message key, ``params`` its values."""

    def __init__(self, reason: str, **params) -> None:
        super().__init__(message(reason, "en", **params))
        self.reason, self.params = reason, params

    def text(self, language: str) -> str:
        """The refusal in ``language``."""
        return message(self.reason, language, **self.params)
