"""Facts the ledger could not take, kept per source until a retry writes them.

Inventory facts of cloud and virtualisation targets come only every inventory
interval (30 minutes by default), so a ledger write that fails once would lose
them for that long. The scheduler keeps such facts here and retries them every
few seconds. Newer facts of a source supersede its pending ones (they describe
the same things later), and the backlog holds at most ``max_sources`` sources:
beyond that the oldest pending source is dropped and its facts counted. Facts the
ledger refuses as data (a NUL byte in PostgreSQL text, a value out of range) are never
kept: no retry could write them; they are dropped and counted too.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
from typing import Mapping

from core.observation import Fact


@dataclasses.dataclass(frozen=True, eq=False)
class PendingFacts:
    """One poll's facts as they would have been recorded."""

    collector: str
    facts: tuple[Fact, ...]
    tags: Mapping[str, str]
    seen_at: dt.datetime


class FactBacklog:
    """A bounded map of source name to its newest unwritten facts."""

    def __init__(self, max_sources: int = 1000) -> None:
        self.max_sources = max_sources
        self._pending: collections.OrderedDict[str, PendingFacts] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.write_errors = 0
        self.dropped_facts = 0
        self.retried_facts = 0

    def keep(self, source: str, pending: PendingFacts) -> None:
        """Keep a poll's facts that could not be written (replacing older ones of the source)."""
        with self._lock:
            self.write_errors += 1
            self._pending.pop(source, None)
            self._pending[source] = pending
            while len(self._pending) > self.max_sources:
                _, oldest = self._pending.popitem(last=False)
                self.dropped_facts += len(oldest.facts)

    def refused(self, source: str, pending: PendingFacts) -> None:
        """The ledger refused ``pending`` as data (it can never be written): drop it, counted."""
        with self._lock:
            self.write_errors += 1
            self.dropped_facts += len(pending.facts)
            if self._pending.get(source) is pending:
                del self._pending[source]

    def superseded(self, source: str) -> None:
        """Newer facts of ``source`` were written: its pending ones are out of date."""
        with self._lock:
            self._pending.pop(source, None)

    def snapshot(self) -> list[tuple[str, PendingFacts]]:
        """The pending facts, oldest first."""
        with self._lock:
            return list(self._pending.items())

    def is_pending(self, source: str, pending: PendingFacts) -> bool:
        """Whether ``pending`` is still the newest unwritten facts of ``source``."""
        with self._lock:
            return self._pending.get(source) is pending

    def written(self, source: str, pending: PendingFacts) -> None:
        """A retry wrote ``pending``: forget it, unless newer facts replaced it meanwhile."""
        with self._lock:
            if self._pending.get(source) is pending:
                del self._pending[source]
                self.retried_facts += len(pending.facts)

    def stats(self) -> dict[str, float]:
        """Figures for /metrics."""
        with self._lock:
            return {"ledger_pending_fact_sources": float(len(self._pending)),
                    "ledger_pending_facts": float(sum(len(p.facts)
                                                      for p in self._pending.values())),
                    "ledger_fact_write_errors_total": float(self.write_errors),
                    "ledger_retried_facts_total": float(self.retried_facts),
                    "ledger_dropped_facts_total": float(self.dropped_facts)}
