"""Daily utilization summaries: a day of series from the store becomes one row per resource.

Which series measure which resource is data (:data:`SIGNALS`): per collector kind, the
measurement and field of each metric (CPU %, memory %, network in and out in bit/s,
disk used %), the tags that pick the series, and how a series names its resource — the
target's own asset (a host, a device), or a tag (a VM's ``uuid``, a hypervisor's name)
matched against a column of the observed assets of that target. Series are read per
minute; a resource's several series (a switch's interfaces) are summed or maxed per
minute before the day's mean, p95 and max are taken. Coverage is the share of the day
that had samples, given the target's interval.

The scheduler runs :func:`summarize` after each day and backfills days that are missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ledger.db import Ledger
from ledger.models import ObservedAsset, TargetState
from ledger.utilization import Day, describe, done_days, write_day
from monitor.store.base import StoreError, TimeSeriesStore

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
STEP = 60
#: Targets read per query: bounds memory by a chunk's series, not the estate's.
CHUNK_TARGETS = 200


@dataclasses.dataclass(frozen=True)
class Signal:
    """One metric of one collector's resources.

    ``link`` is None when the series belong to the target's own asset of ``kind``;
    otherwise it is the series tag naming the resource, matched against the observed
    column ``match`` of assets of ``kind`` from the same target. With ``ratio`` the value
    is ``field / ratio * 100``; ``scale`` multiplies it (bytes/s to bit/s: 8).
    """

    metric: str
    measurement: str
    field: str
    kind: str
    filters: tuple[tuple[str, str], ...] = ()
    link: str | None = None
    match: str = "instance_uuid"
    combine: str = "sum"
    scale: float = 1.0
    ratio: str | None = None


def _host(kind: str) -> tuple[Signal, ...]:
    return (Signal("cpu", "cpu", "usage_percent", kind, (("cpu", "cpu-total"),)),
            Signal("memory", "mem", "used_percent", kind),
            Signal("net_in", "net", "rx_bytes_per_second", kind, scale=8),
            Signal("net_out", "net", "tx_bytes_per_second", kind, scale=8),
            Signal("disk", "disk", "used_percent", kind, combine="max"))


#: Collector kind -> the signals of its resources.
SIGNALS: dict[str, tuple[Signal, ...]] = {
    "host": _host("host"),
    "prometheus": _host("host"),
    "snmp": (Signal("cpu", "cpu", "usage_percent", "device", (("cpu", "cpu-total"),)),
             Signal("memory", "storage", "used_percent", "device", (("type", "ram"),),
                    combine="max"),
             Signal("net_in", "interface", "rx_bytes_per_second", "device", scale=8),
             Signal("net_out", "interface", "tx_bytes_per_second", "device", scale=8),
             Signal("disk", "storage", "used_percent", "device", (("type", "fixed_disk"),),
                    combine="max")),
    "libvirt": (Signal("cpu", "vm", "cpu_usage_percent", "instance", link="uuid"),
                Signal("memory", "vm", "memory_used_bytes", "instance", link="uuid",
                       ratio="memory_bytes"),
                Signal("net_in", "vm_net", "rx_bytes_per_second", "instance", link="domain",
                       match="hostname", scale=8),
                Signal("net_out", "vm_net", "tx_bytes_per_second", "instance", link="domain",
                       match="hostname", scale=8)),
    "vsphere": (Signal("cpu", "vm", "cpu_usage_percent", "instance", link="uuid"),
                Signal("memory", "vm", "memory_used_bytes", "instance", link="uuid",
                       ratio="memory_bytes"),
                Signal("cpu", "hypervisor", "cpu_usage_percent", "hypervisor",
                       link="hypervisor", match="hostname"),
                Signal("memory", "hypervisor", "memory_usage_percent", "hypervisor",
                       link="hypervisor", match="hostname")),
    "kubernetes": (Signal("cpu", "k8s_node", "cpu_usage_cores", "node", link="node",
                          match="hostname", ratio="cpu_capacity_cores"),
                   Signal("memory", "k8s_node", "memory_usage_bytes", "node", link="node",
                          match="hostname", ratio="memory_capacity_bytes")),
}


class AssetIndex:
    """Observed assets by what series call them."""

    def __init__(self, rows: Iterable) -> None:
        self.own: dict[tuple[str, str], int] = {}
        self.linked: dict[tuple[str, str, str, str], int] = {}
        for row in rows:
            self.own.setdefault((row.source, row.kind), row.id)
            for column, value in (("instance_uuid", row.instance_uuid),
                                  ("hostname", row.hostname)):
                if value:
                    self.linked[(row.source, row.kind, column, str(value).lower())] = row.id

    def find(self, signal: Signal, tags: dict[str, str]) -> int | None:
        """The asset a series with ``tags`` measures, or None."""
        target = tags.get("target", "")
        if signal.link is None:
            return self.own.get((target, signal.kind))
        value = tags.get(signal.link)
        if not value:
            return None
        return self.linked.get((target, signal.kind, signal.match, value.lower()))


def day_bounds(day: dt.date, timezone: str) -> tuple[float, float]:
    """Epoch seconds of the start and end of ``day`` in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(0), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
    return start.timestamp(), end.timestamp()


