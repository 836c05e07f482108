"""Which charts a target page shows: known measurements first, then the rest.

A chart is a (measurement, field) pair with a title, a unit and the tag that
names each line. Known measurements get curated charts; any other stored
measurement of the target gets one chart per field, so a new collector's
series show up without code here.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from monitor.store.base import SeriesKey


@dataclasses.dataclass(frozen=True)
class ChartSpec:
    """One chart on a target page."""

    measurement: str
    field: str
    title_key: str
    unit: str = ""
    label_tag: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    agg: str = "mean"


KNOWN: tuple[ChartSpec, ...] = (
    ChartSpec("cpu", "usage_percent", "chart_cpu_usage", "%", "cpu", (("cpu", "cpu-total"),)),
    ChartSpec("system", "load1", "chart_load", ""),
    ChartSpec("mem", "used_percent", "chart_mem_used", "%"),
    ChartSpec("swap", "used_percent", "chart_swap_used", "%"),
    ChartSpec("disk", "used_percent", "chart_disk_used", "%", "path"),
    ChartSpec("net", "rx_bytes_per_second", "chart_net_rx", "B/s", "interface"),
    ChartSpec("net", "tx_bytes_per_second", "chart_net_tx", "B/s", "interface"),
    ChartSpec("diskio", "util_percent", "chart_diskio_util", "%", "name"),
    ChartSpec("diskio", "read_bytes_per_second", "chart_diskio_read", "B/s", "name"),
    ChartSpec("diskio", "write_bytes_per_second", "chart_diskio_write", "B/s", "name"),
)
KNOWN_MEASUREMENTS = {spec.measurement for spec in KNOWN}
#: Tags every sample carries that never name a line.
COMMON_TAGS = {"target", "department", "datacenter", "network", "region"}


def charts_for(keys: Iterable[SeriesKey]) -> list[ChartSpec]:
    """Return the charts for a target that stores the series ``keys``."""
    keys = list(keys)
    present = {(k.measurement, k.field) for k in keys}
    charts = [spec for spec in KNOWN if (spec.measurement, spec.field) in present]
    generic: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        if key.measurement not in KNOWN_MEASUREMENTS:
            generic.setdefault((key.measurement, key.field), set()).update(
                name for name, _ in key.tags if name not in COMMON_TAGS)
    for (measurement, field), tag_names in sorted(generic.items()):
        label = sorted(tag_names)[0] if tag_names else None
        charts.append(ChartSpec(measurement, field, f"{measurement}.{field}", _unit(field), label))
    return charts


def _unit(field: str) -> str:
    for suffix, unit in (("_percent", "%"), ("_bytes_per_second", "B/s"), ("_bytes", "B"),
                         ("_seconds", "s"), ("_per_second", "/s")):
        if field.endswith(suffix):
            return unit
    return ""
