"""Login, second factor, password change, logout, single sign-on and the account page.

A login walks through stages kept in the server-side session (``ledger.identity.sessions``):
password (or the OpenID Connect provider) → second factor (``totp``, or ``enroll`` the
first time for a privileged role) → ``password`` when the password must be changed →
``active``. Each step issues a new cookie. The login form carries a double-submit token
(``il_login`` cookie, SameSite=Strict) so another site cannot log a browser in.
"""

from __future__ import annotations

import os
import secrets

import segno
from flask import (Blueprint, Response, abort, current_app, g, redirect, render_template, request,
                   url_for)

from dashboards.access import (SESSION_COOKIE, body_limit, caller_scope, current_identity,
                               is_loopback, public, refuse, requires, same_secret, services,
                               source_address)
from dashboards.i18n import current_language, translate
from dashboards.oidc import OidcClient, OidcError, map_claims
from dashboards.resources import get_settings
from ledger.identity.policy import PolicyError
from ledger.identity.roles import ROLES, SELF
from ledger.identity.service import Context
from ledger.identity.sessions import Session

bp = Blueprint("auth", __name__)
LOGIN_COOKIE = "il_login"
FORM_LIMIT = 16 * 1024
OIDC_EXTENSION = "infra_ledger_oidc"


# The session behind the cookie (called by dashboards.access for every request).
def load_session():
    """Set ``g.session``; return the identity of an active session, else None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session, ended = services().sessions.load(cookie)
    if ended:
        g.session_ended = ended
        if session.user_id is not None:
            _record_end(session, ended)
        return None
    g.session = session
    if session is None or session.stage != "active":
        return None
    with services().identity.engine.connect() as conn:
        identity = services().identity.identity(conn, session.user_id)
    if identity is None or not identity.roles:
        services().sessions.end(session.id)
        g.session = None
    return identity


def _record_end(session: Session, reason: str) -> None:
    identity = services().identity
    try:
        username = identity.user_by_id(session.user_id).username
    except PolicyError:
        return
    ctx = Context(username, source_address(), g.get("request_id"))
    identity.record_event(ctx, "session_end", "user", username, reason=reason)


def _secure() -> bool:
    mode = get_settings().security.cookie_secure
    if mode != "auto":
        return mode == "always"
    # Plain HTTP is only tolerated on loopback; anywhere else the cookie needs TLS.
    return request.is_secure or not is_loopback(request.host.rsplit(":", 1)[0].strip("[]")) \
        and request.host.split(":")[0] != "localhost"


def _with_cookie(response: Response, value: str | None) -> Response:
    if value is None:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Lax",
                               secure=_secure())
    else:
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="Lax",
                            secure=_secure())
    return response


def _ctx(actor: str = "anonymous") -> Context:
    return Context(actor, source_address(), g.get("request_id"))


def _next_url() -> str:
    return safe_next(request.values.get("next") or "") or url_for("index")


def safe_next(wanted: str) -> str | None:
    """``wanted`` if it is a path on this site, else None (no open redirect).

    Browsers drop tabs and line breaks from a URL and read ``\\`` as ``/``, so
    ``/\t/evil.com`` is ``//evil.com``: the check runs on what the browser would see, and
    refuses any control character (a header injection), a scheme, a host or ``//``.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in wanted) or "\\" in wanted:
        return None
    if not wanted.startswith("/") or wanted.startswith("//"):
        return None
    return wanted


def _login_token(response_token: str | None = None) -> str:
    token = response_token or secrets.token_urlsafe(24)
    g.login_token = token
    return token


@bp.after_app_request
def _set_login_cookie(response: Response) -> Response:
    token = g.get("login_token")
    if token:
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict",
                            secure=_secure(), max_age=3600)
    return response


def _login_form_ok() -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and same_secret(cookie, request.form.get("login_token", ""))


def _session_form_ok() -> bool:
    session = g.get("session")
    return session is not None and same_secret(session.csrf, request.form.get("csrf_token", ""))


# Password login.
@bp.route("/login", methods=["GET", "POST"])
@public
@body_limit(FORM_LIMIT)
def login():
    """The login form (user name and password, or single sign-on)."""
    if current_identity() is not None and request.method == "GET":
        return redirect(_next_url())
    error = None
    if request.method == "POST":
        if not _login_form_ok():
            error = translate("csrf_refused")
        else:
            try:
                return _after_password(request.form.get("username", "").strip(),
                                       request.form.get("password", ""))
            except PolicyError as exc:
                error = exc.text(current_language())
    elif request.args.get("ended") in ("idle", "absolute"):
        error = translate(f"session_ended_{request.args['ended']}")
    oidc = get_settings().security.oidc
    status = 200 if error is None or request.method == "GET" else 401
    return render_template("login.html", error=error, login_token=_login_token(),
                           oidc_label=oidc.label if oidc else None,
                           next=request.values.get("next", "")), status


