"""Reuse the web fixtures (clock, app) of tests/dashboards for the zone attack tests."""
from tests.dashboards.conftest import clock  # noqa: F401
