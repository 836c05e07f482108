"""The web tier (Flask): operator pages, /metrics, /healthz and the census REST API.

Pages only read; the census API writes through ``ledger.census.service`` alone.

``create_app`` is the application factory; ``wsgi.py`` serves it alone for
gunicorn and ``python -m monitor run`` serves it beside the scheduler.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask, redirect, url_for

from monitor.config import load_settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app.

    ``test_config`` may carry ``SETTINGS`` (validated settings), ``LEDGER`` and
    ``STORE`` objects to share with a scheduler in the same process; without
    them the settings come from ``INFRA_LEDGER_CONFIG`` / ``INFRA_LEDGER_DATA_DIR``.
    """
    from dashboards import analysis_api, api, i18n, metrics, operator, resources

    app = Flask(__name__)
    config = dict(test_config or {})
    settings = config.pop("SETTINGS", None) or load_settings(
        os.environ.get("INFRA_LEDGER_CONFIG") or None,
        data_dir=os.environ.get("INFRA_LEDGER_DATA_DIR") or None)
    app.config.from_mapping(LANGUAGE=settings.language, TIMEZONE=settings.timezone,
                            JSON_AS_ASCII=False)
    ledger, store = config.pop("LEDGER", None), config.pop("STORE", None)
    app.config.update(config)
    resources.init_app(app, settings, ledger, store)
    i18n.init_app(app)
    app.register_blueprint(operator.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(analysis_api.bp)

    @app.get("/")
    def index():
        return redirect(url_for("operator.targets"))

    return app
