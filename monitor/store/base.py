"""The time-series store protocol shared by every backend.

A store takes line protocol and reads series back, raw or aggregated per interval with tag
filters. There is one write path: :meth:`TimeSeriesStore.write_lines`, which the spool's
batches take in production; :meth:`StoreBase.write` (samples, for tests, benchmarks and
tools) serializes exactly as the spool does and hands the bytes to that same method, so a
backend cannot store a sample written one way differently from one written the other.
Every backend subclasses :class:`StoreBase` and passes the contract suite in
``tests/store/contract.py``.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Iterable, Mapping, Protocol, Sequence, runtime_checkable

from core.observation import Sample
from monitor.lineprotocol import Serializer

#: Aggregations every backend supports for :meth:`TimeSeriesStore.query`.
AGGREGATES = ("mean", "max", "min", "last", "sum", "count")

#: A tag filter: tag name to one value or a list of accepted values.
TagFilter = Mapping[str, str | Sequence[str]]


@dataclasses.dataclass(frozen=True)
class SeriesKey:
    """Identity of one stored series: measurement, tags and field."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    field: str

    @property
    def tag_dict(self) -> dict[str, str]:
        """The tags as a plain dict."""
        return dict(self.tags)


@dataclasses.dataclass
class Series:
    """A read series: its key and points as (epoch seconds, value), oldest first."""

    key: SeriesKey
    points: list[tuple[float, float]]


class StoreError(Exception):
    """A store could not write or read; the message says why. Writes are retried."""


class RejectedBatch(StoreError):
    """The store refused a batch as malformed (HTTP 4xx): retrying cannot help."""


@runtime_checkable
class TimeSeriesStore(Protocol):
    """What the monitor and the web need from a time-series backend."""

    def write(self, samples: Iterable[Sample]) -> int:
        """Store samples through :meth:`write_lines`; return the number written.

        Provided by :class:`StoreBase`; no backend overrides it.
        """

    def write_lines(self, data: bytes) -> int:
        """Store a batch of line protocol (as spooled); return the samples (lines) written.

        The one write path. Writing the same series and timestamp again replaces the
        value, so a replayed batch is harmless. Raises :class:`RejectedBatch` when the
        batch itself is bad and :class:`StoreError` when the write may succeed later.
        """

    def query(self, measurement: str, field: str, start: float, end: float, *,
              interval: float | None = None, agg: str = "mean",
              tags: TagFilter | None = None) -> list[Series]:
        """Return one series per matching tag set over ``[start, end)`` (epoch seconds).

        With ``interval`` (seconds) points are aggregated per epoch-aligned bucket
        with ``agg`` (see :data:`AGGREGATES`) and stamped with the bucket start;
        without it raw points come back.
        """

    def series(self, measurement: str | None = None,
               tags: TagFilter | None = None) -> list[SeriesKey]:
        """List the stored series, optionally filtered."""

    def maintain(self, now: float | None = None) -> None:
        """Do periodic housekeeping (rollups, retention); may be a no-op."""

    def stats(self) -> dict[str, float]:
        """The backend's own figures (names without prefix, finite, not negative).

        The scheduler publishes them as ``store_<name>`` for ``/metrics``."""

    def close(self) -> None:
        """Release connections and files."""


class StoreBase:
    """What every backend shares: the samples' way into the one write path."""

    def __init__(self) -> None:
        self._serializer = Serializer()
        self._serialize_lock = threading.Lock()

    def write(self, samples: Iterable[Sample]) -> int:
        """Serialize ``samples`` as the spool does and store them with ``write_lines``.

        Samples with nothing storable (no finite field) are left out and not counted."""
        with self._serialize_lock:
            data = self._serializer.serialize(samples)
        return self.write_lines(data) if data else 0

    def write_lines(self, data: bytes) -> int:  # pragma: no cover - every backend has one
        """See :meth:`TimeSeriesStore.write_lines`."""
        raise NotImplementedError


def tags_match(tags: Mapping[str, str], wanted: TagFilter | None) -> bool:
    """Return True when ``tags`` satisfies every entry of the filter ``wanted``."""
    for name, accepted in (wanted or {}).items():
        value = tags.get(name)
        if isinstance(accepted, str):
            if value != accepted:
                return False
        elif value not in accepted:
            return False
    return True


def check_query(start: float, end: float, interval: float | None, agg: str) -> None:
    """Reject malformed queries with a StoreError that says why."""
    if agg not in AGGREGATES:
        raise StoreError(f"unknown aggregate {agg!r}; use one of {', '.join(AGGREGATES)}")
    if end <= start:
        raise StoreError("query end must be after its start")
    if interval is not None and interval < 0.001:
        raise StoreError("query interval must be at least 1 ms")
