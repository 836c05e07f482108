"""Turning walked MIB tables into samples and the device fact (no I/O here).

Functions take what :mod:`collectors.snmp.client` returned — ``{column: [(oid, tag,
value), ...]}`` per table — and produce plain dicts, so every mapping is tested on
recordings without a network.
"""

from __future__ import annotations

import re

from collectors.identity import clean_serial
from collectors.snmp import ber, mibs
from collectors.snmp.plausible import MAX_SPEED_BPS

COUNTER_WIDTH = {ber.COUNTER32: 32, ber.COUNTER64: 64}


def text(value) -> str | None:
    """An OCTET STRING as text: UTF-8, else GB18030 (Chinese devices), without padding."""
    if value is None:
        return None
    if not isinstance(value, bytes):
        return str(value)
    for encoding in ("utf-8", "gb18030"):
        try:
            decoded = value.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        decoded = value.decode("latin-1")
    return decoded.replace("\x00", "").strip() or None


def mac(value) -> str | None:
    """A 6-byte physical address as ``aa:bb:cc:dd:ee:ff`` (None for empty or all zero)."""
    if not isinstance(value, bytes) or len(value) != 6 or not any(value) or value == b"\xff" * 6:
        return None
    return ":".join(f"{b:02x}" for b in value)


def rows(walked: dict[str, list], columns: dict[str, tuple[int, ...]]) -> dict[tuple, dict]:
    """Rows of a table by index: ``{index: {column: (tag, value)}}``."""
    table: dict[tuple, dict] = {}
    for name, base in columns.items():
        size = len(base)
        for oid, tag, value in walked.get(name, ()):
            table.setdefault(oid[size:], {})[name] = (tag, value)
    return table


def value(row: dict, name: str, default=None):
    """The value of column ``name`` in ``row``."""
    found = row.get(name)
    return default if found is None else found[1]


def index_text(index: tuple) -> str:
    """A table index as the dotted text used in tags."""
    return ".".join(map(str, index))


def interfaces(walked_if: dict, walked_ifx: dict) -> list[dict]:
    """One dict per interface: identity, status, speed and counters with their widths.

    64-bit (ifHC*) counters are used where the agent has them, 32-bit ones otherwise;
    ``counters`` maps name -> (value, width in bits). Packets are unicast + multicast +
    broadcast where the agent reports them.
    """
    table = rows(walked_if, mibs.IF_TABLE)
    extended = rows(walked_ifx, mibs.IFX_TABLE)
    result = []
    for index in sorted(set(table) | set(extended)):
        row, xrow = table.get(index, {}), extended.get(index, {})
        entry = {
            "index": index_text(index),
            "name": text(value(xrow, "name")) or text(value(row, "descr")) or index_text(index),
            "descr": text(value(row, "descr")), "alias": text(value(xrow, "alias")),
            "type": value(row, "type"), "mtu": value(row, "mtu"),
            "mac": mac(value(row, "phys_address")),
            "admin_up": value(row, "admin_status") == 1 if "admin_status" in row else None,
            "oper_up": value(row, "oper_status") == 1 if "oper_status" in row else None,
            "counters": _counters(row, xrow)}
        entry["speed_bps"], entry["note"] = _speed(row, xrow)
        result.append(entry)
    return result


def _speed(row: dict, xrow: dict) -> tuple[float | None, str | None]:
    """The interface's speed in bit/s, or None with a note where the agent's is not real."""
    high = value(xrow, "high_speed")
    if high:
        if high * 1_000_000.0 > MAX_SPEED_BPS:   # e.g. 4294901759 Mb/s on a firewall port
            return None, f"ifHighSpeed {high} Mb/s is not plausible; speed unknown"
        return high * 1_000_000.0, None
    speed = value(row, "speed")
    if speed is None or speed == 4294967295:   # saturated ifSpeed with no ifHighSpeed
        return None, None
    return float(speed), None


def _counter(row: dict, name: str):
    found = row.get(name)
    if found is None or found[0] not in COUNTER_WIDTH:
        return None
    return found[1], COUNTER_WIDTH[found[0]]


