"""Access control for every request, in one place: nothing answers without an identity.

``init_app`` installs a ``before_request`` hook that, for every endpoint of the app
(including the ones added later by anyone), checks in this order:

1. the ``Host`` header against ``security.allowed_hosts`` (no DNS rebinding);
2. the body size against the endpoint's :func:`body_limit` (default ``security.max_body``);
3. who is calling: ``Authorization: Bearer ilt_…`` (an API token) or the session cookie;
   ``X-Department`` and ``X-Actor`` are ignored;
4. that the endpoint is :func:`public` or the caller holds the permissions it declares with
   :func:`requires`; an endpoint that declares nothing needs ``read`` for GET/HEAD and
   ``write`` for other methods (every role but the audit administrator reads; only
   operators, data officers, the census coordinator and the system administrator write);
5. for a state-changing request authenticated by the cookie, the CSRF token (form field
   ``csrf_token`` or header ``X-CSRF-Token``); a cross-site (``Sec-Fetch-Site``) or
   foreign-``Origin`` state-changing request is refused whatever it carries;
6. that the path, query and form fields hold no NUL byte (:mod:`dashboards.errors`).

Responses get the security headers (CSP without inline script, frame-ancestors 'none',
nosniff, Referrer-Policy) and ``Cache-Control: no-store`` unless they are static files (the
icon at ``/favicon.ico`` and plotly.js count as static).

How a route gets the caller's scope and actor (also for routes under ``/api/v1`` that take a
department scope, such as reconciliation findings)::

    from dashboards.access import caller_scope, requires
    from ledger.identity.roles import FINDINGS_READ

    @bp.get("/findings")
    @requires(FINDINGS_READ)
    def findings():
        scope = caller_scope()            # CallerScope of the authenticated identity
        scope.department                  # department code, or None for the whole ledger
        with get_ledger().engine.connect() as conn:
            ledger_scope = scope.ledger_scope(conn)   # ledger.census.snapshot.Scope
        scope.actor                       # name for the change log ("li.si", "li.si[token 3]")
        scope.census()                    # CensusService bound to that department and actor

Never take a department from the request itself: a ``?department=`` filter may only narrow
``scope.department`` (CensusService intersects the two).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Callable

from flask import (Flask, Response, abort, current_app, g, jsonify, redirect, render_template,
                   request, url_for)

from dashboards.errors import request_has_nul
from dashboards.i18n import current_language, translate
from dashboards.resources import get_ledger, get_settings
from ledger.census.service import CensusService
from ledger.census.snapshot import Scope
from ledger.identity.roles import READ, WRITE
from ledger.identity.service import Context, Identity

SESSION_COOKIE = "il_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
EXTENSION = "infra_ledger_access"


@dataclass(frozen=True)
class Rule:
    """What an endpoint declares: public, permissions for every method and for writes."""

    public: bool = False
    permissions: tuple[str, ...] = ()
    unsafe: tuple[str, ...] = ()
    body_limit: int | str | None = None    # bytes, or a key of security settings
    open_setting: str | None = None    # security.<name>: open | loopback | token


def _declare(view: Callable, **changes) -> Callable:
    rule = getattr(view, "access_rule", Rule())
    view.access_rule = Rule(**{**rule.__dict__, **changes})
    return view


def public(view: Callable) -> Callable:
    """Allow an endpoint without identity (login pages, the OIDC callback). Use sparingly:
    ``tests/dashboards/test_access.py`` lists every public endpoint it expects."""
    return _declare(view, public=True)


def requires(*permissions: str, unsafe: tuple[str, ...] | str = ()) -> Callable:
    """Require ``permissions`` for every method, and ``unsafe`` too for POST/PUT/PATCH/DELETE."""
    extra = (unsafe,) if isinstance(unsafe, str) else tuple(unsafe)

    def decorate(view: Callable) -> Callable:
        return _declare(view, permissions=tuple(permissions), unsafe=extra)
    return decorate


def body_limit(nbytes: int | str) -> Callable:
    """Accept request bodies up to ``nbytes`` on this endpoint (413 beyond); a string names
    a size in the security settings (``"import_max_body"``)."""
    def decorate(view: Callable) -> Callable:
        return _declare(view, body_limit=nbytes)
    return decorate


def open_per(setting: str) -> Callable:
    """Public, token-only or open on loopback, as ``security.<setting>`` says (/metrics)."""
    def decorate(view: Callable) -> Callable:
        return _declare(view, open_setting=setting)
    return decorate


def rule_of(app: Flask, endpoint: str) -> Rule:
    """The declared rule of ``endpoint`` (static files are public)."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return Rule(public=True)
    return getattr(app.view_functions.get(endpoint), "access_rule", Rule())


@dataclass(frozen=True)
class CallerScope:
    """The authenticated caller as the ledger sees it: department scope, actor, request."""

    identity: Identity
    department: str | None
    actor: str
    request_id: str

    def ledger_scope(self, conn) -> Scope:
        """The census :class:`Scope` (raises ScopeError if the department is gone)."""
        if self.department is None:
            return Scope.everything()
        return Scope.for_department(conn, self.department)

    def census(self) -> CensusService:
        """The census service bound to this caller's department and actor."""
        return CensusService(get_ledger().engine, department=self.department, actor=self.actor,
                             language=current_language(), algorithm=get_settings().audit_chain,
                             request_id=self.request_id)

    def context(self) -> Context:
        """What identity events of this request are recorded with."""
        return Context(self.actor, source_address(), self.request_id)


