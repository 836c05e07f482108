"""Migrations bring an empty database to a schema that matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ledger.db import Ledger, upgrade
from ledger.models import Base


def test_upgrade_creates_every_table(ledger):
    tables = set(inspect(ledger.engine).get_table_names())
    assert {"observed_asset", "target_state", "runtime_stat", "alembic_version"} <= tables


def test_models_and_migrations_agree(ledger):
    with ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(ledger_url):
    first = Ledger(ledger_url)
    upgrade(first.engine)
    first.close()
    second = Ledger(ledger_url)
    assert "observed_asset" in inspect(second.engine).get_table_names()
    second.close()
