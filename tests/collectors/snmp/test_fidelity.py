"""What the device fact keeps: every entity with a serial, no placeholder key, the vendor
from the enterprise number, all three interface names, and no implausible figure."""

from __future__ import annotations

import pytest

from collectors.snmp import ber, mapping, mibs, plausible
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profiles import ProfileError, enterprise_of, load_enterprises
from collectors.snmp.profiles import load_profiles


def entity(index, kind, serial=None, contained_in=0, **more):
    found = {"index": str(index), "class": kind, "contained_in": contained_in, **more}
    if serial is not None:
        found["serial"] = serial
    return found


def test_every_entity_with_a_serial_is_an_asset():
    entities = [entity(1, "chassis", "21023579"), entity(2, "container", contained_in=1),
                entity(3, "port", "SFP-OPTIC-1", contained_in=2), entity(4, "sensor"),
                entity(5, "other", "VM-APPLIANCE-7"), entity(6, "fan")]
    assert [e["index"] for e in mapping.assets(entities)] == ["1", "3", "5", "6"]


@pytest.mark.parametrize("entities, chosen", [
    # A placeholder on the chassis: the OLT's shelf carries the real serial.
    ([entity(1, "chassis", "0000000000"), entity(2, "container", "OLT-SHELF-9")], "2"),
    ([entity(1, "chassis", "N/A"), entity(2, "module", "MOD-1", contained_in=1)], "2"),
    # A virtual appliance's only serial is on an "other" entity.
    ([entity(1, "other", "FGVM01TM2100001"), entity(2, "port", "OPTIC", contained_in=1)], "1"),
    # An optic's serial never stands for the device.
    ([entity(1, "chassis"), entity(2, "port", "OPTIC", contained_in=1)], "1"),
    ([entity(1, "chassis", "BOX-1", contained_in=0), entity(2, "chassis", "BOX-2",
                                                            contained_in=1)], "1"),
])
def test_the_device_serial_comes_from_the_right_entity(entities, chosen):
    assert mapping.chassis(entities)["index"] == chosen


def test_interfaces_keep_name_description_and_alias():
    walked_if = {"descr": [(mibs.IF_TABLE["descr"] + (7,), ber.OCTET_STRING,
                            b"Huawei GigabitEthernet0/0/1 Interface")],
                 "speed": [(mibs.IF_TABLE["speed"] + (7,), ber.GAUGE32, 4294967295)]}
    walked_ifx = {"name": [(mibs.IFX_TABLE["name"] + (7,), ber.OCTET_STRING, b"GE0/0/1")],
                  "alias": [(mibs.IFX_TABLE["alias"] + (7,), ber.OCTET_STRING, b"to core-2")],
                  "high_speed": [(mibs.IFX_TABLE["high_speed"] + (7,), ber.GAUGE32,
                                  4294901759)]}
    [found] = mapping.interfaces(walked_if, walked_ifx)
    assert (found["name"], found["descr"], found["alias"]) == (
        "GE0/0/1", "Huawei GigabitEthernet0/0/1 Interface", "to core-2")
    assert found["speed_bps"] is None
    assert "4294901759 Mb/s is not plausible" in found["note"]


@pytest.mark.parametrize("field, number, kept", [
    ("speed_bps", 1e11, True), ("speed_bps", 4294901759e6, False),
    ("temperature_celsius", 45, True), ("temperature_celsius", 65535, False),
    ("battery_temperature_celsius", -273, False), ("power_watts", 3500, True),
    ("power_watts", 2**32, False), ("size_bytes", 2**50, True), ("size_bytes", 2**63, False),
    ("used_percent", 101, False), ("load_percent", 115, True), ("value", 1e30, True),
    ("admin_up", True, True),
])
def test_plausibility_by_unit(field, number, kept):
    fields, notes = plausible.check({field: number})
    assert (field in fields) is kept
    assert bool(notes) is not kept


def test_enterprise_numbers_are_data_users_extend(tmp_path):
    assert load_enterprises()[2011] == "Huawei"
    assert load_enterprises()[25506] == "H3C"
    (tmp_path / "enterprises.yaml").write_text("99999: ACME Networks\n2011: Huawei (local)\n")
    # Rule files beside it are profiles as before; enterprises.yaml is not read as rules.
    (tmp_path / "acme.yaml").write_text(
        "- {name: acme, vendor: ACME, os: AcmeOS, device_type: switch,"
        " sysobjectid: [1.3.6.1.4.1.99999]}\n")
    assert load_profiles([str(tmp_path)])[-1].name == "acme"
    extended = load_enterprises([str(tmp_path)])
    assert (extended[99999], extended[2011], extended[9]) == ("ACME Networks",
                                                              "Huawei (local)", "Cisco")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "enterprises.yaml").write_text("vendor: ACME\n")
    with pytest.raises(ProfileError, match="expected a number and a vendor name"):
        load_enterprises([str(tmp_path / "bad")])


