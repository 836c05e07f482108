"""The web tier (Flask): operator pages, /metrics, /healthz and the census REST API.

Pages only read; the census API writes through ``ledger.census.service`` alone. No route
answers without an identity: :mod:`dashboards.access` checks every request in one place.

``create_app`` is the application factory; ``wsgi.py`` serves it alone for
gunicorn and ``python -m monitor run`` serves it beside the scheduler.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from flask import Flask, redirect, url_for
from sqlalchemy.exc import OperationalError

from monitor.config import load_settings
from monitor.config_ledger import LedgerUnreachable, unreachable_line

_LOGGER = logging.getLogger(__name__)

#: Navigation: (endpoint, message key, permission), in this order.
NAV = (("estate.overview", "nav_estate", "targets.read"),
       ("overview.show", "nav_overview", "overview.read"),
       ("screen.show", "nav_screen", "overview.read"),
       ("census.rows", "nav_census", "census.read"),
       ("officer.list_findings", "nav_findings", "findings.read"),
       ("graph.start", "nav_graph", "census.read"),
       ("reports.show", "nav_reports", "reports.read"),
       ("operator.targets", "nav_targets", "targets.read"),
       ("zones.collectors", "nav_zones", "targets.read"),
       ("alerts.list_alerts", "nav_alerts", "alerts.read"),
       ("admin.users", "nav_users", "users.read"),
       ("audit.records", "nav_audit", "audit.read"),
       ("auth.account", "nav_account", "self"))


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app.

    ``test_config`` may carry ``SETTINGS`` (validated settings), ``LEDGER`` and
    ``STORE`` objects to share with a scheduler in the same process, and ``CLOCK`` and
    ``PASSWORD_HASHER`` for the identity service; without them the settings come from
    ``INFRA_LEDGER_CONFIG`` / ``INFRA_LEDGER_DATA_DIR``. Raises
    :class:`~monitor.config_ledger.LedgerUnreachable` (one line, no password) when the
    ledger's database does not answer.
    """
    from dashboards import (
        access,
        admin,
        alerts_api,
        alerts_pages,
        alerts_support,
        analysis_api,
        api,
        auditlog,
        auth,
        census_pages,
        estate_pages,
        errors,
        graph,
        i18n,
        metrics,
        officer,
        operator,
        overview,
        reports,
        resources,
        screen,
        zones,
    )

    app = Flask(__name__)
    config = dict(test_config or {})
    # The web reads settings without importing a collector (target options are the
    # scheduler's business; tests/test_layering.py checks sys.modules).
    settings = config.pop("SETTINGS", None) or load_settings(
        os.environ.get("INFRA_LEDGER_CONFIG") or None,
        data_dir=os.environ.get("INFRA_LEDGER_DATA_DIR") or None, check_targets=False)
    app.config.from_mapping(LANGUAGE=settings.language, TIMEZONE=settings.timezone,
                            JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=settings.security.max_body)
    ledger, store = config.pop("LEDGER", None), config.pop("STORE", None)
    clock, hasher = config.pop("CLOCK", None), config.pop("PASSWORD_HASHER", None)
    app.config.update(config)
    if settings.security.proxy_hops:
        # Behind N reverse proxies (TLS at nginx): trust their X-Forwarded-For/Proto/Host, so
        # lockouts count the real client address and cookies know the request was HTTPS.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = settings.security.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    try:
        resources.init_app(app, settings, ledger, store)
        alerts_support.init_app(app, settings)
        _identity_services(app, settings, clock, hasher)
    except OperationalError as exc:
        # One line naming the file, the key and the reason, not a driver's traceback.
        raise LedgerUnreachable(unreachable_line(settings.source, settings.ledger_url,
                                                 exc)) from None
    i18n.init_app(app)
    errors.init_app(app)
    access.init_app(app)
    for module in (auth, operator, metrics, api, analysis_api, census_pages, overview, admin,
                   auditlog, estate_pages, zones, alerts_api, alerts_pages, reports, officer,
                   screen, graph):
        app.register_blueprint(module.bp)
    app.jinja_env.globals.update(current_identity=access.current_identity,
                                 csrf_token=access.csrf_token, nav_items=_nav_items, zip=zip,
                                 label_of=i18n.label_of)

    @app.get("/")
    def index():
        """The first page the caller's roles allow."""
        items = _nav_items()
        return redirect(url_for(items[0][0] if items else "auth.account"))

    return app


def _identity_services(app: Flask, settings, clock, hasher) -> None:
    from dashboards.access import install_services
    from dashboards.resources import get_ledger
    from ledger.identity.crypto import SecretBox, load_or_create_key
    from ledger.identity.service import IdentityService
    from ledger.identity.sessions import SessionService

    with app.app_context():
        engine = get_ledger().engine
    options = {"clock": clock} if clock else {}
    identity = IdentityService(engine, policy=settings.security.policy,
                               box=SecretBox(load_or_create_key(settings.security.key_file)),
                               algorithm=settings.audit_chain, hasher=hasher, **options)
    install_services(app, identity, SessionService(identity))
    if not identity.has_users():
        _LOGGER.warning("No accounts yet: create the first administrators with "
                        "'python -m monitor user create NAME --role system_admin' "
                        "(and security_admin, audit_admin); see README, first start")


def _nav_items() -> list[tuple[str, str]]:
    from dashboards.access import current_identity
    identity = current_identity()
    if identity is None:
        return []
    return [(endpoint, label) for endpoint, label, permission in NAV if identity.can(permission)]
