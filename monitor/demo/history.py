"""Thirty days of generated history for the demo, written into the store as demo data.

Every series is tagged ``demo=true``. SNMP targets' history follows what their agents
answer (a daily CPU swing, steady traffic); the clouds' values follow a working day (busy
from nine to six local time, quieter at weekends) around each resource's mean, with a
deterministic ripple,
so the daily summaries, idle detection and rightsizing have a month to judge. The series
are the ones the collectors write (``cpu``, ``storage``, ``interface`` of an SNMP target;
``vm`` and ``hypervisor`` of a cloud), so charts and summaries read them unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from core.observation import Sample
from monitor.demo.estate import GIB, PLATFORMS, uid
from monitor.demo.recordings import Device, cpu_load

DAYS = 30
#: Seconds between generated points (the history's "poll interval").
STEP = 600
DEMO_TAG = {"demo": "true"}
BATCH = 20_000


def load(ts: float, mean: float, zone: ZoneInfo, phase: float) -> float:
    """A working day's load around ``mean`` at epoch ``ts``: busy 9-18, lower at weekends."""
    local = dt.datetime.fromtimestamp(ts, zone)
    hour = local.hour + local.minute / 60
    shape = 0.55 + 0.8 * max(0.0, math.sin(math.pi * (hour - 8) / 11)) if 8 <= hour <= 19 \
        else 0.55
    if local.weekday() >= 5:
        shape *= 0.6
    ripple = 1 + 0.08 * math.sin(ts / 977 + phase) + 0.05 * math.sin(ts / 5003 + 2 * phase)
    return mean * shape * ripple


def timestamps(now: dt.datetime, days: int = DAYS, step: int = STEP) -> list[int]:
    """Epoch seconds on the ``step`` grid from ``days`` ago up to ``now``."""
    end = int(now.timestamp()) // step * step
    return list(range(end - days * 86400, end + 1, step))


def device_samples(device: Device, target: str, tags: dict[str, str], times: list[int]
                   ) -> Iterator[Sample]:
    """CPU, memory and interface traffic of one SNMP target, as its agent answers them
    (so the live series carry on where the history ends)."""
    base = {**tags, **DEMO_TAG, "target": target}
    phase = sum(map(ord, target)) % 17
    for ts in times:
        ns = ts * 1_000_000_000
        ripple = 1 + 0.05 * math.sin(ts / 977 + phase)
        yield Sample("cpu", {**base, "cpu": "cpu-total"},
                     {"usage_percent": round(cpu_load(device, ts) * ripple, 2)}, ns)
        yield Sample("storage", {**base, "index": "1", "type": "ram", "descr": "RAM"},
                     {"used_percent": round(device.memory_percent *
                                            (1 + 0.03 * math.sin(ts / 7001 + phase)), 2)}, ns)
        for index, iface in enumerate(device.interfaces, start=1):
            if not iface.rx_bytes_per_second:
                continue
            yield Sample("interface", {**base, "ifindex": str(index), "ifname": iface.name}, {
                "rx_bytes_per_second": round(iface.rx_bytes_per_second * ripple, 1),
                "tx_bytes_per_second": round(iface.tx_bytes_per_second * ripple, 1)}, ns)


def platform_samples(times: list[int], zone: ZoneInfo) -> Iterator[Sample]:
    """Hosts' and instances' CPU and memory on every generated platform."""
    for platform in PLATFORMS:
        base = {"department": platform.department, "platform": platform.code,
                "datacenter": platform.data_center, **DEMO_TAG, "target": platform.source}
        for ts in times:
            ns = ts * 1_000_000_000
            for n, host in enumerate(platform.hosts):
                yield Sample("hypervisor", {**base, "hypervisor": host.name}, {
                    "cpu_usage_percent": round(load(ts, host.cpu_percent, zone, n), 2),
                    "memory_usage_percent": round(45 + 10 * math.sin(ts / 9001 + n), 2)}, ns)
            for n, vm in enumerate(platform.vms):
                memory = vm.memory_gib * GIB
                used = memory * vm.memory_percent / 100 * (1 + 0.02 * math.sin(ts / 3001 + n))
                yield Sample("vm", {**base, "uuid": uid(vm.name), "vm": vm.name}, {
                    "cpu_usage_percent": round(min(99.0, load(ts, vm.cpu_percent, zone, n)), 2),
                    "memory_used_bytes": float(int(used)), "memory_bytes": float(memory)}, ns)


def write(store, samples: Iterable[Sample]) -> int:
    """Write ``samples`` in batches; how many were written."""
    batch, written = [], 0
    for sample in samples:
        batch.append(sample)
        if len(batch) >= BATCH:
            written += store.write(batch)
            batch = []
    if batch:
        written += store.write(batch)
    return written