def current_identity() -> Identity | None:
    """The caller's identity (None only on public endpoints)."""
    return g.get("identity")


def caller_scope() -> CallerScope:
    """The caller's scope; 401 if the request has no identity (a public endpoint)."""
    identity = current_identity()
    if identity is None:
        abort(401)
    actor = identity.username if identity.via == "session" else \
        f"{identity.username}[token {identity.token_id}]"
    return CallerScope(identity, identity.department, actor, g.request_id)


def source_address() -> str:
    """The peer address (a proxy in front must be trusted through ProxyFix to change it)."""
    return request.remote_addr or "-"


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is 127.0.0.0/8 or ::1."""
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def wants_json() -> bool:
    """Whether the caller is a program (API paths, /metrics) rather than a browser page."""
    return request.path.startswith("/api/") or request.path in ("/metrics", "/healthz") or \
        request.headers.get("Authorization", "").startswith("Bearer ")


def refuse(status: int, reason: str) -> Response:
    """A refusal in the caller's form: JSON for programs, a page (or login) for browsers."""
    if wants_json():
        response = jsonify({"errors": [{"reason": reason}]})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="infra-ledger"'
        return response
    if status == 401:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?"),
                                ended=g.get("session_ended")))
    return Response(render_template("refused.html", reason=reason, status=status), status)


def init_app(app: Flask) -> None:
    """Install the checks and headers on ``app`` (after i18n, before the blueprints)."""
    app.before_request(_check)
    app.after_request(_headers)

    @app.errorhandler(413)
    def _too_large(_exc):
        return refuse(413, translate("body_too_large"))


def _check():
    settings = get_settings()
    g.request_id = _request_id()
    if not _host_allowed(request.host, settings.security.allowed_hosts):
        return refuse(400, translate("host_refused"))
    if request.endpoint is None:
        return None   # 404/405 follow; nothing is revealed
    rule = rule_of(current_app, request.endpoint)
    limit = rule.body_limit or settings.security.max_body
    if isinstance(limit, str):
        limit = getattr(settings.security, limit)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        return refuse(413, translate("body_too_large"))
    if request.method not in SAFE_METHODS and _cross_site():
        return refuse(403, translate("cross_site_refused"))
    identity = _identify()
    if isinstance(identity, Response):
        return identity
    g.identity = identity
    if rule.public or _open(rule, settings):
        return None
    if identity is None:
        return refuse(401, translate("login_required"))
    needed = rule.permissions or ((READ,) if request.method in SAFE_METHODS else (WRITE,))
    if request.method not in SAFE_METHODS:
        needed = needed + rule.unsafe
    if not all(identity.can(p) for p in needed):
        return refuse(403, translate("forbidden"))
    if request.method not in SAFE_METHODS and identity.via == "session" and not _csrf_ok():
        return refuse(403, translate("csrf_refused"))
    if request_has_nul():
        return refuse(400, translate("request_nul"))
    return None


def _request_id() -> str:
    given = request.headers.get("X-Request-Id", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower().rstrip(".")
    return "*" in allowed or name in allowed


def _cross_site() -> bool:
    """A state-changing request another site made the browser send."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    # Compare host and port only: behind a TLS proxy the scheme seen here is http.
    return origin == "null" or urllib.parse.urlsplit(origin).netloc.lower() != request.host.lower()


def _identify():
    """The identity of the bearer token or session, None if neither, or a refusal."""
    from dashboards.auth import load_session  # the auth blueprint owns the cookie
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return refuse(401, translate("bad_token"))
        ctx = Context("anonymous", source_address(), g.request_id)
        identity = services().sessions.authenticate_token(value.strip(), ctx)
        if identity is None:
            return refuse(401, translate("bad_token"))
        return identity
    return load_session()


def _open(rule: Rule, settings) -> bool:
    if rule.open_setting is None:
        return False
    mode = getattr(settings.security, rule.open_setting)
    return mode == "open" or (mode == "loopback" and is_loopback(request.remote_addr))


def _csrf_ok() -> bool:
    session = g.get("session")
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    return session is not None and same_secret(session.csrf, given)


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of two texts, any characters (a non-ASCII form value is a
    refusal, not a TypeError)."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"),
                               given.encode("utf-8", "surrogatepass"))


def csrf_token() -> str:
    """This session's CSRF token, for forms (``{{ csrf_token() }}``)."""
    session = g.get("session")
    return session.csrf if session is not None else ""


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    endpoint = request.endpoint or ""
    if endpoint not in ("static", "operator.favicon", "operator.plotly_js"):
        headers["Cache-Control"] = "no-store"
    return response


@dataclass
class Services:
    """The identity services of one app."""

    identity: object
    sessions: object


def services() -> Services:
    """The app's :class:`IdentityService` and :class:`SessionService`."""
    return current_app.extensions[EXTENSION]


def install_services(app: Flask, identity, sessions) -> None:
    """Attach the identity services (the app factory does this)."""
    app.extensions[EXTENSION] = Services(identity, sessions)
