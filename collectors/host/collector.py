"""Host collector: CPU, load, memory, swap, filesystems, disk I/O and NICs via psutil.

Measurements (tags; fields with units):

- ``cpu`` (``cpu`` = ``cpu-total`` or ``cpu0``…): ``usage_percent``, ``user_percent``,
  ``system_percent``, ``iowait_percent``, ``steal_percent``, ``idle_percent``.
- ``system``: ``load1``, ``load5``, ``load15``, ``uptime_seconds``, ``cpu_logical_count``.
- ``mem``: ``total_bytes``, ``available_bytes``, ``used_bytes``, ``used_percent``,
  ``cached_bytes``, ``buffers_bytes``.
- ``swap``: ``total_bytes``, ``used_bytes``, ``free_bytes``, ``used_percent``,
  ``in_bytes`` and ``out_bytes`` (counters).
- ``disk`` (``path``, ``device``, ``fstype``): ``total_bytes``, ``used_bytes``,
  ``free_bytes``, ``used_percent``, ``inodes_total``, ``inodes_used``.
- ``diskio`` (``name``): counters ``read_bytes``, ``write_bytes``, ``reads``, ``writes``,
  ``io_time_ms``; rates ``read_bytes_per_second``, ``write_bytes_per_second``,
  ``reads_per_second``, ``writes_per_second``, ``util_percent``.
- ``net`` (``interface``): counters ``rx_bytes``, ``tx_bytes``, ``rx_packets``,
  ``tx_packets``, ``rx_errors``, ``tx_errors``, ``rx_dropped``, ``tx_dropped``; rates
  ``rx_bytes_per_second``, ``tx_bytes_per_second``, ``rx_packets_per_second``,
  ``tx_packets_per_second``, ``rx_errors_per_second``, ``tx_errors_per_second``.

Rates need two polls, so the first poll of a target carries counters only.
One fact of kind ``host`` (see ``facts.py``).

Example output (JSON lines, see the README)::

    {"type": "sample", "measurement": "mem", "tags": {}, "fields": {"total_bytes": 25216...,
     "used_percent": 7.1, ...}, "time": 1763725200000000000}
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from collectors.base import Collector, Observation, Option
from collectors.host.facts import host_fact
from collectors.rates import RateTracker
from collectors.registry import register_collector

CPU_STATES = ("user", "system", "iowait", "steal", "idle")
NET_COUNTERS = {"rx_bytes": "bytes_recv", "tx_bytes": "bytes_sent",
                "rx_packets": "packets_recv", "tx_packets": "packets_sent",
                "rx_errors": "errin", "tx_errors": "errout",
                "rx_dropped": "dropin", "tx_dropped": "dropout"}
NET_RATES = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors")
DISKIO_COUNTERS = {"read_bytes": "read_bytes", "write_bytes": "write_bytes",
                   "reads": "read_count", "writes": "write_count", "io_time_ms": "busy_time"}
DISKIO_RATES = ("read_bytes", "write_bytes", "reads", "writes")
DEFAULT_IGNORE_FS = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs",
                     "ramfs", "nsfs", "tracefs"]
DEFAULT_IGNORE_DISKS = ["loop", "ram", "zram", "sr"]


@register_collector
class HostCollector(Collector):
    """Polls the machine the monitor runs on."""

    kind = "host"
    description = "This machine through psutil: CPU, memory, filesystems, disk I/O, NICs"
    options = (
        Option("root", str, "/", help="filesystem root for /proc, /sys and /etc reads"),
        Option("ignore_fs", list, DEFAULT_IGNORE_FS, help="filesystem types to skip"),
        Option("ignore_disks", list, DEFAULT_IGNORE_DISKS, help="disk name prefixes to skip"),
        Option("interfaces", list, [], help="NICs to report; empty means all but loopback"),
        Option("include_loopback", bool, False, help="report the loopback NIC too"),
    )

    def setup(self) -> None:
        """Counters for rates; CPU times of the previous poll."""
        self._rates = RateTracker()
        self._cpu_previous: dict[str, tuple] | None = None

    def collect(self) -> Observation:
        """Poll CPU, memory, filesystems, disks and NICs once."""
        obs = Observation()
        if self._cpu_previous is None:
            # CPU percentages are deltas; prime once so the first poll has them.
            self._cpu_previous = _cpu_times()
            time.sleep(0.2)
        stamp = time.time_ns()
        seconds = stamp / 1e9
        self._cpu(obs, stamp)
        self._system(obs, stamp)
        self._memory(obs, stamp)
        self._filesystems(obs, stamp)
        self._diskio(obs, stamp, seconds)
        self._network(obs, stamp, seconds)
        self._rates.forget_untouched()
        obs.facts.append(host_fact(Path(self.config["root"])))
        return obs

    def _cpu(self, obs: Observation, stamp: int) -> None:
        current = _cpu_times()
        for cpu, times in current.items():
            before = self._cpu_previous.get(cpu)
            if before is None:
                continue
            deltas = {s: max(getattr(times, s, 0.0) - getattr(before, s, 0.0), 0.0)
                      for s in times._fields}
            total = sum(v for s, v in deltas.items() if s not in ("guest", "guest_nice"))
            if total <= 0:
                continue
            fields = {f"{s}_percent": 100.0 * deltas.get(s, 0.0) / total for s in CPU_STATES}
            fields["usage_percent"] = 100.0 - fields["idle_percent"] - fields["iowait_percent"]
            obs.add("cpu", {"cpu": cpu}, fields, stamp)
        self._cpu_previous = current

    def _system(self, obs: Observation, stamp: int) -> None:
        load1, load5, load15 = os.getloadavg()
        obs.add("system", {}, {"load1": load1, "load5": load5, "load15": load15,
                               "uptime_seconds": time.time() - psutil.boot_time(),
                               "cpu_logical_count": psutil.cpu_count()}, stamp)

    def _memory(self, obs: Observation, stamp: int) -> None:
        vm = psutil.virtual_memory()
        obs.add("mem", {}, {"total_bytes": vm.total, "available_bytes": vm.available,
                            "used_bytes": vm.total - vm.available, "used_percent": vm.percent,
                            "cached_bytes": getattr(vm, "cached", None),
                            "buffers_bytes": getattr(vm, "buffers", None)}, stamp)
        sw = psutil.swap_memory()
        obs.add("swap", {}, {"total_bytes": sw.total, "used_bytes": sw.used,
                             "free_bytes": sw.free, "used_percent": sw.percent,
                             "in_bytes": sw.sin, "out_bytes": sw.sout}, stamp)

    def _filesystems(self, obs: Observation, stamp: int) -> None:
        ignore = set(self.config["ignore_fs"])
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if part.fstype in ignore or part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                usage = psutil.disk_usage(part.mountpoint)
                vfs = os.statvfs(part.mountpoint)
            except OSError:
                continue  # Unreadable mounts (stale NFS, permissions) are skipped, not fatal.
            obs.add("disk", {"path": part.mountpoint, "device": part.device,
                             "fstype": part.fstype},
                    {"total_bytes": usage.total, "used_bytes": usage.used,
                     "free_bytes": usage.free, "used_percent": usage.percent,
                     "inodes_total": vfs.f_files, "inodes_used": vfs.f_files - vfs.f_ffree},
                    stamp)

    def _diskio(self, obs: Observation, stamp: int, seconds: float) -> None:
        prefixes = tuple(self.config["ignore_disks"])
        counters = psutil.disk_io_counters(perdisk=True, nowrap=True) or {}
        for name, io in counters.items():
            if name.startswith(prefixes):
                continue
            fields = {out: getattr(io, attr, None) for out, attr in DISKIO_COUNTERS.items()}
            for field in DISKIO_RATES:
                fields[f"{field}_per_second"] = self._rates.rate(
                    ("diskio", name, field), fields[field], seconds)
            busy = self._rates.rate(("diskio", name, "busy"), fields["io_time_ms"] or 0, seconds)
            fields["util_percent"] = None if busy is None else min(busy / 10.0, 100.0)
            obs.add("diskio", {"name": name}, fields, stamp)

    def _network(self, obs: Observation, stamp: int, seconds: float) -> None:
        wanted = set(self.config["interfaces"])
        for name, io in psutil.net_io_counters(pernic=True, nowrap=True).items():
            if wanted and name not in wanted:
                continue
            if not wanted and name == "lo" and not self.config["include_loopback"]:
                continue
            fields = {out: getattr(io, attr) for out, attr in NET_COUNTERS.items()}
            for field in NET_RATES:
                fields[f"{field}_per_second"] = self._rates.rate(
                    ("net", name, field), fields[field], seconds)
            obs.add("net", {"interface": name}, fields, stamp)


def _cpu_times() -> dict[str, tuple]:
    per_cpu = psutil.cpu_times(percpu=True)
    times = {f"cpu{i}": t for i, t in enumerate(per_cpu)}
    times["cpu-total"] = psutil.cpu_times(percpu=False)
    return times
