"""Inventory facts as people read them: GiB, dates with their zone, names, not raw keys.

Pure functions: a collector's attribute key and value in, a label and a text out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from ledger import i18n

GIB = 1024 ** 3
#: Keys of an observed asset worth showing first, in this order.
FIRST = ("hostname", "vendor", "model", "serial_number", "device_type", "os", "os_version",
         "cpu_model", "cpu_sockets", "cpu_cores", "cpu_threads", "vcpus", "memory_bytes",
         "disk_bytes", "gpus", "architecture", "power_state", "mgmt_ip", "mac",
         "machine_uuid", "instance_uuid", "data_center", "platform", "network", "department",
         "location", "contact", "boot_time", "uptime_seconds", "sys_descr")
#: Structured attributes drawn elsewhere on the page (interface table) or too raw to show.
HIDDEN = frozenset({"interfaces", "entities", "processors", "notes", "ip_addresses",
                    "sys_object_id", "enterprise_number", "profile", "macs", "cpu_models"})
#: Numbers above this that name a time are epoch seconds (after 1973).
EPOCH_FLOOR = 1e8

i18n.register("facts", {
    "hostname": ("主机名", "host name"), "vendor": ("厂商", "vendor"), "model": ("型号", "model"),
    "serial_number": ("序列号", "serial number"), "device_type": ("设备类型", "device type"),
    "os": ("操作系统", "operating system"), "os_version": ("系统版本", "OS version"),
    "cpu_model": ("CPU型号", "CPU model"), "cpu_sockets": ("CPU路数", "CPU sockets"),
    "cpu_cores": ("物理核数", "physical cores"), "cpu_threads": ("线程数", "threads"),
    "vcpus": ("vCPU", "vCPU"), "memory_bytes": ("内存", "memory"),
    "disk_bytes": ("磁盘", "disk"), "gpus": ("加速卡", "accelerators"),
    "architecture": ("CPU架构", "CPU architecture"), "power_state": ("电源状态", "power state"),
    "mgmt_ip": ("管理地址", "management address"), "mac": ("MAC地址", "MAC address"),
    "machine_uuid": ("主机UUID", "machine UUID"), "instance_uuid": ("实例UUID", "instance UUID"),
    "data_center": ("数据中心", "data center"), "platform": ("云平台", "cloud platform"),
    "network": ("网络", "network"), "department": ("部门", "department"),
    "location": ("位置", "location"), "contact": ("联系人", "contact"),
    "boot_time": ("启动时间", "booted"), "uptime_seconds": ("运行时长", "up for"),
    "sys_descr": ("系统描述", "system description"),
    "interface_count": ("接口数", "interfaces"), "kernel": ("内核", "kernel"),
    "host": ("宿主机", "host"), "firmware": ("固件版本", "firmware"),
    "bios_version": ("BIOS版本", "BIOS version"), "storage_bytes": ("存储", "storage"),
    "_days": ("{d} 天 {h} 小时", "{d} d {h} h"), "_yes": ("是", "yes"), "_no": ("否", "no"),
    "guest_os": ("客户机操作系统", "guest OS"), "cpu_vendor": ("CPU厂商", "CPU vendor"),
    "machine_id": ("机器ID", "machine ID"), "swap_bytes": ("交换空间", "swap"),
    "project_id": ("项目ID", "project ID"), "server_id": ("服务器ID", "server ID"),
    "resource_id": ("资源ID", "resource ID"), "provider_id": ("提供方ID", "provider ID"),
    "compute_node_id": ("计算节点ID", "compute node ID"), "engine_id": ("引擎ID", "engine ID"),
    "capacity_bytes": ("容量", "capacity"), "size_bytes": ("大小", "size"),
    "provisioned_bytes": ("已分配容量", "provisioned"), "free_bytes": ("可用", "free"),
    "disk_capacity_bytes": ("磁盘容量", "disk capacity"),
    "disk_allocated_bytes": ("已分配磁盘", "disk allocated"),
    "memory_capacity_bytes": ("内存容量", "memory capacity"),
    "memory_allocated_bytes": ("已分配内存", "memory allocated"),
    "host_memory_bytes": ("宿主机内存", "host memory"), "status": ("状态", "status"),
    "uuid": ("UUID", "UUID"), "cluster": ("集群", "cluster"), "zone": ("可用区", "zone"),
    "region": ("地域", "region"), "image": ("镜像", "image"), "flavor": ("规格", "flavor"),
})

#: What an observed asset is, as people call it.
KINDS = {"device": ("网络设备", "device"), "host": ("主机", "host"),
         "hypervisor": ("宿主机", "hypervisor"), "instance": ("云主机", "instance"),
         "vm": ("虚拟机", "virtual machine"), "node": ("节点", "node"),
         "container": ("容器", "container"), "volume": ("云硬盘", "volume"),
         "server": ("服务器", "server")}
i18n.register("asset_kind", KINDS)


def kind_label(kind: str | None, lang: str | None = None) -> str:
    """An observed asset's kind (``device``, ``hypervisor``...) as people call it."""
    if kind and kind in KINDS:
        return i18n.dgettext("asset_kind", kind, lang)
    return kind or ""


