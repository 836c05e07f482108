"""Daily utilization summaries: the only view of time series the analyses read.

The scheduler turns each day's series into one :class:`~ledger.models.UtilizationDay` per
observed resource (``monitor.summaries``); idle detection, rightsizing, reports and the
compute ledger read those rows, never raw series. This module holds the arithmetic (mean,
95th percentile, max of a day's per-minute values) and the reads and writes of the table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

from sqlalchemy import Connection, delete, select

from ledger.models import SummaryDay, UtilizationDay

UTC = dt.timezone.utc
METRICS = ("cpu", "memory", "net_in", "net_out", "disk")
STATS = ("mean", "p95", "max")
CHUNK = 2000


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (0 < share <= 1); values need not be sorted."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def describe(values: Sequence[float]) -> dict[str, float]:
    """Mean, p95 and max of one day's values of one metric."""
    return {"mean": sum(values) / len(values), "p95": percentile(values, 0.95),
            "max": max(values)}


@dataclasses.dataclass
class Day:
    """One resource's day: per-metric statistics (:func:`describe` of its minutes) and the
    share of the day covered."""

    asset_id: int
    stats: dict[str, dict[str, float]]
    coverage: float

    def row(self, day: dt.date, min_coverage: float, demo: bool = False) -> dict:
        """The ``utilization_day`` row."""
        row = {"asset_id": self.asset_id, "day": day, "coverage": round(self.coverage, 4),
               "low_coverage": self.coverage < min_coverage, "demo": demo}
        for metric in METRICS:
            stats = self.stats.get(metric, {})
            for stat in STATS:
                value = stats.get(stat)
                row[f"{metric}_{stat}"] = None if value is None else round(value, 4)
        return row


def write_day(conn: Connection, day: dt.date, rows: Iterable[dict], *, resources: int,
              now: dt.datetime, demo: bool = False) -> None:
    """Replace one day's (non-demo) summaries and mark the day done; with ``demo`` the
    rows are the demo's generated history and replace every row of the day. A non-demo
    pass leaves a resource's demo row of the day as it is."""
    table = UtilizationDay.__table__
    if demo:
        conn.execute(delete(table).where(table.c.day == day))
        rows = list(rows)
    else:
        conn.execute(delete(table).where(table.c.day == day, table.c.demo.is_(False)))
        kept = set(conn.execute(select(table.c.asset_id).where(
            table.c.day == day, table.c.demo.is_(True))).scalars())
        rows = [row for row in rows if row["asset_id"] not in kept]
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start:start + CHUNK])
    marks = SummaryDay.__table__
    conn.execute(delete(marks).where(marks.c.day == day))
    conn.execute(marks.insert().values(day=day, resources=resources, finished_at=now))


def done_days(conn: Connection, since: dt.date) -> set[dt.date]:
    """Days from ``since`` whose summaries are complete."""
    marks = SummaryDay.__table__
    return set(conn.execute(select(marks.c.day).where(marks.c.day >= since)).scalars())


def recent(conn: Connection, since: dt.date, until: dt.date | None = None,
           asset_ids: Iterable[int] | None = None) -> Mapping[int, list]:
    """Summaries from ``since`` (to ``until`` inclusive) per asset, oldest day first."""
    table = UtilizationDay.__table__
    query = select(table).where(table.c.day >= since).order_by(table.c.asset_id, table.c.day)
    if until is not None:
        query = query.where(table.c.day <= until)
    if asset_ids is not None:
        query = query.where(table.c.asset_id.in_(sorted(asset_ids)))
    out: dict[int, list] = defaultdict(list)
    for row in conn.execute(query):
        out[row.asset_id].append(row)
    return out
