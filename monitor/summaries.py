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
from ledger.utilization import Day, done_days, write_day
from monitor.store.base import StoreError, TimeSeriesStore

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
STEP = 60


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
                day: dt.date, timezone: str, collectors: Iterable[str]) -> list[Day]:
    """Read one day of every signal of the given collector kinds; one Day per resource."""
    start, end = day_bounds(day, timezone)
    # asset -> metric -> minute -> [values of the asset's series]
    buckets: dict[int, dict[str, dict[float, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    combine: dict[str, str] = {}
    targets: dict[int, str] = {}
    seen = set()
    for collector in sorted(set(collectors)):
        for signal in SIGNALS.get(collector, ()):
            if (signal.measurement, signal.field, signal.kind, signal.filters) in seen:
                continue
            seen.add((signal.measurement, signal.field, signal.kind, signal.filters))
            for asset, target, minute, value in _read(store, index, signal, start, end):
                buckets[asset][signal.metric][minute].append(value)
                combine[signal.metric] = signal.combine
                targets[asset] = target
    days = []
    for asset, metrics in buckets.items():
        values = {m: [_combine(v, combine[m]) for _t, v in sorted(per_minute.items())]
                  for m, per_minute in metrics.items()}
        minutes = max(len(per_minute) for per_minute in metrics.values())
        step = max(STEP, intervals.get(targets[asset]) or STEP)
        days.append(Day(asset, values, min(1.0, minutes * step / (end - start))))
    return days


def _read(store: TimeSeriesStore, index: AssetIndex, signal: Signal, start: float,
          end: float):
    """(asset, target, minute, value) of every series of ``signal`` over the day."""
    tags = dict(signal.filters)
    series = store.query(signal.measurement, signal.field, start, end, interval=STEP,
                         agg="mean", tags=tags or None)
    divisors = {}
    if signal.ratio:
        divisors = {s.key.tags: dict(s.points) for s in store.query(
            signal.measurement, signal.ratio, start, end, interval=STEP, agg="mean",
            tags=tags or None)}
    for one in series:
        tag_dict = one.key.tag_dict
        asset = index.find(signal, tag_dict)
        if asset is None:
            continue
        below = divisors.get(one.key.tags) if signal.ratio else None
        for ts, value in one.points:
            if signal.ratio:
                total = (below or {}).get(ts)
                if not total:
                    continue
                value = value / total * 100
            yield asset, tag_dict.get("target", ""), ts, value * signal.scale


def _combine(values: list[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "mean":
        return sum(values) / len(values)
    return sum(values)


def summarize(ledger: Ledger, store: TimeSeriesStore, *, timezone: str, min_coverage: float,
              now: dt.datetime | None = None, days_back: int = 35,
              redo: Iterable[dt.date] = ()) -> list[dt.date]:
    """Summarize every finished day of the last ``days_back`` not yet done (and ``redo``);
    return the days written."""
    now = now or dt.datetime.now(UTC)
    today = now.astimezone(ZoneInfo(timezone)).date()
    first = today - dt.timedelta(days=days_back)
    with ledger.engine.connect() as conn:
        done = done_days(conn, first)
        rows = conn.execute(select(ObservedAsset.id, ObservedAsset.source, ObservedAsset.kind,
                                   ObservedAsset.instance_uuid, ObservedAsset.hostname,
                                   ObservedAsset.collector)).all()
        intervals = dict(conn.execute(select(TargetState.name, TargetState.interval_seconds)
                                      ).all())
    index = AssetIndex(rows)
    collectors = {row.collector for row in rows}
    todo = sorted({first + dt.timedelta(days=n) for n in range(days_back)
                   if first + dt.timedelta(days=n) not in done} | set(redo))
    written = []
    for day in todo:
        if day >= today:
            continue
        try:
            days = collect_day(store, index, intervals, day, timezone, collectors)
        except StoreError as exc:
            _LOGGER.warning("Summaries of %s postponed: the store cannot be read: %s", day, exc)
            break
        if not days:
            continue   # nothing stored for that day (yet): look again next time
        with ledger.engine.begin() as conn:
            write_day(conn, day, [d.row(day, min_coverage) for d in days], resources=len(days),
                      now=now)
        written.append(day)
    if written:
        _LOGGER.info("Daily summaries written for %s day(s), last %s", len(written), written[-1])
    return written
