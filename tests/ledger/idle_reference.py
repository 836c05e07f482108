"""Idle detection the way its definition reads: entities rebuilt in Python and
:func:`ledger.idle.analyse` over all their summaries. The set-based query
(:mod:`ledger.idle_query`) must find the same."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ledger.analyses import entities, today
from ledger.estate import declared_assets, matched_declared
from ledger.idle import IdleInputs, analyse
from ledger.policy import AnalysisPolicy
from ledger.utilization import recent


def reference_idle(engine, policy: AnalysisPolicy, now: dt.datetime):
    day = today(policy, now)
    window = max([p.window_days for p in policy.idle.values()] +
                 [policy.idle_policy("").window_days, policy.rightsizing.window_days])
    with engine.connect() as conn:
        inputs = IdleInputs(entities(conn, policy), recent(conn, day - dt.timedelta(days=window)),
                            matched_declared(conn), declared_assets(conn), day)
    outcome = analyse(inputs, policy)
    return outcome.found, outcome.summary()


def by_fingerprint(found) -> dict:
    """Findings comparable whatever their order."""
    return {f.fingerprint: dataclasses.asdict(f) for f in found}
