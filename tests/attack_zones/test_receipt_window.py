"""Exactly once needs receipts that outlive every record a zone may still resend."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from ledger.models import TargetState
from ledger.zones import (RECEIPT_DAYS, CollectorReport, IngestError, apply_batch,
                          prune_receipts)
from monitor.coordination.outbox import CenterClient, Outbox
from monitor.config import parse_settings

UTC = dt.timezone.utc


def test_a_zone_outbox_may_not_hold_records_longer_than_the_center_keeps_receipts(tmp_path):
    """Receipts are pruned after 8 days (ledger.zones.RECEIPT_DAYS); the configuration lets
    an operator keep samples 30 days, but a zone's outbox keeps records at most 7."""
    settings = parse_settings({"store": {"backend": "victoriametrics://127.0.0.1:1",
                                         "spool": {"max_age": "30d"}},
                               "zone": {"center_url": "http://127.0.0.1:1"},
                               "targets": [{"name": "east-sw", "kind": "host",
                                            "zone": "east"}]},
                              "(test)", data_dir=str(tmp_path / "d"))
    assert settings.spool["max_age_seconds"] == 30 * 86400
    box = Outbox(tmp_path / "outbox", CenterClient("http://127.0.0.1:1", None, dict),
                 **settings.spool)
    assert box.writer.spool.max_age == 7 * 86400 < RECEIPT_DAYS * 86400
    box.writer.spool.close()


def test_a_batch_resent_after_the_receipt_window_is_applied_twice(ledger):
    report = CollectorReport("east-a", "east", "h", "0.1")
    record = {"key": uuid.uuid4().hex, "type": "poll", "name": "east-sw", "kind": "host",
              "status": "ok", "duration_seconds": 0.1, "error": None, "samples": 1,
              "at": time.time(), "interval_seconds": 60}
    zones = {"east-sw": "east"}
    start = dt.datetime.now(UTC)
    with ledger.session() as session:
        apply_batch(session, report, [record], zones, now=start)
        session.commit()
    # The answer was lost; the zone host is off for nine days, then resends the batch.
    later = start + dt.timedelta(days=9)
    with ledger.session() as session:
        prune_receipts(session, now=later)
        with pytest.raises(IngestError) as refused:   # too old to be applied exactly once
            apply_batch(session, report, [record], zones, now=later)
        assert refused.value.key == "(record)" and "7 days" in refused.value.reason
        session.rollback()
        polls = session.get(TargetState, "east-sw").polls_total
    assert polls == 1, f"one poll counted {polls} times"
