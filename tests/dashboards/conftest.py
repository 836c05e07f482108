"""Flask fixtures: the app on a temporary ledger and store, its test client."""

from __future__ import annotations

import pytest

from dashboards import create_app


@pytest.fixture
def app(settings, ledger, embedded_store):
    """The web app sharing a migrated ledger and an empty store (no scheduler)."""
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "TESTING": True})
    yield app


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()
