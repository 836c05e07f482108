"""node_exporter's metric families mapped onto the host collector's measurements.

The same measurement, tag and field names as ``collectors/host`` (``cpu``, ``system``,
``mem``, ``swap``, ``disk``, ``diskio``, ``net``), so dashboards and analyses treat a host
polled through node_exporter like one polled directly; and a ``host`` fact from
``node_uname_info``, ``node_os_info``, ``node_dmi_info``, ``node_cpu_info`` and
``node_network_info`` where the exporter has them.
"""

from __future__ import annotations

from collections import defaultdict

from collectors.base import Fact, Observation
from collectors.identity import clean_keys
from collectors.rates import RateTracker

IGNORED_FS = {"tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs", "ramfs",
              "nsfs", "tracefs", "rootfs"}
CPU_MODES = ("user", "system", "iowait", "steal", "idle")
NET = {"rx_bytes": "node_network_receive_bytes_total",
       "tx_bytes": "node_network_transmit_bytes_total",
       "rx_packets": "node_network_receive_packets_total",
       "tx_packets": "node_network_transmit_packets_total",
       "rx_errors": "node_network_receive_errs_total",
       "tx_errors": "node_network_transmit_errs_total",
       "rx_dropped": "node_network_receive_drop_total",
       "tx_dropped": "node_network_transmit_drop_total"}
NET_RATES = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors")
DISKIO = {"read_bytes": "node_disk_read_bytes_total",
          "write_bytes": "node_disk_written_bytes_total",
          "reads": "node_disk_reads_completed_total",
          "writes": "node_disk_writes_completed_total",
          "io_time_ms": "node_disk_io_time_seconds_total"}


def is_node_exporter(families: dict) -> bool:
    """Whether a scrape comes from node_exporter."""
    return "node_uname_info" in families or "node_cpu_seconds_total" in families


def _value(families: dict, name: str, **labels) -> float | None:
    for sample_labels, value in families.get(name, ()):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def _labels(families: dict, name: str) -> dict:
    samples = families.get(name) or [({}, 0.0)]
    return samples[0][0]


def map_samples(obs: Observation, families: dict, rates: RateTracker, now: float,
                stamp: int) -> None:
    """Add the host measurements of a node_exporter scrape to ``obs``."""
    _cpu(obs, families, rates, now, stamp)
    _system(obs, families, stamp)
    _memory(obs, families, stamp)
    _disks(obs, families, stamp)
    _counters(obs, families, rates, now, stamp, "diskio", "name", DISKIO,
              ("read_bytes", "write_bytes", "reads", "writes"))
    _counters(obs, families, rates, now, stamp, "net", "interface", NET, NET_RATES)


def _cpu(obs, families, rates, now, stamp) -> None:
    per_cpu: dict[str, dict[str, float]] = defaultdict(dict)
    for labels, value in families.get("node_cpu_seconds_total", ()):
        per_cpu[labels.get("cpu", "")][labels.get("mode", "")] = value
    totals: dict[str, float] = defaultdict(float)
    for modes in per_cpu.values():
        for mode, seconds in modes.items():
            totals[mode] += seconds
    for name, modes in [(f"cpu{c}", m) for c, m in sorted(per_cpu.items())] + \
            ([("cpu-total", totals)] if per_cpu else []):
        deltas = {mode: rates.rate(("cpu", name, mode), seconds, now)
                  for mode, seconds in modes.items()}
        if any(d is None for d in deltas.values()):
            continue
        busy_total = sum(deltas.values())
        if busy_total <= 0:
            continue
        fields = {f"{mode}_percent": deltas.get(mode, 0.0) / busy_total * 100
                  for mode in CPU_MODES}
        fields["usage_percent"] = 100.0 - fields["idle_percent"] - fields["iowait_percent"]
        obs.add("cpu", {"cpu": name}, fields, stamp)


def _system(obs, families, stamp) -> None:
    boot, clock = _value(families, "node_boot_time_seconds"), _value(families, "node_time_seconds")
    cpus = {labels.get("cpu") for labels, _v in families.get("node_cpu_seconds_total", ())}
    obs.add("system", {}, {"load1": _value(families, "node_load1"),
                           "load5": _value(families, "node_load5"),
                           "load15": _value(families, "node_load15"),
                           "uptime_seconds": clock - boot if boot and clock else None,
                           "cpu_logical_count": len(cpus) or None}, stamp)


