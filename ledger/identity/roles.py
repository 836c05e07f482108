"""Roles and permissions: one description drives grants, checks, pages and the README.

Administration is split three ways (三员分立): the system administrator (targets,
configuration, accounts' existence), the security administrator (roles, departments,
lockouts, tokens) and the audit administrator (reads the change log and login records,
verifies the chain, changes nothing). No account holds two of them. Business roles:
operator, census coordinator (the lead office of the census: regions, top-level
departments, the whole ledger), department data officer, finance/audit and leadership.

A role's ``department`` rule says whether an account holding it must have a department
(``required``), may have one (``optional``: it then sees that subtree only) or must not
(``never``: estate-wide duties such as targets, which no department owns yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.identity.policy import PolicyError

# Permissions. Routes declare them (dashboards.access.requires); a role holds a set.
SELF = "self"                    # one's own account: password, second factor, API tokens
READ = "read"                    # default for GET on a route that declares nothing
WRITE = "write"                  # default for POST/PUT/PATCH/DELETE on such a route
TARGETS_READ = "targets.read"
METRICS_READ = "metrics.read"
CENSUS_READ = "census.read"
CENSUS_WRITE = "census.write"
FINDINGS_READ = "findings.read"
REPORTS_READ = "reports.read"
OVERVIEW_READ = "overview.read"
USERS_READ = "users.read"
USERS_MANAGE = "users.manage"    # create, disable, enable accounts; set initial passwords
GRANTS_MANAGE = "grants.manage"  # roles and departments, reset second factors
LOCKS_MANAGE = "locks.manage"    # clear account and address lockouts
TOKENS_MANAGE = "tokens.manage"  # revoke anyone's API token
AUDIT_READ = "audit.read"        # change log, login records, chain verification
ZONES_INGEST = "zones.ingest"    # a zone collector delivers poll outcomes and facts
ALERTS_READ = "alerts.read"      # alert lists and pages (without targets.read: ledger events)
ALERTS_MANAGE = "alerts.manage"  # silences; test notifications
RECONCILE_RUN = "reconcile.run"  # run reconciliation over the whole ledger (estate-wide)

PERMISSIONS = (SELF, READ, WRITE, TARGETS_READ, METRICS_READ, CENSUS_READ, CENSUS_WRITE,
               FINDINGS_READ, REPORTS_READ, OVERVIEW_READ, USERS_READ, USERS_MANAGE,
               GRANTS_MANAGE, LOCKS_MANAGE, TOKENS_MANAGE, AUDIT_READ, ALERTS_READ,
               ALERTS_MANAGE, ZONES_INGEST, RECONCILE_RUN)


@dataclass(frozen=True)
class Role:
    """One role: labels, permissions and the rules of holding it."""

    key: str
    zh: str
    en: str
    permissions: frozenset[str]
    department: str = "never"      # required | optional | never
    admin: bool = False            # one of the three administrators (三员)
    privileged: bool = False       # a second factor (TOTP) is mandatory
    token: bool = True             # may be carried by an API token

    def label(self, language: str) -> str:
        """The role's name in ``language``."""
        return self.zh if language == "zh" else self.en


def _role(key, zh, en, permissions, *, own_account: bool = True, **rules) -> Role:
    """A role; every role of a person manages its own account and tokens (``SELF``), a
    machine's role does not (a stolen zone token must not mint further tokens)."""
    return Role(key, zh, en, frozenset(permissions) | ({SELF} if own_account else set()),
                **rules)


ROLES: dict[str, Role] = {r.key: r for r in (
    _role("system_admin", "系统管理员", "System administrator",
          {READ, WRITE, TARGETS_READ, METRICS_READ, USERS_READ, USERS_MANAGE},
          admin=True, privileged=True, token=False),
    _role("security_admin", "安全管理员", "Security administrator",
          {READ, USERS_READ, GRANTS_MANAGE, LOCKS_MANAGE, TOKENS_MANAGE},
          admin=True, privileged=True, token=False),
    _role("audit_admin", "审计管理员", "Audit administrator", {READ, AUDIT_READ},
          admin=True, privileged=True, token=False),
    _role("operator", "运维人员", "Operator", {READ, WRITE, TARGETS_READ, METRICS_READ,
                                              ALERTS_READ, ALERTS_MANAGE, RECONCILE_RUN}),
    _role("census_admin", "普查管理员", "Census coordinator",
          {READ, WRITE, CENSUS_READ, CENSUS_WRITE, FINDINGS_READ, OVERVIEW_READ, ALERTS_READ,
           RECONCILE_RUN}),
    _role("data_officer", "部门数据管理员", "Department data officer",
          {READ, WRITE, CENSUS_READ, CENSUS_WRITE, FINDINGS_READ, OVERVIEW_READ, ALERTS_READ},
          department="required"),
    _role("finance", "财务审计人员", "Finance / audit",
          {READ, CENSUS_READ, FINDINGS_READ, REPORTS_READ, OVERVIEW_READ},
          department="optional"),
    _role("leader", "领导", "Leadership", {READ, OVERVIEW_READ, REPORTS_READ},
          department="optional"),
    # A service account for the schedulers of one network zone: its API token delivers
    # their polls and facts (estate-wide, since targets belong to no department yet).
    _role("zone_collector", "分区采集器", "Zone collector", {ZONES_INGEST}, own_account=False),
)}

ADMIN_ROLES = frozenset(key for key, role in ROLES.items() if role.admin)


def check_grant(roles: set[str] | frozenset[str], department: str | None) -> None:
    """Raise :class:`PolicyError` unless one account may hold ``roles`` in ``department``."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise PolicyError("unknown_role", role=", ".join(unknown))
    admins = sorted(set(roles) & ADMIN_ROLES)
    if len(admins) > 1:
        raise PolicyError("two_admin_roles", role=", ".join(admins))
    if admins and len(roles) > 1:
        raise PolicyError("admin_alone", role=admins[0])
    for key in sorted(roles):
        rule = ROLES[key].department
        if rule == "required" and not department:
            raise PolicyError("department_required", role=key)
        if rule == "never" and department:
            raise PolicyError("department_refused", role=key)


def permissions_of(roles) -> frozenset[str]:
    """Every permission the roles give together."""
    out: set[str] = set()
    for key in roles:
        role = ROLES.get(key)
        if role is not None:
            out |= role.permissions
    return frozenset(out)


def is_privileged(roles) -> bool:
    """Whether any of ``roles`` needs a second factor."""
    return any(ROLES[key].privileged for key in roles if key in ROLES)
