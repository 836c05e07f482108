"""The backlog of facts a ledger write could not take: newest per source, bounded."""

from __future__ import annotations

import datetime as dt

from collectors.base import Fact
from monitor.backlog import FactBacklog, PendingFacts


def pending(n, minute=0):
    facts = tuple(Fact("instance", {"instance_uuid": f"u{i}"}, {}) for i in range(n))
    return PendingFacts("openstack", facts, {}, dt.datetime(2026, 1, 1, 0, minute))


def test_newer_facts_of_a_source_supersede_older_pending_ones():
    backlog = FactBacklog()
    old, new = pending(3), pending(2, minute=30)
    backlog.keep("os", old)
    backlog.keep("os", new)
    assert backlog.snapshot() == [("os", new)]
    backlog.written("os", old)  # a retry of the old facts finished late: the new stay
    assert backlog.snapshot() == [("os", new)]
    backlog.superseded("os")  # a later poll wrote fresher facts
    assert backlog.snapshot() == []
    assert backlog.stats()["ledger_fact_write_errors_total"] == 2


def test_the_backlog_is_bounded_and_counts_what_it_drops():
    backlog = FactBacklog(max_sources=2)
    for name in ("a", "b", "c"):
        backlog.keep(name, pending(5))
    assert [name for name, _ in backlog.snapshot()] == ["b", "c"]
    assert backlog.stats()["ledger_dropped_facts_total"] == 5
    backlog.written("b", backlog.snapshot()[0][1])
    assert backlog.stats() == {"ledger_pending_fact_sources": 1.0, "ledger_pending_facts": 5.0,
                               "ledger_fact_write_errors_total": 3.0,
                               "ledger_retried_facts_total": 5.0,
                               "ledger_dropped_facts_total": 5.0}
