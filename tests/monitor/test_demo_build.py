"""What ``python -m monitor demo`` leaves in its log and change log (built by
:func:`monitor.demo.build_demo`, the library function behind the command)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from ledger.census.audit import verify
from ledger.census.tables import audit_record
from ledger.db import Ledger
from monitor.demo import build_demo
from tests.dashboards.users import FAST_HASHER


def test_the_demo_logs_one_line_per_step_and_keys_every_record(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="monitor.demo"):
        result = build_demo(tmp_path / "demo", hasher=FAST_HASHER)
    imported = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith("Demo census imported")]
    assert len(imported) == 1
    assert len(imported[0]) < 400 and "\n" not in imported[0]
    assert " new, " in imported[0] and "ImportResult" not in imported[0]
    ledger = Ledger(result.settings.ledger_url)
    try:
        with ledger.engine.connect() as conn:
            algorithms = set(conn.execute(select(audit_record.c.algorithm)).scalars())
            checked = verify(conn, chain=result.settings.audit_chain)
    finally:
        ledger.close()
    assert algorithms == {"hmac-" + result.settings.audit_hash}   # keyed from record 1
    assert checked.problems == [] and checked.notes == []
