"""Which charts a target page shows: known measurements first, then the rest.

A chart is a (measurement, field) pair with a title, a unit, the tag that
names each line and how it is drawn (``kind``: a gauge as lines, a counter as
its rate, a state as a state timeline). Known measurements get curated charts;
any other stored measurement of the target gets one chart per field, so a new
collector's series show up without code here. A counter whose collector already
stores its rate (``rx_bytes`` beside ``rx_bytes_per_second``) is left out.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from dashboards.figures import field_kind
from ledger import i18n
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
    kind: str = "gauge"      # gauge | rate (of a counter) | state


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
    ChartSpec("interface", "rx_utilization_percent", "chart_if_rx_util", "%", "ifname"),
    ChartSpec("interface", "tx_utilization_percent", "chart_if_tx_util", "%", "ifname"),
    ChartSpec("interface", "rx_bytes_per_second", "chart_net_rx", "B/s", "ifname"),
    ChartSpec("interface", "tx_bytes_per_second", "chart_net_tx", "B/s", "ifname"),
    ChartSpec("interface", "oper_up", "chart_if_oper", "", "ifname", agg="last", kind="state"),
    ChartSpec("poll", "up", "chart_poll_up", "", agg="min", kind="state"),
    ChartSpec("poll", "duration_seconds", "chart_poll_duration", "s"),
)
KNOWN_MEASUREMENTS = {spec.measurement for spec in KNOWN} - {"interface"}
KNOWN_PAIRS = {(spec.measurement, spec.field) for spec in KNOWN}
#: Tags every sample carries that never name a line; ``demo`` marks generated history,
#: which continues the live series of the same name rather than drawing a line of its own.
COMMON_TAGS = {"target", "department", "datacenter", "network", "region", "demo"}


def charts_for(keys: Iterable[SeriesKey]) -> list[ChartSpec]:
    """Return the charts for a target that stores the series ``keys``."""
    keys = list(keys)
    present = {(k.measurement, k.field) for k in keys}
    charts = [spec for spec in KNOWN if (spec.measurement, spec.field) in present]
    generic: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        if key.measurement not in KNOWN_MEASUREMENTS and \
                (key.measurement, key.field) not in KNOWN_PAIRS:
            generic.setdefault((key.measurement, key.field), set()).update(
                name for name, _ in key.tags if name not in COMMON_TAGS)
    for (measurement, field), tag_names in sorted(generic.items()):
        kind = field_kind(field)
        if kind == "counter" and (measurement, f"{field}_per_second") in present:
            continue
        label = "ifname" if "ifname" in tag_names else sorted(tag_names)[0] if tag_names \
            else None
        if kind == "state":
            charts.append(ChartSpec(measurement, field, f"{measurement}.{field}", "", label,
                                    agg="last", kind="state"))
        elif kind == "counter":
            charts.append(ChartSpec(measurement, field, f"{measurement}.{field}",
                                    _unit(field) + "/s", label, agg="max", kind="rate"))
        else:
            charts.append(ChartSpec(measurement, field, f"{measurement}.{field}", _unit(field),
                                    label))
    return charts


UNITS = (("_percent", "%"), ("_celsius", "°C"), ("_watts", "W"), ("_volts", "V"),
         ("_amperes", "A"), ("_bps", "bit/s"), ("_bytes_per_second", "B/s"), ("_bytes", "B"),
         ("_seconds", "s"), ("_per_second", "/s"))


def _unit(field: str) -> str:
    for suffix, unit in UNITS:
        if field.endswith(suffix):
            return unit
    return ""


#: Names of measurements and fields a generic chart's title is made of.
i18n.register("series", {
    "interface": ("接口", "Interface"), "snmp": ("SNMP", "SNMP"), "poll": ("采集", "Poll"),
    "ups": ("UPS", "UPS"), "sensor": ("传感器", "Sensor"), "bmc": ("带外管理", "BMC"),
    "power": ("电源", "Power"), "cpu": ("CPU", "CPU"), "mem": ("内存", "Memory"),
    "disk": ("磁盘", "Disk"), "net": ("网络", "Network"), "system": ("系统", "System"),
    "rx": ("入方向", "in"), "tx": ("出方向", "out"), "packets": ("包", "packets"),
    "bytes": ("字节", "bytes"), "errors": ("错误", "errors"), "discards": ("丢弃", "discards"),
    "per": ("每", "per"), "second": ("秒", "second"), "varbinds": ("采集变量数", "variables"),
    "speed": ("速率", "speed"), "bps": ("bit/s", "bit/s"), "temperature": ("温度", "temperature"),
    "celsius": ("°C", "°C"), "watts": ("功率", "power (W)"), "volts": ("电压", "voltage"),
    "percent": ("百分比", "percent"), "utilization": ("利用率", "utilization"),
    "battery": ("电池", "battery"), "load": ("负载", "load"), "input": ("输入", "input"),
    "output": ("输出", "output"), "status": ("状态", "status"), "up": ("在线", "up"),
    "oper": ("运行", "operational"), "admin": ("管理", "admin"), "duration": ("耗时", "duration"),
    "seconds": ("秒", "seconds"), "count": ("数", "count"), "total": ("总计", "total"),
    "charge": ("电量", "charge"), "remaining": ("剩余", "remaining"), "fan": ("风扇", "fan"),
    "rpm": ("转速", "rpm"), "used": ("已用", "used"), "free": ("可用", "free"),
})


def series_title(measurement: str, field: str, language: str) -> str:
    """A generic chart's title from its measurement and field, word by word in
    ``language`` (``interface.rx_packets_per_second``: 接口 入方向包每秒 / Interface in
    packets per second); a word the catalogue lacks stays as it is."""
    def words(text: str) -> list[str]:
        return [i18n.dgettext("series", w, language) if i18n.has(w, "series") else w
                for w in text.split("_") if w]
    def join(parts: list[str]) -> str:
        if language != "zh":
            return " ".join(parts)
        out = ""
        for part in parts:   # Chinese words run together, Latin ones keep a space
            out += (" " if out and out[-1].isascii() and part[:1].isascii() else "") + part
        return out
    if field.endswith("_per_second"):
        body = join(words(field.removesuffix("_per_second")))
        field_text = body + "速率" if language == "zh" else body + " per second"
    else:
        field_text = join(words(field))
    return f"{join(words(measurement))} · {field_text}"
