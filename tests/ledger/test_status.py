"""Target state and runtime figures, as the scheduler writes and the web reads them."""

from __future__ import annotations

import datetime as dt

from ledger.status import (PollRecord, record_poll, register_targets, runtime_stats,
                           set_runtime_stats, target_states)

T = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.timezone.utc)


def poll(status, at=T, samples=10, error=None):
    return PollRecord(name="sw1", kind="snmp", status=status, duration_seconds=0.5, error=error,
                      samples=samples, at=at, interval_seconds=60)


def test_counters_and_last_success(ledger):
    later = T + dt.timedelta(minutes=1)
    with ledger.session() as session:
        record_poll(session, poll("ok"))
        record_poll(session, poll("timeout", at=later, samples=0, error="no answer within 5s"))
        session.commit()
    with ledger.session() as session:
        (state,) = target_states(session)
    assert (state.polls_total, state.failures_total, state.samples_total) == (2, 1, 10)
    assert state.up is False and state.status == "timeout"
    assert state.last_success == T and state.last_poll == later
    assert state.last_error == "no answer within 5s"
    assert state.duration_seconds_total == 1.0


def test_register_adds_new_and_removes_dropped_targets(ledger):
    with ledger.session() as session:
        register_targets(session, {"a": ("host", 15.0), "b": ("host", 30.0)})
        session.commit()
        register_targets(session, {"b": ("host", 60.0), "c": ("host", 15.0)})
        session.commit()
        states = target_states(session)
    assert [(s.name, s.interval_seconds, s.up) for s in states] == [("b", 60.0, None),
                                                                     ("c", 15.0, None)]


def test_runtime_stats_replace_earlier_values(ledger):
    with ledger.session() as session:
        set_runtime_stats(session, {"store_queue_depth": 5}, T)
        session.commit()
        set_runtime_stats(session, {"store_queue_depth": 0, "store_bytes": 4096}, T)
        session.commit()
        stats = runtime_stats(session)
    assert {k: v.value for k, v in stats.items()} == {"store_queue_depth": 0.0,
                                                      "store_bytes": 4096.0}