def label(key: str, lang: str | None = None) -> str:
    """The name people know a fact key by."""
    if i18n.has(key, "facts"):
        return i18n.dgettext("facts", key, lang)
    return key.replace("_", " ")


def value_text(key: str, value: Any, timezone: str, lang: str | None = None) -> str | None:
    """The value as text: bytes in GiB, epoch seconds as a local date and zone, durations in
    days and hours, lists joined; None for what a person cannot read (nested data)."""
    if value is None or value == "" or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return i18n.dgettext("facts", "_yes" if value else "_no", lang)
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (str, int, float)) for v in value):
            return None
        return ", ".join(str(v) for v in value) or None
    if isinstance(value, (int, float)):
        return _number(key, float(value), timezone, lang)
    return str(value)


def _number(key: str, value: float, timezone: str, lang: str | None) -> str:
    if key.endswith("_bytes"):
        return f"{value / GIB:,.1f} GiB"
    if key.endswith(("_time", "_at", "_epoch")) and value > EPOCH_FLOOR:
        return when(value, timezone)
    if key.endswith("_seconds"):
        days, rest = divmod(int(value), 86400)
        return i18n.dgettext("facts", "_days", lang, d=days, h=rest // 3600)
    if key.endswith("_bps"):
        return f"{value / 1e9:g} Gbit/s" if value >= 1e9 else f"{value / 1e6:g} Mbit/s"
    return f"{value:g}"


def when(value: float | dt.datetime, timezone: str) -> str:
    """A time in the configured zone, with the zone's offset written out."""
    zone = ZoneInfo(timezone)
    moment = value if isinstance(value, dt.datetime) else \
        dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S UTC%z")


def readable(asset: Mapping[str, Any], timezone: str, lang: str | None = None
             ) -> list[tuple[str, str]]:
    """(label, text) of an observed asset's columns and attributes, known keys first, each
    key once, raw structures left out."""
    merged = {**(asset.get("attributes") or {}),
              **{k: v for k, v in asset.items() if k != "attributes"}}
    keys = [k for k in FIRST if k in merged] + sorted(
        k for k in merged if k not in FIRST and k not in HIDDEN and not _internal(k))
    out = []
    for key in keys:
        text = value_text(key, merged[key], timezone, lang)
        if text is not None:
            out.append((label(key, lang), text))
    return out


def _internal(key: str) -> bool:
    return key in ("id", "natural_key", "source", "collector", "kind", "department_id",
                   "first_seen", "last_seen", "pair", "macs") or key.startswith("_")


def interfaces(rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Interface facts (SNMP ``interfaces`` attribute) sorted by name as people sort them
    (GE1/0/2 before GE1/0/10)."""
    return sorted((dict(r) for r in rows if isinstance(r, Mapping)),
                  key=lambda r: natural(str(r.get("name") or r.get("index") or "")))


def natural(text: str) -> list:
    """A sort key that orders the digits in ``text`` as numbers."""
    import re
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", text)]
