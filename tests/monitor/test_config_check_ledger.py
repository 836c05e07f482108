"""check-config's census code check on a ledger that is not set up yet."""

from __future__ import annotations

from monitor.config import parse_settings
from monitor.config_check import census_warnings


def test_a_database_without_tables_says_to_run_db_upgrade(tmp_path, pg_url):
    settings = parse_settings({"ledger": {"url": pg_url},
                               "targets": [{"name": "a", "kind": "host",
                                            "tags": {"department": "D1"}}]},
                              "(test)", data_dir=str(tmp_path / "d"))
    assert census_warnings(settings) == [
        "census codes not checked: the ledger has no tables yet (python -m monitor db upgrade)"]


def test_a_missing_sqlite_ledger_is_said_to_not_exist_yet(tmp_path):
    settings = parse_settings({"targets": [{"name": "a", "kind": "host"}]}, "(test)",
                              data_dir=str(tmp_path / "d"))
    assert census_warnings(settings) == ["census codes not checked: the ledger does not exist yet"]