def _after_password(username: str, password: str) -> Response:
    identity = services().identity
    user = identity.authenticate(_ctx(username), username, password)
    return _advance(user, "password")


def _advance(user, method: str, session: Session | None = None) -> Response:
    """Send the browser to the next stage after a factor was accepted."""
    identity = services().identity
    session = session or g.get("session")
    stage, target = "active", None
    done = (session.data.get("done", []) if session else []) + [method]
    if identity.needs_totp(user) and "totp" not in done:
        stage, target = ("totp", "auth.totp") if user.totp else ("enroll", "auth.enroll")
    elif identity.password_expired(user) and method != "oidc" and "change" not in done:
        stage, target = "password", "auth.password"
    data = {"done": done, "next": _next_url() if request.values.get("next") else
            (session.data.get("next") if session else None)}
    if session is None or session.stage not in ("oidc", "totp", "enroll", "password"):
        cookie = services().sessions.start(user.id, stage, source_address(), data)
    else:
        cookie = services().sessions.advance(session, stage, user_id=user.id, data=data)
    if stage == "active":
        identity.login_completed(_ctx(user.username), user.username, "+".join(done))
        target_url = data.get("next") or url_for("index")
    else:
        target_url = url_for(target)
    return _with_cookie(redirect(target_url), cookie)


def _pending(stage: str):
    session = g.get("session")
    if session is None or session.stage != stage or session.user_id is None:
        return None, None
    return session, services().identity.user_by_id(session.user_id)


@bp.route("/login/totp", methods=["GET", "POST"])
@public
@body_limit(FORM_LIMIT)
def totp():
    """The second factor: a code from the authenticator app."""
    session, user = _pending("totp")
    if session is None:
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        if not _session_form_ok():
            error = translate("csrf_refused")
        else:
            try:
                services().identity.verify_totp(_ctx(user.username), user.username,
                                                request.form.get("code", ""))
                return _advance(user, "totp", session)
            except PolicyError as exc:
                error = exc.text(current_language())
                if exc.reason == "account_locked":
                    services().sessions.end(session.id)
    return render_template("totp.html", error=error, csrf=session.csrf), \
        200 if error is None else 401


@bp.route("/login/enroll", methods=["GET", "POST"])
@public
@body_limit(FORM_LIMIT)
def enroll():
    """First login of a privileged account: set up the authenticator app."""
    session, user = _pending("enroll")
    if session is None:
        return redirect(url_for("auth.login"))
    identity = services().identity
    box = identity.box
    sealed = session.data.get("totp")
    if sealed is None:
        secret = identity.new_totp_secret()
        cookie = services().sessions.advance(session, "enroll",
                                             data={**session.data, "totp": box.seal(secret)})
        return _with_cookie(redirect(url_for("auth.enroll")), cookie)
    secret, error = box.open(sealed), None
    if request.method == "POST":
        if not _session_form_ok():
            error = translate("csrf_refused")
        else:
            try:
                identity.enroll_totp(_ctx(user.username), user.username, secret,
                                     request.form.get("code", ""))
                return _advance(services().identity.user(user.username), "totp", session)
            except PolicyError as exc:
                error = exc.text(current_language())
    uri = identity.totp_uri(user.username, secret)
    qr = segno.make(uri, error="m")
    return render_template("enroll.html", error=error, csrf=session.csrf, secret=secret,
                           uri=uri, qr=qr.svg_data_uri(scale=4))


@bp.route("/login/password", methods=["GET", "POST"])
@public
@body_limit(FORM_LIMIT)
def password():
    """Change the password: required after an expiry or an administrator's reset, and
    from the account page at any time (then with the current password)."""
    session = g.get("session")
    if session is None or session.user_id is None or session.stage not in ("password",
                                                                           "active"):
        return redirect(url_for("auth.login"))
    user = services().identity.user_by_id(session.user_id)
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if not _session_form_ok():
            error = translate("csrf_refused")
        elif new != request.form.get("repeat_password", ""):
            error = translate("passwords_differ")
        else:
            try:
                services().identity.set_password(_ctx(user.username), user.username, new,
                                                 current=request.form.get("password", ""))
                if session.stage == "password":
                    data = {**session.data, "done": session.data.get("done", []) + ["change"]}
                    session = Session(session.id, session.user_id, session.stage, session.csrf,
                                      data, session.created_at)
                    return _advance(services().identity.user(user.username), "change",
                                    session)
                return redirect(url_for("auth.account", notice="password_changed"))
            except PolicyError as exc:
                error = exc.text(current_language())
    return render_template("password.html", error=error, csrf=session.csrf,
                           forced=session.stage == "password",
                           policy=services().identity.policy)