def _counters(row: dict, xrow: dict) -> dict[str, tuple[int, int]]:
    counters = {}
    for direction, prefix in (("rx", "in"), ("tx", "out")):
        octets = _counter(xrow, f"hc_{prefix}_octets") or _counter(row, f"{prefix}_octets")
        if octets:
            counters[f"{direction}_bytes"] = octets
        packets = []
        for kind in ("ucast", "mcast", "bcast"):
            found = _counter(xrow, f"hc_{prefix}_{kind}") or _counter(
                row if kind == "ucast" else xrow, f"{prefix}_{kind}")
            if found:
                packets.append(found)
        if packets:
            # A sum wraps like its narrowest part: 32 bits if any part is 32-bit.
            counters[f"{direction}_packets"] = (sum(p[0] for p in packets),
                                                min(p[1] for p in packets))
        for kind, column in (("errors", "errors"), ("discards", "discards")):
            found = _counter(row, f"{prefix}_{column}")
            if found:
                counters[f"{direction}_{kind}"] = found
    return counters


def storage(walked: dict) -> list[dict]:
    """HOST-RESOURCES storage: type, description, size and used in bytes."""
    result = []
    for index, row in sorted(rows(walked, mibs.HR_STORAGE).items()):
        kind = value(row, "type")
        base = mibs.HR_STORAGE_TYPE_BASE
        type_name = mibs.HR_STORAGE_TYPES.get(kind[len(base)], "other") \
            if isinstance(kind, tuple) and kind[:len(base)] == base and len(kind) > len(base) \
            else "other"
        units, size, used = (value(row, "allocation_units"), value(row, "size"),
                             value(row, "used"))
        if not units or size is None or units < 0:
            continue
        # Agents report hrStorageSize as a signed 32-bit INTEGER; big disks wrap negative.
        size, used = size % 2**32, (used or 0) % 2**32
        result.append({"index": index_text(index), "type": type_name,
                       "descr": text(value(row, "descr")) or index_text(index),
                       "size_bytes": size * units, "used_bytes": used * units})
    return result


def processors(walked_cpu: dict, walked_device: dict) -> tuple[list[tuple[str, int]], list[str]]:
    """hrProcessorLoad per processor, and the processors' descriptions (CPU models)."""
    loads = [(index_text(index), value(row, "load"))
             for index, row in sorted(rows(walked_cpu, {"load": mibs.HR_PROCESSOR_LOAD}).items())
             if isinstance(value(row, "load"), int)]
    models = [text(value(row, "descr")) for _index, row in
              sorted(rows(walked_device, mibs.HR_DEVICE).items())
              if value(row, "type") == mibs.HR_DEVICE_PROCESSOR and value(row, "descr")]
    return loads, [m for m in models if m]


def entities(walked: dict) -> list[dict]:
    """ENTITY-MIB physical entities, every class (the fact keeps those worth an asset)."""
    result = []
    for index, row in sorted(rows(walked, mibs.ENTITY).items()):
        entry = {"index": index_text(index),
                 "class": mibs.ENTITY_CLASSES.get(value(row, "class"), "unknown"),
                 "contained_in": value(row, "contained_in")}
        for key in ("name", "descr", "model", "serial", "hardware_rev", "firmware_rev",
                    "software_rev", "manufacturer"):
            found = text(value(row, key))
            if found:
                entry[key] = found
        result.append(entry)
    return result


#: Entity classes that are an asset of their own even without a serial number.
ASSET_CLASSES = frozenset({"chassis", "module", "power_supply", "fan", "stack", "cpu"})
#: Where the device's own serial is looked for, in order: the outermost chassis, any
#: chassis, a stack, an outermost shelf or container (an OLT's shelf carries the chassis
#: serial), an outermost "other" entity (a virtual appliance's only serial), a module.
_BOX_ORDER = (("chassis", True), ("chassis", False), ("stack", False), ("container", True),
              ("backplane", True), ("other", True), ("module", False))


def assets(entity_list: list[dict]) -> list[dict]:
    """The entities the fact keeps: every one with a serial number (optics, shelves,
    containers, "other" included: audits count them) and chassis, modules, PSUs, fans,
    stacks and CPUs without one."""
    return [e for e in entity_list if e.get("serial") or e["class"] in ASSET_CLASSES]


def chassis(entity_list: list[dict]) -> dict | None:
    """The entity that stands for the device: the first of :data:`_BOX_ORDER` with a real
    serial (placeholders such as "0000000000" or "N/A" do not count), else the first
    chassis."""
    for kind, outermost in _BOX_ORDER:
        for entry in entity_list:
            if entry["class"] == kind and (not outermost or not entry.get("contained_in")) \
                    and clean_serial(entry.get("serial")):
                return entry
    return next((e for e in entity_list if e["class"] == "chassis"), None)


