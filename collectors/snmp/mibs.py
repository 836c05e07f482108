"""OIDs the SNMP collector reads, grouped as the MIB tables they belong to (data, no logic)."""

from __future__ import annotations

from collectors.snmp.ber import parse_oid

SYSTEM = {
    "sys_descr": parse_oid("1.3.6.1.2.1.1.1.0"),
    "sys_object_id": parse_oid("1.3.6.1.2.1.1.2.0"),
    "sys_uptime": parse_oid("1.3.6.1.2.1.1.3.0"),
    "sys_contact": parse_oid("1.3.6.1.2.1.1.4.0"),
    "sys_name": parse_oid("1.3.6.1.2.1.1.5.0"),
    "sys_location": parse_oid("1.3.6.1.2.1.1.6.0"),
    "hr_memory_kib": parse_oid("1.3.6.1.2.1.25.2.2.0"),
}


def _columns(entry: str, columns: dict[str, int]) -> dict[str, tuple[int, ...]]:
    base = parse_oid(entry)
    return {name: base + (number,) for name, number in columns.items()}


#: IF-MIB ifTable and ifXTable columns, walked one column at a time.
IF_TABLE = _columns("1.3.6.1.2.1.2.2.1", {
    "descr": 2, "type": 3, "mtu": 4, "speed": 5, "phys_address": 6, "admin_status": 7,
    "oper_status": 8, "in_octets": 10, "in_ucast": 11, "in_discards": 13, "in_errors": 14,
    "out_octets": 16, "out_ucast": 17, "out_discards": 19, "out_errors": 20})
IFX_TABLE = _columns("1.3.6.1.2.1.31.1.1.1", {
    "name": 1, "in_mcast": 2, "in_bcast": 3, "out_mcast": 4, "out_bcast": 5,
    "hc_in_octets": 6, "hc_in_ucast": 7, "hc_in_mcast": 8, "hc_in_bcast": 9,
    "hc_out_octets": 10, "hc_out_ucast": 11, "hc_out_mcast": 12, "hc_out_bcast": 13,
    "high_speed": 15, "alias": 18})
#: IP-MIB ipAddrTable: address -> ifIndex and mask.
IP_ADDR = _columns("1.3.6.1.2.1.4.20.1", {"if_index": 2, "netmask": 3})
#: ENTITY-MIB entPhysicalTable.
ENTITY = _columns("1.3.6.1.2.1.47.1.1.1.1", {
    "descr": 2, "contained_in": 4, "class": 5, "name": 7, "hardware_rev": 8,
    "firmware_rev": 9, "software_rev": 10, "serial": 11, "manufacturer": 12, "model": 13})
ENTITY_CLASSES = {1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container",
                  6: "power_supply", 7: "fan", 8: "sensor", 9: "module", 10: "port",
                  11: "stack", 12: "cpu"}
#: HOST-RESOURCES-MIB.
HR_STORAGE = _columns("1.3.6.1.2.1.25.2.3.1", {
    "type": 2, "descr": 3, "allocation_units": 4, "size": 5, "used": 6})
HR_STORAGE_TYPES = {1: "other", 2: "ram", 3: "virtual_memory", 4: "fixed_disk",
                    5: "removable_disk", 6: "floppy_disk", 7: "compact_disc", 8: "ram_disk",
                    9: "flash_memory", 10: "network_disk"}
HR_STORAGE_TYPE_BASE = parse_oid("1.3.6.1.2.1.25.2.1")
HR_DEVICE = _columns("1.3.6.1.2.1.25.3.2.1", {"type": 2, "descr": 3})
HR_DEVICE_PROCESSOR = parse_oid("1.3.6.1.2.1.25.3.1.3")
HR_PROCESSOR_LOAD = parse_oid("1.3.6.1.2.1.25.3.3.1.2")
#: UPS-MIB (RFC 1628) scalars and tables.
UPS_BASE = parse_oid("1.3.6.1.2.1.33")
UPS_SCALARS = {
    "manufacturer": parse_oid("1.3.6.1.2.1.33.1.1.1.0"),
    "model": parse_oid("1.3.6.1.2.1.33.1.1.2.0"),
    "battery_status": parse_oid("1.3.6.1.2.1.33.1.2.1.0"),
    "seconds_on_battery": parse_oid("1.3.6.1.2.1.33.1.2.2.0"),
    "minutes_remaining": parse_oid("1.3.6.1.2.1.33.1.2.3.0"),
    "charge_percent": parse_oid("1.3.6.1.2.1.33.1.2.4.0"),
    "battery_decivolts": parse_oid("1.3.6.1.2.1.33.1.2.5.0"),
    "battery_celsius": parse_oid("1.3.6.1.2.1.33.1.2.7.0"),
    "output_source": parse_oid("1.3.6.1.2.1.33.1.4.1.0"),
    "output_decihertz": parse_oid("1.3.6.1.2.1.33.1.4.2.0"),
}
UPS_INPUT = _columns("1.3.6.1.2.1.33.1.3.3.1", {"decihertz": 2, "volts": 3})
UPS_OUTPUT = _columns("1.3.6.1.2.1.33.1.4.4.1", {"volts": 2, "deciamperes": 3, "watts": 4,
                                                 "load_percent": 5})

#: Every column walked on every poll, by table.
TABLES = {"if": IF_TABLE, "ifx": IFX_TABLE, "ip": IP_ADDR, "entity": ENTITY,
          "hr_storage": HR_STORAGE, "hr_device": HR_DEVICE,
          "hr_cpu": {"load": HR_PROCESSOR_LOAD}, "ups_input": UPS_INPUT,
          "ups_output": UPS_OUTPUT}
