"""A small time-bounded cache of computed page data, one per app.

Pages that show analyses over the whole ledger (the leadership screen) keep the result for
a short while, so many displays refreshing at once cost one computation. Results are only
ever read; a lock per key keeps two requests from computing the same key at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable

from flask import current_app

EXTENSION = "infra_ledger_page_cache"


class PageCache:
    """Values by key, each kept ``ttl`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._values: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, ttl: float, compute: Callable[[], Any]) -> Any:
        """The value of ``key`` computed at most ``ttl`` seconds ago, else ``compute()``'s."""
        if ttl <= 0:
            return compute()
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            found = self._values.get(key)
            if found is not None and self.clock() - found[0] < ttl:
                return found[1]
            value = compute()
            self._values[key] = (self.clock(), value)
            return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()


def cached(key: Hashable, ttl: float, compute: Callable[[], Any]) -> Any:
    """:meth:`PageCache.get` on the running app's cache."""
    cache = current_app.extensions.setdefault(EXTENSION, PageCache())
    return cache.get(key, ttl, compute)
