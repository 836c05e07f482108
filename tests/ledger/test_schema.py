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


def test_processes_starting_together_migrate_once(ledger_url, tmp_path):
    """The scheduler and web workers start at the same time on a new database."""
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "c.yaml"
    config.write_text(f"ledger:\n  url: {ledger_url}\n", encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "db", "upgrade", "--config",
                               str(config), "--data-dir", str(tmp_path / "data")], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, errors
    ledger = Ledger(ledger_url)
    with ledger.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    ledger.close()
