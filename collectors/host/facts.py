"""Inventory facts of the local host: identity keys and hardware attributes.

Files under ``/proc``, ``/sys`` and ``/etc`` are read relative to a root folder
so that tests can hand in a prepared tree; everything that psutil reports is
read through psutil.
"""

from __future__ import annotations

import platform
import socket
from pathlib import Path
from typing import Any

import psutil

from collectors.base import Fact
from collectors.identity import clean_keys, is_placeholder_serial


#: ARM "CPU implementer" codes (Linux arch/arm64 cputype.h) to vendor names.
ARM_IMPLEMENTERS = {"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu",
                    "0x48": "HiSilicon", "0x4e": "NVIDIA", "0x50": "Ampere", "0x51": "Qualcomm",
                    "0x61": "Apple", "0x70": "Phytium", "0xc0": "Ampere"}

#: (implementer, part) to marketing names where the part number identifies the product.
ARM_PARTS = {("0x48", "0xd01"): "Kunpeng 920", ("0x41", "0xd0c"): "Neoverse N1",
             ("0x41", "0xd40"): "Neoverse V1", ("0x41", "0xd49"): "Neoverse N2",
             ("0x41", "0xd4f"): "Neoverse V2"}

#: x86 vendor_id strings to vendor names.
X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon",
               "CentaurHauls": "Zhaoxin", "  Shanghai  ": "Zhaoxin", "Shanghai": "Zhaoxin"}


def read_text(root: Path, relative: str) -> str | None:
    """Return a file's stripped text under ``root``, or None if unreadable."""
    try:
        return (root / relative.lstrip("/")).read_text(errors="replace").strip()
    except OSError:
        return None


def clean_dmi(value: str | None) -> str | None:
    """Return a DMI string, or None where it is a vendor placeholder (the rule of
    :mod:`collectors.identity`: "To be filled by O.E.M.", "Default string", zeros…)."""
    if value is None or is_placeholder_serial(value):
        return None
    return value.strip()


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """Summarise ``/proc/cpuinfo``: model, vendor and socket count.

    Works for x86 (``vendor_id``, ``model name``, ``physical id``), Arm
    (``CPU implementer``, optional ``model name``) and LoongArch (``cpu model``).
    """
    fields: dict[str, str] = {}
    sockets: set[str] = set()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key in ("physical id", "package"):
            sockets.add(value)
        fields.setdefault(key, value)
    vendor_id = fields.get("vendor_id")
    vendor = X86_VENDORS.get(vendor_id or "", vendor_id)
    implementer = fields.get("cpu implementer")
    if vendor is None and implementer:
        vendor = ARM_IMPLEMENTERS.get(implementer.lower(), implementer)
    model = fields.get("model name") or fields.get("cpu model") or fields.get("hardware")
    if model and "loongson" in model.lower():
        vendor = "Loongson"
    if model is None and implementer:
        part = (fields.get("cpu part") or "?").lower()
        model = ARM_PARTS.get((implementer.lower(), part)) or f"{vendor} part {part}"
    return {"cpu_model": model, "cpu_vendor": vendor, "cpu_sockets": len(sockets) or None}


def parse_os_release(text: str | None) -> dict[str, str]:
    """Parse ``/etc/os-release`` into a dict of its keys."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"')
    return out


def default_route_interface(root: Path) -> str | None:
    """Return the interface that carries the IPv4 default route, from /proc/net/route."""
    for line in (read_text(root, "proc/net/route") or "").splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and parts[1] == "00000000":
            return parts[0]
    return None


def interfaces() -> list[dict[str, Any]]:
    """Return each NIC with MAC, addresses, speed, MTU and state."""
    stats = psutil.net_if_stats()
    out = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        mac = next((a.address.lower() for a in addrs if a.family == psutil.AF_LINK), None)
        st = stats.get(name)
        out.append({
            "name": name,
            "mac": mac if mac and mac != "00:00:00:00:00:00" else None,
            "ipv4": [a.address for a in addrs if a.family == socket.AF_INET],
            "ipv6": [a.address.split("%")[0] for a in addrs if a.family == socket.AF_INET6],
            "speed_mbps": st.speed if st and st.speed > 0 else None,
            "mtu": st.mtu if st else None,
            "up": bool(st.isup) if st else None,
        })
    return out


def block_devices(root: Path) -> list[dict[str, Any]]:
    """Return whole disks from /sys/block (not partitions, loop or RAM devices)."""
    disks = []
    base = root / "sys/block"
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        if entry.name.startswith(("loop", "ram", "zram", "dm-", "md", "sr")):
            continue
        sectors = read_text(root, f"sys/block/{entry.name}/size")
        disks.append({
            "name": entry.name,
            "size_bytes": int(sectors) * 512 if sectors and sectors.isdigit() else None,
            "model": read_text(root, f"sys/block/{entry.name}/device/model"),
            "serial": read_text(root, f"sys/block/{entry.name}/device/serial"),
            "rotational": read_text(root, f"sys/block/{entry.name}/queue/rotational") == "1",
        })
    return disks


def host_fact(root: Path) -> Fact:
    """Build the host's fact: identity keys first, then hardware and OS attributes."""
    nics = interfaces()
    route_nic = default_route_interface(root)
    mgmt = next((n for n in nics if n["name"] == route_nic), None)
    os_release = parse_os_release(read_text(root, "etc/os-release"))
    keys = {
        "hostname": socket.gethostname(),
        "serial_number": read_text(root, "sys/class/dmi/id/product_serial"),
        "machine_uuid": read_text(root, "sys/class/dmi/id/product_uuid"),
        "mac": sorted({n["mac"] for n in nics if n["mac"] and n["name"] != "lo"}),
        "mgmt_ip": mgmt["ipv4"][0] if mgmt and mgmt["ipv4"] else None,
    }
    keys, placeholders = clean_keys(keys)
    memory = psutil.virtual_memory()
    attributes = {
        **placeholders,
        "vendor": clean_dmi(read_text(root, "sys/class/dmi/id/sys_vendor")),
        "model": clean_dmi(read_text(root, "sys/class/dmi/id/product_name")),
        "machine_id": read_text(root, "etc/machine-id"),
        "os": platform.system(),
        "os_name": os_release.get("PRETTY_NAME"),
        "kernel": platform.release(),
        "architecture": platform.machine(),
        **parse_cpuinfo(read_text(root, "proc/cpuinfo") or ""),
        "cpu_cores": psutil.cpu_count(logical=False),
        "cpu_threads": psutil.cpu_count(logical=True),
        "memory_bytes": memory.total,
        "swap_bytes": psutil.swap_memory().total,
        "boot_time": int(psutil.boot_time()),
        "disks": block_devices(root),
        "interfaces": nics,
    }
    return Fact("host", keys, attributes)

