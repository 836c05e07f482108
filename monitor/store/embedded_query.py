"""Query planning for the embedded store: which tier serves which part of a range.

For an aggregated query the planner picks the coarsest tier whose step divides
the interval, lets it serve the step-aligned middle of the range up to its
watermark, and hands the unaligned head, the tail and anything after the
watermark to the next finer tier, down to raw points. Partial buckets from
different tiers are merged exactly (sum and count for means, the latest
timestamp for ``last``).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Callable

from monitor.store.base import Series, SeriesKey

CHUNK = 500

# Partial aggregates per aggregate name: SQL over raw points, SQL over rollups.
_PARTIAL_SQL = {
    "mean": ("count(*), sum(value)", "sum(count), sum(sum)"),
    "count": ("count(*)", "sum(count)"),
    "sum": ("sum(value)", "sum(sum)"),
    "min": ("min(value)", "min(min)"),
    "max": ("max(value)", "max(max)"),
    # SQLite takes bare columns from the row holding the only max() of a group.
    "last": ("max(ts), value", "max(last_ts), last"),
}


@dataclasses.dataclass(frozen=True)
class Tier:
    """A storage tier: name, bucket step (0 for raw points) and partition span, in ms."""

    name: str
    step: int
    span: int

    def table_for(self, ts: int) -> str:
        """Name of the partition table holding timestamp ``ts``."""
        return f"{self.name}_{ts // self.span}"

    def start_of(self, table: str) -> int:
        """First timestamp of a partition table."""
        return int(table.rsplit("_", 1)[1]) * self.span

    def overlaps(self, table: str, begin: int, end: int) -> bool:
        """Whether the partition intersects ``[begin, end)``."""
        start = self.start_of(table)
        return start < end and start + self.span > begin


class QueryPlanner:
    """Runs raw and aggregated reads over the tiers of one store."""

    def __init__(self, tiers: tuple[Tier, ...],
                 connection: Callable[[], sqlite3.Connection]) -> None:
        self.tiers = tiers
        self._connection = connection

    def run(self, ids: dict[int, SeriesKey], start: int, end: int, interval: int | None,
            agg: str, watermarks: dict[str, int | None]) -> list:
        """Return Series for ``ids`` over ``[start, end)`` in ms."""
        conn = self._connection()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type='table'")}
        if interval is None:
            return self._raw(conn, tables, ids, start, end)
        chosen = max(i for i, t in enumerate(self.tiers)
                     if t.step == 0 or (t.step <= interval and interval % t.step == 0))
        merged: dict[tuple[int, int], object] = {}
        for tier, lo, hi in self._segments(chosen, start, end, watermarks):
            for table in sorted(t for t in tables if t.startswith(tier.name + "_")
                                and tier.overlaps(t, lo, hi)):
                self._aggregate(conn, tier, table, ids, lo, hi, interval, agg, merged)
        return _to_series(ids, merged, agg)

    def _segments(self, index: int, lo: int, hi: int, watermarks) -> list[tuple[Tier, int, int]]:
        tier = self.tiers[index]
        if lo >= hi:
            return []
        if tier.step == 0:
            return [(tier, lo, hi)]
        mark = watermarks.get(tier.name)
        first = -(-lo // tier.step) * tier.step
        last = min(hi - hi % tier.step, mark if mark is not None else first)
        if first >= last:
            return self._segments(index - 1, lo, hi, watermarks)
        return (self._segments(index - 1, lo, first, watermarks) + [(tier, first, last)]
                + self._segments(index - 1, last, hi, watermarks))

    def _aggregate(self, conn, tier: Tier, table: str, ids, lo: int, hi: int, interval: int,
                   agg: str, merged: dict) -> None:
        partial = _PARTIAL_SQL[agg][0 if tier.step == 0 else 1]
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            sql = (f"SELECT series_id, ts / {interval} * {interval} AS b, {partial} FROM {table} "
                   f"WHERE series_id IN ({marks}) AND ts >= ? AND ts < ? GROUP BY series_id, b")
            for sid, bucket, *values in conn.execute(sql, (*chunk, lo, hi)):
                _merge(merged, (sid, bucket), agg, values)

    def _raw(self, conn, tables, ids, start: int, end: int) -> list[Series]:
        raw = self.tiers[0]
        points: dict[int, list[tuple[float, float]]] = {sid: [] for sid in ids}
        for table in sorted((t for t in tables if t.startswith(raw.name + "_")
                             and raw.overlaps(t, start, end)), key=raw.start_of):
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT series_id, ts, value FROM {table} WHERE series_id IN ({marks}) "
                    f"AND ts >= ? AND ts < ? ORDER BY series_id, ts", (*chunk, start, end))
                for sid, ts, value in rows:
                    points[sid].append((ts / 1000.0, value))
        return [Series(ids[sid], pts) for sid, pts in sorted(points.items(),
                                                              key=lambda i: ids[i[0]].tags)
                if pts]


def _merge(merged: dict, key: tuple[int, int], agg: str, values: list) -> None:
    current = merged.get(key)
    if agg == "mean":
        count, total = values
        merged[key] = (count, total) if current is None else (current[0] + count,
                                                              current[1] + total)
    elif agg in ("sum", "count"):
        merged[key] = values[0] if current is None else current + values[0]
    elif agg == "min":
        merged[key] = values[0] if current is None else min(current, values[0])
    elif agg == "max":
        merged[key] = values[0] if current is None else max(current, values[0])
    else:  # last: (timestamp, value), newest wins
        merged[key] = tuple(values) if current is None or values[0] >= current[0] else current


def _to_series(ids: dict[int, SeriesKey], merged: dict, agg: str) -> list[Series]:
    points: dict[int, list[tuple[float, float]]] = {}
    for (sid, bucket), value in merged.items():
        if agg == "mean":
            value = value[1] / value[0]
        elif agg == "last":
            value = value[1]
        points.setdefault(sid, []).append((bucket / 1000.0, float(value)))
    return [Series(ids[sid], sorted(pts)) for sid, pts in
            sorted(points.items(), key=lambda item: ids[item[0]].tags)]


def _chunks(items: list[int]):
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]