@pytest.mark.parametrize("object_id, number", [
    ("1.3.6.1.4.1.2011.2.23.1", 2011), ("1.3.6.1.4.1", None), ("0.0", None),
    ("1.3.6.1.2.1.33", None), ("1.3.6.1.4.1.8072.3.2.10", 8072)])
def test_enterprise_of(object_id, number):
    assert enterprise_of(ber.parse_oid(object_id)) == number


def test_vendor_from_a_user_enterprise_file(snmpsim_server, tmp_path):
    """linksys-system matches no profile; its enterprise (3955) names the vendor, and a
    user's enterprises.yaml renames it."""
    options = {"host": "127.0.0.1", "port": snmpsim_server.port, "community": "linksys-system"}
    collector = SnmpCollector("linksys", options, timeout=30)
    try:
        fact = collector.collect().facts[0]
    finally:
        collector.close()
    assert (fact.attributes["vendor"], fact.attributes["enterprise_number"]) == ("Linksys",
                                                                                 3955)
    assert "profile" not in fact.attributes
    (tmp_path / "enterprises.yaml").write_text("3955: Linksys (Cisco)\n")
    collector = SnmpCollector("linksys", {**options, "profile_dirs": [str(tmp_path)]},
                              timeout=30)
    try:
        assert collector.collect().facts[0].attributes["vendor"] == "Linksys (Cisco)"
    finally:
        collector.close()


@pytest.mark.parametrize("raw, scale, sizes, number", [
    (16777216, 1024, True, 17179869184), (b"32768 MB", 1, True, 34359738368),
    (b"2200 MHz", 1, False, 2200), (b" 38% of maximum", 1, False, 38), (b"N/A", 1, True, None),
    (b"12 parsecs", 1, True, None), (b"3.2110", 1, False, 3.211)])
def test_quantities_with_units(raw, scale, sizes, number):
    assert mapping.quantity(raw, scale, sizes) == number


def test_inventory_rows_become_components(tmp_path):
    (tmp_path / "bmc.yaml").write_text("""
- name: bmc
  vendor: ACME
  os: BMC
  device_type: server
  sysobjectid: [1.3.6.1.4.1.99999]
  inventory:
    - {class: memory, name: 1.3.6.1.4.1.99999.1.2, size_bytes: 1.3.6.1.4.1.99999.1.3,
       serial: 1.3.6.1.4.1.99999.1.4}
""")
    [table] = load_profiles([str(tmp_path)])[-1].inventory
    column = dict(table.columns)
    walked = {column["name"]: [(column["name"] + (1,), 4, b"DIMM000"),
                               (column["name"] + (2,), 4, b"DIMM001")],
              column["size_bytes"]: [(column["size_bytes"] + (1,), 4, b"32768 MB"),
                                     (column["size_bytes"] + (2,), 4, b"NO DIMM")],
              column["serial"]: [(column["serial"] + (1,), 4, b"0x1911AA5A"),
                                 (column["serial"] + (2,), 4, b"N/A")]}
    # The empty slot (no size) is no component; "N/A" is no serial.
    assert mapping.components(table, walked) == [
        {"class": "memory", "index": "1", "name": "DIMM000", "size_bytes": 2**35,
         "serial": "0x1911AA5A"}]


@pytest.mark.parametrize("metric, reason", [
    ({"oid": "1.3.6.1.4.1.9.1.0", "label": "1.3.6.1.4.1.9.2", "measurement": "m",
      "field": "f"}, "label and when belong to a table column"),
    ({"column": "1.3.6.1.4.1.9.1", "when": {"column": "1.3.6.1.4.1.9.2"}, "measurement": "m",
      "field": "f"}, "when must be"),
    ({"column": "1.3.6.1.4.1.9.1", "invalid": "0", "measurement": "m", "field": "f"},
     "invalid must be a list"),
])
def test_bad_metric_keys_are_named(tmp_path, metric, reason):
    import yaml
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump([{
        "name": "bad", "vendor": "V", "os": "O", "device_type": "other",
        "sysobjectid": ["1.3.6.1.4.1.9"], "metrics": [metric]}]))
    with pytest.raises(ProfileError, match=reason):
        load_profiles([str(tmp_path)])
