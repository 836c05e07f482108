"""WSGI entry point for the web tier alone: ``gunicorn wsgi:app``.

Configuration comes from ``INFRA_LEDGER_CONFIG`` and ``INFRA_LEDGER_DATA_DIR``.
The scheduler is never started here; run ``python -m monitor scheduler`` beside it.
"""

from dashboards import create_app
from monitor.cli import redact_handlers

redact_handlers("gunicorn.error")   # no URL credentials in the web tier's log either
app = create_app()
