"""The app's shared resources (settings, ledger, store), set up by ``init_app``."""

from __future__ import annotations

from flask import Flask, current_app

from ledger.census.audit import check_writer
from ledger.db import Ledger
from monitor.config import Settings
from monitor.store import TimeSeriesStore, open_configured_store

EXTENSION = "infra_ledger"


def init_app(app: Flask, settings: Settings, ledger: Ledger | None = None,
             store: TimeSeriesStore | None = None) -> None:
    """Attach the ledger and store (opened from settings unless handed in)."""
    if ledger is None:   # the web tier alone (wsgi.py): its key must extend the change log
        ledger = Ledger(settings.ledger_url)
        check_writer(ledger.engine, settings.audit_chain)
    if store is None:
        store = open_configured_store(settings, writer=False)
    app.extensions[EXTENSION] = {"settings": settings, "ledger": ledger, "store": store}


def get_settings() -> Settings:
    """The running app's settings."""
    return current_app.extensions[EXTENSION]["settings"]


def get_ledger() -> Ledger:
    """The running app's ledger."""
    return current_app.extensions[EXTENSION]["ledger"]


def get_store() -> TimeSeriesStore:
    """The running app's time-series store."""
    return current_app.extensions[EXTENSION]["store"]