_SIZE_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20,
               "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40,
               "tib": 2**40}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")


def quantity(raw, unit_scale: float = 1.0, sizes: bool = False) -> float | int | None:
    """A number from an integer or from text such as "2200 MHz" or "32768 MB" (with
    ``sizes``, the text's unit gives bytes and ``unit_scale`` applies to bare numbers)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw * unit_scale
        return int(number) if float(number).is_integer() else number
    found = _QUANTITY.match(text(raw) or "")
    if not found:
        return None
    number, unit = float(found.group(1)), found.group(2).lower()
    if sizes and unit:
        return int(number * _SIZE_UNITS[unit]) if unit in _SIZE_UNITS else None
    number *= unit_scale
    return int(number) if number.is_integer() else number


def components(table, walked: dict) -> list[dict]:
    """Rows of a profile's inventory table as components: class, index and the named
    columns (texts stripped, counts and sizes as numbers, placeholders such as "N/A" left
    out); rows with nothing but an index are skipped (an empty DIMM slot)."""
    by_index: dict[tuple, dict] = {}
    for name, oid in table.columns:
        for found, _tag, raw in walked.get(oid, []):
            by_index.setdefault(found[len(oid):], {})[name] = raw
    result = []
    for index, row in sorted(by_index.items()):
        entry = {}
        for name, raw in row.items():
            if name == "size_bytes":
                value_ = quantity(raw, table.size_scale, sizes=True)
            elif name in ("cores", "threads", "speed_mhz"):
                value_ = quantity(raw)
            else:
                value_ = clean_serial(text(raw))   # the placeholder rule for every text
            if value_:
                entry[name] = value_
        if table.require and not entry.get(table.require):
            continue
        if entry.get("size_bytes") or {"model", "serial", "name"} & set(entry) and \
                not (table.kind == "memory" and not entry.get("size_bytes")):
            result.append({"class": table.kind, "index": index_text(index), **entry})
    return result


def ip_addresses(walked: dict) -> list[str]:
    """IPv4 addresses of the device (ipAddrTable index), loopback excluded."""
    addresses = []
    for index in sorted(rows(walked, mibs.IP_ADDR)):
        if len(index) == 4 and index[0] != 127:
            addresses.append(".".join(map(str, index)))
    return addresses


def ups(scalars: dict, walked_input: dict, walked_output: dict) -> dict:
    """UPS-MIB figures in SI units: a scalar dict and per-line input/output dicts."""
    def scalar(name):
        found = scalars.get(mibs.UPS_SCALARS[name])
        if found is None:
            return None
        raw = found[1]
        # Agents say "unknown" with the type's maximum (2^31-1, 2^32-1) or -1.
        if isinstance(raw, int) and (raw >= 2**31 - 1 or raw < 0) and name != \
                "battery_celsius":
            return None
        return raw

    figures = {
        "battery_status": scalar("battery_status"),
        "seconds_on_battery": scalar("seconds_on_battery"),
        "runtime_seconds": None if scalar("minutes_remaining") is None
        else scalar("minutes_remaining") * 60,
        "charge_percent": scalar("charge_percent"),
        "battery_voltage_volts": None if scalar("battery_decivolts") is None
        else scalar("battery_decivolts") / 10,
        "battery_temperature_celsius": scalar("battery_celsius"),
        "output_source": scalar("output_source"),
        "output_frequency_hertz": None if scalar("output_decihertz") is None
        else scalar("output_decihertz") / 10,
    }
    inputs = [{"line": index_text(i), "frequency_hertz": _tenth(value(r, "decihertz")),
               "voltage_volts": value(r, "volts")}
              for i, r in sorted(rows(walked_input, mibs.UPS_INPUT).items())]
    outputs = [{"line": index_text(i), "voltage_volts": value(r, "volts"),
                "current_amperes": _tenth(value(r, "deciamperes")),
                "power_watts": value(r, "watts"), "load_percent": value(r, "load_percent")}
               for i, r in sorted(rows(walked_output, mibs.UPS_OUTPUT).items())]
    return {"scalars": {k: v for k, v in figures.items() if isinstance(v, (int, float))},
            "inputs": inputs, "outputs": outputs,
            "manufacturer": text(scalar("manufacturer")), "model": text(scalar("model"))}


def _tenth(raw):
    return raw / 10 if isinstance(raw, int) else None
