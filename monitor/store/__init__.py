"""Time-series stores behind one protocol, picked by one factory switch."""

from __future__ import annotations

from monitor.store.base import (AGGREGATES, Series, SeriesKey, StoreError, TimeSeriesStore,
                                tags_match)

__all__ = ["AGGREGATES", "Series", "SeriesKey", "StoreError", "TimeSeriesStore", "open_store",
           "tags_match"]


def open_store(backend: str, *, path, retention: dict[str, float] | None = None
               ) -> TimeSeriesStore:
    """Open the store named by ``backend``; unknown names are rejected."""
    if backend == "embedded":
        from monitor.store.embedded import EmbeddedStore
        return EmbeddedStore(path, retention)
    raise ValueError(f"unknown time-series store backend {backend!r}; known: embedded")
