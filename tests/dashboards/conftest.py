"""Flask fixtures: the app on a temporary ledger and store, its test client.

``client`` calls as an account holding the operator and census coordinator roles
(estate-wide) through an API token; ``anonymous`` has no identity at all.
"""

from __future__ import annotations

import pytest

from dashboards import create_app
from tests.dashboards.users import FAST_HASHER, Clock, make_token, make_user


@pytest.fixture
def clock():
    """The identity service's clock."""
    return Clock()


@pytest.fixture
def app(settings, ledger, embedded_store, clock):
    """The web app sharing a migrated ledger and an empty store (no scheduler)."""
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "TESTING": True, "CLOCK": clock, "PASSWORD_HASHER": FAST_HASHER})
    yield app


@pytest.fixture
def anonymous(app):
    """A test client with no session and no token."""
    return app.test_client()


@pytest.fixture
def client(app):
    """A test client calling with an estate-wide operator + census coordinator token."""
    make_user(app, "tester", {"operator", "census_admin"})
    token = make_token(app, "tester", {"operator", "census_admin"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client
