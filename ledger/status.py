"""Poll state of targets and runtime figures of the scheduler process.

The scheduler writes here after every poll; the web tier and ``/metrics`` read
from here, so pages never poll and a separate web process sees the same state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import RuntimeStat, TargetState


@dataclasses.dataclass(frozen=True)
class PollRecord:
    """The outcome of one poll, as the scheduler reports it."""

    name: str
    kind: str
    status: str
    duration_seconds: float
    error: str | None
    samples: int
    at: dt.datetime
    interval_seconds: float


def record_poll(session: Session, poll: PollRecord, *,
                newest_only: bool = False) -> TargetState:
    """Update a target's state and counters with one poll's outcome. ``newest_only``: a
    poll older than the state's last one (delivered late by a zone member) only counts;
    it does not turn the state back."""
    state = session.get(TargetState, poll.name)
    if state is None:
        state = TargetState(name=poll.name, kind=poll.kind, polls_total=0, failures_total=0,
                            samples_total=0, duration_seconds_total=0.0)
        session.add(state)
    ok = poll.status in ("ok", "partial")
    if newest_only and state.last_poll is not None and poll.at < state.last_poll:
        state.polls_total += 1
        state.duration_seconds_total += poll.duration_seconds
        state.samples_total += poll.samples
        if not ok:
            state.failures_total += 1
        if ok and (state.last_success is None or poll.at > state.last_success):
            state.last_success = poll.at
        return state
    state.kind = poll.kind
    state.status = poll.status
    state.up = ok
    state.last_poll = poll.at
    state.duration_seconds = poll.duration_seconds
    state.last_error = poll.error
    state.interval_seconds = poll.interval_seconds
    state.polls_total += 1
    state.duration_seconds_total += poll.duration_seconds
    state.samples_total += poll.samples
    if ok:
        state.last_success = poll.at
    else:
        state.failures_total += 1
    return state


def register_targets(session: Session, targets: Mapping[str, tuple[str, float]]) -> None:
    """Make sure every configured target has a row, and drop rows of removed targets."""
    existing = {s.name: s for s in session.scalars(select(TargetState))}
    for name, (kind, interval) in targets.items():
        state = existing.get(name)
        if state is None:
            session.add(TargetState(name=name, kind=kind, interval_seconds=interval,
                                    polls_total=0, failures_total=0, samples_total=0,
                                    duration_seconds_total=0.0))
        else:
            state.kind, state.interval_seconds = kind, interval
    for name, state in existing.items():
        if name not in targets:
            session.delete(state)


def target_states(session: Session) -> list[TargetState]:
    """Return every target's state, by name."""
    return list(session.scalars(select(TargetState).order_by(TargetState.name)))


def set_runtime_stats(session: Session, stats: Mapping[str, float], at: dt.datetime) -> None:
    """Store the scheduler's current figures (replacing earlier values)."""
    for name, value in stats.items():
        row = session.get(RuntimeStat, name)
        if row is None:
            session.add(RuntimeStat(name=name, value=float(value), updated_at=at))
        else:
            row.value, row.updated_at = float(value), at


def runtime_stats(session: Session) -> dict[str, RuntimeStat]:
    """Return the scheduler's figures by name."""
    return {row.name: row for row in session.scalars(select(RuntimeStat))}
