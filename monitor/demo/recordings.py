"""The demo's SNMP devices, written as snmpsim recordings (``.snmprec``) by the project.

Each :class:`Device` describes one agent as a vendor's device answers: sysDescr and
sysObjectID of Chinese vendors (Huawei, H3C, ZTE, Ruijie, Hillstone), ENTITY-MIB chassis
serial and model, interfaces with MAC addresses, HOST-RESOURCES CPU load and memory, the
UPS-MIB for a UPS and vendor objects where the product's profiles read them (Hillstone's
serial, Huawei iBMC's model, serial and processors). Counters, uptime and loads use
snmpsim's ``numeric`` variation module, so they move between polls and the collectors
draw live rates. Nothing here is copied from a recorded device.

The community of a recording is its file name without ``.snmprec``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

#: Octet strings written as text when they are this plain; hex otherwise.
_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;_-/()+#*=")
BOOT_TICKS = 123_456_700   # about 14 days of uptime when the agent starts
#: One sine period a day on epoch time: CPU load peaks at 14:00 in China (06:00 UTC).
DAY_RATE = 2 * math.pi / 86400


def cpu_load(device: "Device", ts: float) -> float:
    """The CPU load the agent of ``device`` answers at epoch ``ts`` (history uses it too)."""
    return device.cpu_percent + max(1, device.cpu_percent // 3) * math.sin(ts * DAY_RATE)


@dataclasses.dataclass(frozen=True)
class Interface:
    """One interface: name, speed in Mbit/s, MAC, and traffic in bytes per second."""

    name: str
    speed_mbps: int
    mac: str
    rx_bytes_per_second: int
    tx_bytes_per_second: int


@dataclasses.dataclass(frozen=True)
class Device:
    """One SNMP agent of the demo."""

    community: str
    sys_descr: str
    sys_object_id: str
    sys_name: str
    location: str
    serial: str | None
    model: str
    manufacturer: str
    interfaces: tuple[Interface, ...]
    cpu_percent: int                 # mean CPU load; it swings +/- a third around it
    memory_kib: int
    memory_percent: int
    extra: tuple[tuple[str, str, str], ...] = ()   # (oid, snmprec type, value)
    ups: bool = False


def _mac(index: int, device: int) -> str:
    return f"f4:de:af:{device:02x}:00:{index:02x}"


def _interfaces(device: int, prefix: str, rates: list[tuple[int, int]], speed: int = 10000
                ) -> tuple[Interface, ...]:
    return tuple(Interface(f"{prefix}{n + 1}", speed, _mac(n + 1, device), rx, tx)
                 for n, (rx, tx) in enumerate(rates))


#: The demo's agents. Traffic in bytes/s: a busy core, quiet access ports, a legacy network.
DEVICES: tuple[Device, ...] = (
    Device("huawei-s6730", "S6730-H48X6C\r\nHuawei Versatile Routing Platform Software\r\n"
           "VRP (R) software,Version 5.170 (S6730 V200R019C10SPC500)\r\n"
           "Copyright (C) 2000-2020 HUAWEI TECH Co., Ltd", "1.3.6.1.4.1.2011.2.23.519",
           "DC01-CORE-SW01", "DC01 A01-42U", "2102351931P0K3000123", "S6730-H48X6C",
           "Huawei", _interfaces(1, "XGigabitEthernet0/0/",
                                 [(31_250_000, 27_500_000), (18_750_000, 22_500_000),
                                  (2_500_000, 1_250_000), (0, 0)]), 38, 2_097_152, 46),
    Device("h3c-s6520x", "H3C Comware Platform Software, Software Version 7.1.070, "
           "Release 6635P07\r\nH3C S6520X-30QC-EI\r\nCopyright (c) 2004-2021 New H3C "
           "Technologies Co., Ltd. All rights reserved.", "1.3.6.1.4.1.25506.1.1873",
           "DC01-AGG-SW02", "DC01 A03-40U", "210235A2FNH203000456", "S6520X-30QC-EI", "H3C",
           _interfaces(2, "Ten-GigabitEthernet1/0/",
                       [(6_250_000, 5_000_000), (3_750_000, 4_375_000), (0, 0)]),
           22, 1_048_576, 41),
    Device("zte-zxr10", "ZTE ZXR10-5960 Software, Version V5.00.10.20, Copyright (c) 2021 "
           "by ZTE Corporation", "1.3.6.1.4.1.3902.3.100.55", "NET01-ACC-SW01",
           "社保专网 汇聚机房", None, "ZXR10 5960-56QU-HF", "ZTE",
           _interfaces(3, "xgei-1/1/0/", [(1_875_000, 1_500_000), (625_000, 500_000)]),
           17, 524_288, 35),
    Device("hillstone-sg6000", "Hillstone Security Appliance SG-6000-E3960 StoneOS 5.5R9",
           "1.3.6.1.4.1.28557.1.38", "DC02-FW01", "公安厅机房 B02", None, "SG-6000-E3960",
           "Hillstone", _interfaces(4, "ethernet0/", [(5_000_000, 4_750_000),
                                                      (4_500_000, 5_125_000)], 1000),
           27, 4_194_304, 52,
           extra=(("1.3.6.1.4.1.28557.2.2.1.1.0", "4", "2801234567"),
                  ("1.3.6.1.4.1.28557.2.2.1.2.0", "4", "SG6000-M-5.5R9P3.bin"))),
    Device("ruijie-s6000", "Ruijie Full 10G Routing Switch(S6000C-48GT4XS-E) By Ruijie "
           "Networks", "1.3.6.1.4.1.4881.1.1.10.1.588", "FIN-ACC-SW01", "财政厅 3楼弱电间",
           "G1NW10B000123", "S6000C-48GT4XS-E", "Ruijie",
           _interfaces(5, "GigabitEthernet 0/", [(250_000, 187_500), (125_000, 62_500)],
                       1000), 9, 262_144, 30),
    Device("huawei-ups5000", "Huawei UPS5000-E-120K-FM", "1.3.6.1.4.1.2011.6.174.1",
           "DC01-UPS01", "DC01 配电室", "2102312NVB10K9000321", "UPS5000-E-120K-FM", "Huawei",
           _interfaces(6, "eth", [(2_000, 1_500)], 100), 4, 65_536, 20, ups=True),
    Device("huawei-ibmc", "Hi1710 iBMC, TaiShan 200 (Model 2280)", "1.3.6.1.4.1.2011.2.235.1.1",
           "RS-LEGACY-DB01", "人社厅机房 C01", "2102312TXT10M5000654", "TaiShan 200 (Model 2280)",
           "Huawei", _interfaces(7, "eth", [(1_250_000, 2_500_000)], 1000), 41, 262_144, 58,
           extra=(("1.3.6.1.4.1.2011.2.235.1.1.1.6.0", "4", "TaiShan 200 (Model 2280)"),
                  ("1.3.6.1.4.1.2011.2.235.1.1.1.7.0", "4", "2102312TXT10M5000654"),
                  *((f"1.3.6.1.4.1.2011.2.235.1.1.15.50.1.{column}.{cpu}", kind, value)
                    for cpu in (1, 2) for column, kind, value in (
                        (2, "4", "HiSilicon"), (4, "4", "Kunpeng 920-6426"),
                        (5, "2", "2600"), (10, "4", f"CPU{cpu}"), (12, "2", "64"),
                        (13, "2", "64"))))),
)


def _octets(text: str) -> tuple[str, str]:
    if set(text) <= _PLAIN:
        return "4", text
    return "4x", text.encode("utf-8").hex()


def _records(device: Device) -> list[tuple[str, str, str]]:
    swing = max(1, device.cpu_percent // 3)
    rows = [("1.3.6.1.2.1.1.1.0", *_octets(device.sys_descr)),
            ("1.3.6.1.2.1.1.2.0", "6", device.sys_object_id),
            ("1.3.6.1.2.1.1.3.0", "67:numeric", f"rate=100,initial={BOOT_TICKS}"),
            ("1.3.6.1.2.1.1.4.0", *_octets("noc@example.gov.cn")),
            ("1.3.6.1.2.1.1.5.0", *_octets(device.sys_name)),
            ("1.3.6.1.2.1.1.6.0", *_octets(device.location)),
            ("1.3.6.1.2.1.2.1.0", "2", str(len(device.interfaces))),
            ("1.3.6.1.2.1.25.2.2.0", "2", str(device.memory_kib))]
    rows += _interface_rows(device)
    # HOST-RESOURCES: one processor whose load swings slowly, and the RAM.
    rows += [("1.3.6.1.2.1.25.2.3.1.1.1", "2", "1"),
             ("1.3.6.1.2.1.25.2.3.1.2.1", "6", "1.3.6.1.2.1.25.2.1.2"),
             ("1.3.6.1.2.1.25.2.3.1.3.1", "4", "RAM"),
             ("1.3.6.1.2.1.25.2.3.1.4.1", "2", "1024"),
             ("1.3.6.1.2.1.25.2.3.1.5.1", "2", str(device.memory_kib)),
             ("1.3.6.1.2.1.25.2.3.1.6.1", "2",
              str(device.memory_kib * device.memory_percent // 100)),
             ("1.3.6.1.2.1.25.3.2.1.1.1", "2", "1"),
             ("1.3.6.1.2.1.25.3.2.1.2.1", "6", "1.3.6.1.2.1.25.3.1.3"),
             ("1.3.6.1.2.1.25.3.2.1.3.1", *_octets(f"{device.manufacturer} CPU")),
             ("1.3.6.1.2.1.25.3.3.1.2.1", "2:numeric",
              f"function=sin,atime=1,rate={DAY_RATE},scale={swing},"
              f"offset={device.cpu_percent}")]
    rows += _entity_rows(device)
    if device.ups:
        rows += _ups_rows(device)
    rows += list(device.extra)
    return rows


def _interface_rows(device: Device) -> list[tuple[str, str, str]]:
    rows = []
    for index, iface in enumerate(device.interfaces, start=1):
        up = "1" if iface.rx_bytes_per_second else "2"
        rows += [(f"1.3.6.1.2.1.2.2.1.1.{index}", "2", str(index)),
                 (f"1.3.6.1.2.1.2.2.1.2.{index}", *_octets(iface.name)),
                 (f"1.3.6.1.2.1.2.2.1.3.{index}", "2", "6"),
                 (f"1.3.6.1.2.1.2.2.1.5.{index}", "66",
                  str(min(iface.speed_mbps * 1_000_000, 4_294_967_295))),
                 (f"1.3.6.1.2.1.2.2.1.6.{index}", "4x", iface.mac.replace(":", "")),
                 (f"1.3.6.1.2.1.2.2.1.7.{index}", "2", "1"),
                 (f"1.3.6.1.2.1.2.2.1.8.{index}", "2", up),
                 (f"1.3.6.1.2.1.31.1.1.1.1.{index}", *_octets(iface.name)),
                 (f"1.3.6.1.2.1.31.1.1.1.6.{index}", "70:numeric",
                  f"rate={iface.rx_bytes_per_second},initial={index * 10 ** 9}"),
                 (f"1.3.6.1.2.1.31.1.1.1.7.{index}", "70:numeric",
                  f"rate={iface.rx_bytes_per_second // 800 + 1},initial={index * 10 ** 6}"),
                 (f"1.3.6.1.2.1.31.1.1.1.10.{index}", "70:numeric",
                  f"rate={iface.tx_bytes_per_second},initial={index * 2 * 10 ** 9}"),
                 (f"1.3.6.1.2.1.31.1.1.1.11.{index}", "70:numeric",
                  f"rate={iface.tx_bytes_per_second // 800 + 1},initial={index * 10 ** 6}"),
                 (f"1.3.6.1.2.1.31.1.1.1.15.{index}", "66", str(iface.speed_mbps))]
    return rows


def _entity_rows(device: Device) -> list[tuple[str, str, str]]:
    base = "1.3.6.1.2.1.47.1.1.1.1"
    rows = [(f"{base}.2.1", *_octets(f"{device.manufacturer} {device.model}")),
            (f"{base}.4.1", "2", "0"), (f"{base}.5.1", "2", "3"),
            (f"{base}.7.1", *_octets("Chassis")),
            (f"{base}.12.1", *_octets(device.manufacturer)),
            (f"{base}.13.1", *_octets(device.model))]
    if device.serial:
        rows.append((f"{base}.11.1", *_octets(device.serial)))
    return rows


def _ups_rows(device: Device) -> list[tuple[str, str, str]]:
    return [("1.3.6.1.2.1.33.1.1.1.0", *_octets(device.manufacturer)),
            ("1.3.6.1.2.1.33.1.1.2.0", *_octets(device.model)),
            ("1.3.6.1.2.1.33.1.2.1.0", "2", "2"), ("1.3.6.1.2.1.33.1.2.2.0", "2", "0"),
            ("1.3.6.1.2.1.33.1.2.3.0", "2", "42"), ("1.3.6.1.2.1.33.1.2.4.0", "2", "100"),
            ("1.3.6.1.2.1.33.1.2.5.0", "2", "5460"), ("1.3.6.1.2.1.33.1.2.7.0", "2", "26"),
            ("1.3.6.1.2.1.33.1.3.3.1.2.1", "2", "500"), ("1.3.6.1.2.1.33.1.3.3.1.3.1", "2", "229"),
            ("1.3.6.1.2.1.33.1.4.1.0", "2", "3"), ("1.3.6.1.2.1.33.1.4.2.0", "2", "500"),
            ("1.3.6.1.2.1.33.1.4.4.1.2.1", "2", "230"),
            ("1.3.6.1.2.1.33.1.4.4.1.3.1", "2", "1420"),
            ("1.3.6.1.2.1.33.1.4.4.1.4.1", "2", "31500"),
            ("1.3.6.1.2.1.33.1.4.4.1.5.1", "2:numeric",
             "function=sin,rate=0.005,scale=4,offset=27")]


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def snmprec(device: Device) -> str:
    """The recording of ``device``: one ``oid|type|value`` line per object, in OID order."""
    rows = sorted(_records(device), key=lambda row: _oid_key(row[0]))
    return "".join(f"{oid}|{kind}|{value}\n" for oid, kind, value in rows)


def write_recordings(folder: Path) -> list[Path]:
    """Write every demo recording into ``folder`` (replacing older ones); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for device in DEVICES:
        path = folder / f"{device.community}.snmprec"
        path.write_text(snmprec(device), encoding="utf-8")
        paths.append(path)
    return paths
