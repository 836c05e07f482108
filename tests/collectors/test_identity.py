"""The one placeholder rule for identity values (serials, UUIDs, MACs)."""

from __future__ import annotations

import pytest

from collectors.base import Fact
from collectors.identity import (clean_keys, clean_serial, clean_uuid, drop_shared,
                                 is_placeholder_mac, is_placeholder_serial, is_placeholder_uuid)


@pytest.mark.parametrize("value", [
    None, "", "   ", "0", "00000000", "00 00 00 00 00", "0000-0000", "FFFFFFFF", "N/A", "n/a",
    "To be filled by O.E.M.", "TO BE FILLED BY O.E.M.", "Default string", "System Serial Number",
    "Not Specified", "0123456789", "unknown", "-", "<private>", "..........",
])
def test_placeholder_serials_are_refused(value):
    assert is_placeholder_serial(value)
    assert clean_serial(value) is None


@pytest.mark.parametrize("value", ["2102311VKU10K3000123", "FOC1234X0AB", "CN12345678",
                                   "210235A1JS1234567890", "VMware-42 1f 2a", "J1234"])
def test_real_serials_are_kept(value):
    assert not is_placeholder_serial(value)
    assert clean_serial(f"  {value} ") == value


def test_serial_whitespace_is_collapsed():
    assert clean_serial(" AB  12\t34 ") == "AB 12 34"


@pytest.mark.parametrize("value", [None, "", "00000000-0000-0000-0000-000000000000",
                                   "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
                                   "03000200-0400-0500-0006-000700080009"])
def test_placeholder_uuids(value):
    assert is_placeholder_uuid(value)
    assert clean_uuid(value) is None


def test_real_uuid_is_lower_cased():
    assert clean_uuid(" 4C4C4544-0042-3510-8048-B4C04F564433 ") == \
        "4c4c4544-0042-3510-8048-b4c04f564433"


@pytest.mark.parametrize("value, placeholder", [
    ("00:00:00:00:00:00", True), ("ff:ff:ff:ff:ff:ff", True), ("01:00:5e:00:00:01", True),
    ("33:33:00:00:00:01", True), ("not-a-mac", True), (None, True),
    ("52:54:00:12:34:56", False), ("00-0C-29-AB-CD-EF", False), ("02fc.0000.0001", False),
])
def test_macs(value, placeholder):
    assert is_placeholder_mac(value) is placeholder


def test_clean_keys_moves_placeholders_to_attributes():
    keys, dropped = clean_keys({
        "serial_number": " To be filled by O.E.M. ", "machine_uuid": "4C4C4544-0042-3510",
        "instance_uuid": "00000000-0000-0000-0000-000000000000", "hostname": "node1",
        "mac": ["52:54:00:AA:BB:CC", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"], "mgmt_ip": None})
    assert keys == {"machine_uuid": "4c4c4544-0042-3510", "hostname": "node1",
                    "mac": ["52:54:00:aa:bb:cc"]}
    assert dropped == {"serial_number_placeholder": "To be filled by O.E.M.",
                       "instance_uuid_placeholder": "00000000-0000-0000-0000-000000000000"}


def test_clean_keys_drops_a_list_of_placeholder_macs():
    keys, dropped = clean_keys({"mac": ["00:00:00:00:00:00"], "hostname": "h"})
    assert keys == {"hostname": "h"} and dropped == {}


def test_drop_shared_keeps_the_value_as_an_attribute():
    facts = [Fact("server", {"serial_number": "CHASSIS1", "machine_uuid": f"u{n}"}, {})
             for n in range(2)]
    facts += [Fact("server", {"serial_number": "NODE3", "machine_uuid": "u3"}, {}),
              Fact("volume", {"serial_number": "CHASSIS1"}, {})]
    result = drop_shared(facts, ["server"])
    assert [f.keys for f in result] == [{"machine_uuid": "u0"}, {"machine_uuid": "u1"},
                                        {"serial_number": "NODE3", "machine_uuid": "u3"},
                                        {"serial_number": "CHASSIS1"}]
    assert result[0].attributes == {"serial_number_shared": "CHASSIS1"}
    assert facts[0].keys["serial_number"] == "CHASSIS1"   # the input is left as it was