def collect_day(store: TimeSeriesStore, index: AssetIndex, intervals: dict[str, float],
                day: dt.date, timezone: str, sources: dict[str, set[str]]) -> list[Day]:
    """Read one day of every signal; one Day per resource that had samples.

    ``sources`` maps collector kinds to their targets. Targets are read in chunks and each
    signal's statistics are taken as soon as its series are in, so memory stays bounded
    by one chunk's series, whatever the size of the estate."""
    start, end = day_bounds(day, timezone)
    stats: dict[int, dict[str, dict[str, float]]] = defaultdict(dict)
    minutes: dict[int, int] = defaultdict(int)
    targets: dict[int, str] = {}
    for collector, names in sorted(sources.items()):
        ordered = sorted(names)
        for first in range(0, len(ordered), CHUNK_TARGETS):
            chunk = ordered[first:first + CHUNK_TARGETS]
            for signal in SIGNALS.get(collector, ()):
                per_asset = _combined(store, index, signal, start, end, chunk, targets)
                for asset, per_minute in per_asset.items():
                    stats[asset][signal.metric] = describe(list(per_minute.values()))
                    minutes[asset] = max(minutes[asset], len(per_minute))
    days = []
    for asset, metrics in stats.items():
        step = max(STEP, intervals.get(targets[asset]) or STEP)
        days.append(Day(asset, metrics, min(1.0, minutes[asset] * step / (end - start))))
    return days


def _combined(store: TimeSeriesStore, index: AssetIndex, signal: Signal, start: float,
              end: float, chunk: list[str], targets: dict[int, str]
              ) -> dict[int, dict[float, float]]:
    """Per asset, the signal's value per minute, its several series combined."""
    by_asset: dict[int, list[dict[float, float]]] = defaultdict(list)
    for asset, target, points in _read(store, index, signal, start, end, chunk):
        by_asset[asset].append(points)
        targets[asset] = target
    out = {}
    for asset, series in by_asset.items():
        if len(series) == 1:      # most signals: one series per resource
            out[asset] = series[0]
            continue
        merged: dict[float, list[float]] = defaultdict(list)
        for points in series:
            for minute, value in points.items():
                merged[minute].append(value)
        out[asset] = {minute: _combine(v, signal.combine) for minute, v in merged.items()}
    return out


def _read(store: TimeSeriesStore, index: AssetIndex, signal: Signal, start: float,
          end: float, chunk: list[str]):
    """(asset, target, {minute: value}) of every series of ``signal`` over the day."""
    tags = {**dict(signal.filters), "target": chunk}
    series = store.query(signal.measurement, signal.field, start, end, interval=STEP,
                         agg="mean", tags=tags)
    divisors = {}
    if signal.ratio:
        divisors = {s.key.tags: dict(s.points) for s in store.query(
            signal.measurement, signal.ratio, start, end, interval=STEP, agg="mean", tags=tags)}
    scale = signal.scale
    for one in series:
        tag_dict = one.key.tag_dict
        asset = index.find(signal, tag_dict)
        if asset is None:
            continue
        if signal.ratio:
            below = divisors.get(one.key.tags) or {}
            points = {ts: value / below[ts] * 100 * scale for ts, value in one.points
                      if below.get(ts)}
        else:
            points = {ts: value * scale for ts, value in one.points}
        yield asset, tag_dict.get("target", ""), points


def _combine(values: list[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "mean":
        return sum(values) / len(values)
    return sum(values)


def summarize(ledger: Ledger, store: TimeSeriesStore, *, timezone: str, min_coverage: float,
              now: dt.datetime | None = None, days_back: int = 35,
              redo: Iterable[dt.date] = (), demo: bool = False,
              intervals: dict[str, float] | None = None) -> list[dt.date]:
    """Summarize every finished day of the last ``days_back`` not yet done (and ``redo``);
    return the days written.

    ``demo`` marks the rows as demo data (generated history, see ``monitor.demo``);
    ``intervals`` gives the sample interval of sources that are no configured target (a
    generated history), so their coverage is judged by their own step."""
    now = now or dt.datetime.now(UTC)
    today = now.astimezone(ZoneInfo(timezone)).date()
    first = today - dt.timedelta(days=days_back)
    with ledger.engine.connect() as conn:
        done = done_days(conn, first)
        rows = conn.execute(select(ObservedAsset.id, ObservedAsset.source, ObservedAsset.kind,
                                   ObservedAsset.instance_uuid, ObservedAsset.hostname,
                                   ObservedAsset.collector)).all()
        intervals = {**dict(conn.execute(select(TargetState.name,
                                                TargetState.interval_seconds)).all()),
                     **(intervals or {})}
    index = AssetIndex(rows)
    sources: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.collector in SIGNALS:
            sources[row.collector].add(row.source)
    todo = sorted({first + dt.timedelta(days=n) for n in range(days_back)
                   if first + dt.timedelta(days=n) not in done} | set(redo))
    written = []
    for day in todo:
        if day >= today:
            continue
        try:
            days = collect_day(store, index, intervals, day, timezone, sources)
        except StoreError as exc:
            _LOGGER.warning("Summaries of %s postponed: the store cannot be read: %s", day, exc)
            break
        if not days:
            continue   # nothing stored for that day (yet): look again next time
        with ledger.engine.begin() as conn:
            write_day(conn, day, [d.row(day, min_coverage, demo) for d in days],
                      resources=len(days), now=now, demo=demo)
        written.append(day)
    if written:
        _LOGGER.info("Daily summaries written for %s day(s), last %s", len(written), written[-1])
    return written