def _memory(obs, families, stamp) -> None:
    total = _value(families, "node_memory_MemTotal_bytes")
    available = _value(families, "node_memory_MemAvailable_bytes")
    if total:
        used = total - (available or 0)
        obs.add("mem", {}, {"total_bytes": total, "available_bytes": available,
                            "used_bytes": used, "used_percent": used / total * 100,
                            "cached_bytes": _value(families, "node_memory_Cached_bytes"),
                            "buffers_bytes": _value(families, "node_memory_Buffers_bytes")},
                stamp)
    swap_total = _value(families, "node_memory_SwapTotal_bytes")
    swap_free = _value(families, "node_memory_SwapFree_bytes")
    if swap_total is not None and swap_free is not None:
        obs.add("swap", {}, {"total_bytes": swap_total, "free_bytes": swap_free,
                             "used_bytes": swap_total - swap_free,
                             "used_percent": (swap_total - swap_free) / swap_total * 100
                             if swap_total else 0.0}, stamp)


def _disks(obs, families, stamp) -> None:
    for labels, size in families.get("node_filesystem_size_bytes", ()):
        if labels.get("fstype") in IGNORED_FS or not size:
            continue
        free = _value(families, "node_filesystem_avail_bytes", **labels) or 0.0
        free_root = _value(families, "node_filesystem_free_bytes", **labels) or free
        used = size - free_root
        inodes = _value(families, "node_filesystem_files", **labels)
        inodes_free = _value(families, "node_filesystem_files_free", **labels)
        obs.add("disk", {"path": labels.get("mountpoint", ""), "device": labels.get("device", ""),
                         "fstype": labels.get("fstype", "")},
                {"total_bytes": size, "used_bytes": used, "free_bytes": free,
                 "used_percent": used / (used + free) * 100 if used + free else 0.0,
                 "inodes_total": inodes,
                 "inodes_used": inodes - inodes_free if inodes is not None and
                 inodes_free is not None else None}, stamp)


def _counters(obs, families, rates, now, stamp, measurement, tag, names, with_rates) -> None:
    rows: dict[str, dict[str, float]] = defaultdict(dict)
    for field, family in names.items():
        for labels, value in families.get(family, ()):
            rows[labels.get("device", "")][field] = value * 1000 if field == "io_time_ms" \
                else value
    for device, fields in sorted(rows.items()):
        if measurement == "net" and device == "lo":
            continue
        out = dict(fields)
        for field in with_rates:
            if field in fields:
                rate = rates.rate((measurement, device, field), fields[field], now)
                if rate is not None:
                    out[f"{field}_per_second"] = rate
        if measurement == "diskio" and "io_time_ms" in fields:
            busy = rates.rate((measurement, device, "io_time_ms"), fields["io_time_ms"], now)
            if busy is not None:
                out["util_percent"] = min(100.0, busy / 10)
        obs.add(measurement, {tag: device}, out, stamp)


def host_fact(families: dict, address: str | None) -> Fact:
    """The ``host`` fact of a node_exporter scrape."""
    uname = _labels(families, "node_uname_info")
    os_info = _labels(families, "node_os_info")
    dmi = _labels(families, "node_dmi_info")
    cpu_models = sorted({labels.get("model_name") for labels, _v in
                         families.get("node_cpu_info", ()) if labels.get("model_name")})
    nics = [{"name": labels.get("device"), "mac": labels.get("address"),
             "operstate": labels.get("operstate")}
            for labels, _v in families.get("node_network_info", ())
            if labels.get("device") != "lo"]
    macs = sorted({n["mac"] for n in nics if n["mac"] and n["mac"] != "00:00:00:00:00:00"})
    keys, placeholders = clean_keys({
        "hostname": uname.get("nodename"), "serial_number": dmi.get("product_serial"),
        "machine_uuid": dmi.get("product_uuid"), "mac": macs, "mgmt_ip": address})
    cpus = {labels.get("cpu") for labels, _v in families.get("node_cpu_seconds_total", ())}
    attributes = {"vendor": dmi.get("system_vendor"), "model": dmi.get("product_name"),
                  "os": uname.get("sysname"), "os_name": os_info.get("pretty_name"),
                  "kernel": uname.get("release"), "architecture": uname.get("machine"),
                  "cpu_model": cpu_models[0] if cpu_models else None,
                  "cpu_threads": len(cpus) or None,
                  "memory_bytes": _value(families, "node_memory_MemTotal_bytes"),
                  "swap_bytes": _value(families, "node_memory_SwapTotal_bytes"),
                  "boot_time": _value(families, "node_boot_time_seconds"),
                  "interfaces": nics, "source": "node_exporter", **placeholders}
    return Fact("host", keys,
                {k: v for k, v in attributes.items() if v not in (None, [], "")})