@bp.post("/logout")
@public
@body_limit(FORM_LIMIT)
def logout():
    """End the session (the CSRF token is checked: no logging out from another site)."""
    session = g.get("session")
    if session is not None and not _session_form_ok():
        return refuse(403, translate("csrf_refused"))
    if session is not None:
        services().sessions.end(session.id)
        if session.user_id is not None:
            user = services().identity.user_by_id(session.user_id)
            services().identity.record_event(_ctx(user.username), "logout", "user",
                                             user.username)
    return _with_cookie(redirect(url_for("auth.login")), None)


# Single sign-on.
def _oidc() -> OidcClient:
    settings = get_settings().security.oidc
    if settings is None:
        abort(404)
    client = current_app.extensions.get(OIDC_EXTENSION)
    if client is None:
        client = current_app.extensions[OIDC_EXTENSION] = OidcClient(
            settings, os.environ.get(settings.client_secret_env))
    return client


@bp.get("/login/oidc")
@public
def oidc_start():
    """Send the browser to the identity provider."""
    client = _oidc()
    try:
        url, pending = client.start(url_for("auth.oidc_callback", _external=True))
    except Exception as exc:  # noqa: BLE001 - the provider is down or misconfigured
        current_app.logger.warning("OIDC provider unavailable: %s", exc)
        return render_template("refused.html", reason=translate("oidc_failed"), status=502), 502
    pending["next"] = _next_url() if request.args.get("next") else None
    cookie = services().sessions.start(None, "oidc", source_address(), pending)
    return _with_cookie(redirect(url), cookie)


@bp.get("/login/oidc/callback")
@public
def oidc_callback():
    """The provider's answer: verify it, map the claims, go on to the next stage."""
    session = g.get("session")
    if session is None or session.stage != "oidc":
        return redirect(url_for("auth.login"))
    client = _oidc()
    try:
        claims = client.finish(session.data, request.args.to_dict())
        mapped = map_claims(client.settings, claims)
        user = services().identity.oidc_user(_ctx(mapped.username), mapped.subject,
                                              mapped.username, mapped.roles,
                                              mapped.department, mapped.display_name)
    except (OidcError, PolicyError) as exc:
        reason = exc.text(current_language()) if isinstance(exc, PolicyError) else \
            translate("oidc_failed")
        services().identity.record_event(_ctx(), "login_failed", "oidc",
                                         client.settings.issuer, reason=str(exc)[:500])
        services().sessions.end(session.id)
        return _with_cookie(Response(render_template("refused.html", reason=reason,
                                                     status=401), 401), None)
    data = {"done": [], "next": session.data.get("next")}
    session = Session(session.id, session.user_id, session.stage, session.csrf, data,
                      session.created_at)
    return _advance(user, "oidc", session)


# The account page: own details, password, API tokens.
@bp.get("/account")
@requires(SELF)
def account(error: str | None = None, new_token: str | None = None):
    """Who am I, what may I do, and my API tokens."""
    scope = caller_scope()
    user = services().identity.user(scope.identity.username)
    tokens = services().sessions.tokens(user.username)
    roles = [ROLES[r] for r in sorted(user.roles) if r in ROLES]
    notice = request.args.get("notice")
    return render_template("account.html", user=user, roles=roles, tokens=tokens,
                           new_token=new_token, error=error,
                           notice=translate(notice) if notice == "password_changed" else None,
                           token_roles=[r for r in roles if r.token]), 400 if error else 200


@bp.post("/account/tokens")
@requires(SELF)
@body_limit(FORM_LIMIT)
def create_token():
    """Issue an API token carrying some of my business roles (its value is shown once)."""
    scope = caller_scope()
    user = services().identity.user(scope.identity.username)
    try:
        days = int(request.form.get("days") or 90)
        value = services().sessions.create_token(
            scope.context(), user.username, request.form.get("name") or "token",
            set(request.form.getlist("roles")), user.department, days * 86400.0)
    except (ValueError, OverflowError, PolicyError) as exc:
        return account(error=exc.text(current_language()) if isinstance(exc, PolicyError)
                       else translate("token_days"))
    return account(new_token=value)


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires(SELF)
@body_limit(FORM_LIMIT)
def revoke_token(token_id: int):
    """Revoke one of my tokens."""
    scope = caller_scope()
    try:
        services().sessions.revoke_token(scope.context(), token_id,
                                         owner=scope.identity.username)
    except PolicyError:
        abort(404)
    return redirect(url_for("auth.account"))
