"""WSGI entry point for the web tier alone: ``gunicorn wsgi:app``.

Configuration comes from ``INFRA_LEDGER_CONFIG`` and ``INFRA_LEDGER_DATA_DIR``.
The scheduler is never started here; run ``python -m monitor scheduler`` beside it.
A ledger database that does not answer at start is one line on stderr and exit status 3
(which gunicorn reads as "worker failed to boot" and stops, rather than restarting it).
"""

import sys

from dashboards import create_app
from monitor.cli import EXIT_LEDGER, redact_handlers
from monitor.config_ledger import LedgerUnreachable

redact_handlers("gunicorn.error")   # no URL credentials in the web tier's log either
try:
    app = create_app()
except LedgerUnreachable as exc:
    print(exc, file=sys.stderr)
    sys.exit(EXIT_LEDGER)
