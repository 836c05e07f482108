"""Account administration, split as 三员分立 asks.

- System administrator (``users.manage``): create accounts (with an initial password the
  holder must change), disable and enable them.
- Security administrator (``grants.manage``, ``locks.manage``, ``tokens.manage``): roles and
  department of each account, second-factor resets, lockouts, revoking anyone's API token.
- Both see the account list (``users.read``); neither sees census data or the audit log.

Every change is recorded in the audit chain by :class:`ledger.identity.service.IdentityService`.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from dashboards.access import body_limit, caller_scope, requires, services
from dashboards.i18n import current_language, translate
from ledger.identity.policy import PolicyError
from ledger.identity.roles import (GRANTS_MANAGE, LOCKS_MANAGE, ROLES, TOKENS_MANAGE, USERS_MANAGE,
                                   USERS_READ)

bp = Blueprint("admin", __name__, url_prefix="/admin")
FORM_LIMIT = 16 * 1024


@bp.get("/users")
@requires(USERS_READ)
def users(error: str | None = None, status: int = 200):
    """Every account with its roles, department, second factor and lockout."""
    identity = caller_scope().identity
    return render_template(
        "admin_users.html", users=services().identity.users(), roles=list(ROLES.values()),
        tokens=services().sessions.tokens() if identity.can(TOKENS_MANAGE) else [],
        addresses=services().identity.locked_addresses() if identity.can(LOCKS_MANAGE) else [],
        now=services().identity.clock(), error=error,
        can=identity.can), status


def _done(action):
    """Run ``action(context)``; the list again, with the refusal if there was one."""
    scope = caller_scope()
    try:
        action(scope.context())
    except PolicyError as exc:
        return users(error=exc.text(current_language()), status=400)
    return redirect(url_for("admin.users"))


@bp.post("/users")
@requires(USERS_MANAGE)
@body_limit(FORM_LIMIT)
def create_user():
    """Create an account with an initial password (to be changed at first login)."""
    form = request.form
    if form.get("password", "") != form.get("repeat_password", ""):
        return users(error=translate("passwords_differ"), status=400)
    return _done(lambda ctx: services().identity.create_user(
        ctx, form.get("username", "").strip(), password=form.get("password", ""),
        display_name=form.get("display_name") or None, must_change_password=True))


@bp.post("/users/<username>/disable")
@requires(USERS_MANAGE)
@body_limit(FORM_LIMIT)
def disable_user(username: str):
    """Disable an account (its sessions end) or, with ``enable=1``, enable it again."""
    enable = request.form.get("enable") == "1"
    if not enable and username == caller_scope().identity.username:
        return users(error=PolicyError("disable_self").text(current_language()), status=400)
    return _done(lambda ctx: services().identity.set_disabled(ctx, username, not enable))


@bp.post("/users/<username>/grant")
@requires(GRANTS_MANAGE)
@body_limit(FORM_LIMIT)
def grant(username: str):
    """Set an account's roles and department (三员分立 and department rules are checked)."""
    roles = set(request.form.getlist("roles"))
    department = request.form.get("department", "").strip() or None
    return _done(lambda ctx: services().identity.grant(ctx, username, roles, department))


@bp.post("/users/<username>/unlock")
@requires(LOCKS_MANAGE)
@body_limit(FORM_LIMIT)
def unlock(username: str):
    """Clear an account's failed logins and lockout."""
    return _done(lambda ctx: services().identity.unlock(ctx, username=username))


@bp.post("/addresses/unlock")
@requires(LOCKS_MANAGE)
@body_limit(FORM_LIMIT)
def unlock_address():
    """Clear a source address's lockout."""
    address = request.form.get("address", "")
    return _done(lambda ctx: services().identity.unlock(ctx, address=address))


@bp.post("/users/<username>/reset-totp")
@requires(GRANTS_MANAGE)
@body_limit(FORM_LIMIT)
def reset_totp(username: str):
    """Forget an account's second factor (lost phone): it enrols anew at the next login."""
    return _done(lambda ctx: services().identity.reset_totp(ctx, username))


@bp.post("/tokens/<int:token_id>/revoke")
@requires(TOKENS_MANAGE)
@body_limit(FORM_LIMIT)
def revoke_token(token_id: int):
    """Revoke any account's API token."""
    return _done(lambda ctx: services().sessions.revoke_token(ctx, token_id))
