"""The SQL normalisers give, value by value, what the Python rules give (SQLite and
PostgreSQL): identity values and compared fields as collectors and census sheets carry
them, placeholders, and the odd forms people type."""

from __future__ import annotations

import pathlib

import pytest
from sqlalchemy import text

from core.identity import PLACEHOLDER_SERIALS, PLACEHOLDER_UUIDS
from ledger.reconcile import normalize, sql_norm

SHARED = pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"

SERIALS = [
    "2102351931P0A3000123", "cn12345678", "CZJ1234ABC", "SN-0001 A", " 21023 5193 ",
    "00000000", "0000-0000", "00 00 00 00", "aaaa", "AAAA", "aA", "To be filled by O.E.M.",
    "to  be filled by O.E.M.", "N/A", "none", "VMware-42 1a 2b 3c", "1234567890",
    "Default string", "9800.1234", "序列号12345", "x", "ab", "<private>", "--", "",
    "\tFOC1234X0AB\n", "FOC1234X0AB", "serial number", "S/N", "a.b.c",
]
UUIDS = [
    "4c4c4544-0044-4b10-8052-b2c04f4d4e32", "4C4C4544-0044-4B10-8052-B2C04F4D4E32",
    "{4c4c4544-0044-4b10-8052-b2c04f4d4e32}", " {4C4C4544-0044-4B10-8052-B2C04F4D4E32} ",
    "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "03000200-0400-0500-0006-000700080009", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
    "abababab-abab-abab-abab-abababababab", "i-0abc123", "vm-42", "42", "", "--",
    "564d1234-5678-9abc-def0-123456789abc",
]
MACS = [
    "00:1b:21:3a:4f:5e", "00-1B-21-3A-4F-5E", "001b.213a.4f5e", "001B213A4F5E",
    " 00:1b:21:3a:4f:5e ", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
    "33:33:00:00:00:01", "0:1b:21:3a:4f:5e", "00:1b:21:3a:4f", "zz:1b:21:3a:4f:5e",
    "70:7b:e8:aa:bb:cc", "02:00:00:00:00:01", "", "not a mac", "00_1b_21_3a_4f_5e",
    "22:22:22:22:22:22", "aa:aa:aa:aa:aa:ab", "03:00:00:00:00:01",
]
IPS = [
    "10.1.2.3", "010.001.002.003", "10.1.2.3/24", " 192.168.0.1 ", "0.0.0.0", "127.0.0.1",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "256.1.1.1", "1.2.3",
    "1.2.3.4.5", "1.2.3.4444", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:db8::1/64",
    "::", "::1", "ff02::1", "fe80::1", "fe80:0000::0001", "gibberish", "", "1:2",
    "2001:db8:0:0:1:0:0:1", "0.1.2.3", "126.255.255.255", "223.1.1.1", "240.1.1.1",
    "10.0.0.256", "1.02.3.4",
]
HOSTS = [
    "web1", "WEB1.gov.local", "web1.gov.local.", "localhost", "LocalHost.localdomain", "",
    "10.1.2.3", "010.1.2.3", "2001:DB8::1", "db-01.example.cn", "  app02 ", "1.2.3",
    "政务云-01.gov", "...", "a.b",
]
VENDORS = [
    *(alias for aliases in normalize.VENDOR_ALIASES.values() for alias in aliases),
    "HUAWEI TECHNOLOGIES CO., LTD.", "Huawei Technologies Co.,Ltd", "New H3C Technologies",
    "Hewlett Packard Enterprise", "HP", "Dell Inc.", "Inspur Electronic Information",
    "Cisco Systems, Inc.", "Juniper Networks", "华为技术有限公司", "浪潮电子信息产业股份有限公司",
    "Hillstone Networks", "Super Micro Computer", "Lenovo(Beijing)", "VMware, Inc.",
    "Generic Corp.", "Acme Technology", "IBM Corporation", "hp-ux", "shpe", "", "Inc.",
    "Red Hat", "QEMU", "Zhaoxin", "ChinaSoft (R)", "中兴通讯", "超微电脑",
]
MODELS = [
    "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248", "Kunpeng 920",
    "HUAWEI Kunpeng 920 5250", "Hygon C86 7285 32-core Processor", "Phytium FT-2000+/64",
    "Loongson-3A5000", "AMD EPYC 7742 64-Core Processor", "S5720-28X-SI-AC",
    "ProLiant DL380 Gen10", "PowerEdge R740", "CE6881-48S6CQ", "(TM)", "®™", "",
    "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "Xeon E5-2680 v4 @ 2.40 GHz",
    "NF5280M5", "Cisco C9300-48P", "ZXR10 5950-36TM-H", "SG-6000 co., ltd", "model.inc",
]
#: What a census sheet typed with a Chinese input method in full-width mode carries, and
#: the ASCII form collectors report it in (the same key: they must compare equal).
FULL_WIDTH = {
    "serial": [("２１０２３５１９３１Ｐ０Ａ３０００１２３", "2102351931P0A3000123"),
               ("ＳＮ－０００１　Ａ", "SN-0001 A"), ("ｃｎ１２３４５６７８", "cn12345678")],
    "uuid": [("４ｃ４ｃ４５４４－００４４－４ｂ１０－８０５２－ｂ２ｃ０４ｆ４ｄ４ｅ３２",
              "4c4c4544-0044-4b10-8052-b2c04f4d4e32"),
             ("｛４Ｃ４Ｃ４５４４－００４４－４Ｂ１０－８０５２－Ｂ２Ｃ０４Ｆ４Ｄ４Ｅ３２｝",
              "4c4c4544-0044-4b10-8052-b2c04f4d4e32")],
    "mac": [("００：１Ｂ：２１：３Ａ：４Ｆ：５Ｅ", "00:1b:21:3a:4f:5e"),
            ("７０－７ｂ－ｅ８－ａａ－ｂｂ－ｃｃ", "70:7b:e8:aa:bb:cc")],
    "ip": [("１０．１．２．３", "10.1.2.3"), ("１９２．１６８．０．１／２４", "192.168.0.1"),
           ("１０。１。２。３", "10.1.2.3"), ("10。1。2。3", "10.1.2.3"),
           ("２００１：ｄｂ８：：１", "2001:db8::1")],
    "host": [("ＷＥＢ１．ｇｏｖ．ｌｏｃａｌ", "web1"), ("ｌｏｃａｌｈｏｓｔ", "localhost"),
             ("ｗｅｂ１。ｇｏｖ", "web1.gov")],
    "vendor": [("ＨＵＡＷＥＩ", "Huawei"), ("Ｄｅｌｌ　Ｉｎｃ．", "Dell Inc.")],
    "model": [("ＰｏｗｅｒＥｄｇｅ　Ｒ７４０", "PowerEdge R740"),
              ("Ｋｕｎｐｅｎｇ　９２０", "Kunpeng 920")],
}
CORPUS = {"serial": SERIALS + [p.upper() for p in PLACEHOLDER_SERIALS],
          "uuid": UUIDS + sorted(PLACEHOLDER_UUIDS), "mac": MACS, "ip": IPS,
          "host": HOSTS, "vendor": VENDORS, "model": MODELS + VENDORS,
          "tail": ["res:volume:4c4c4544-0044-4b10-8052-b2c04f4d4e32", "res:volume:a:b",
                   "plain", "", "trailing:", "res:volume:"]}


def _recorded_values() -> dict[str, list[str]]:
    """Serial numbers and models of the hand-checked recordings (entPhysicalTable)."""
    out = {"serial": [], "model": []}
    for path in sorted((SHARED / "snmprec").glob("**/*.snmprec")):
        for line in path.read_text(errors="replace").splitlines():
            oid, _, rest = line.partition("|")
            tag, _, value = rest.partition("|")
            if tag != "4" or not value:
                continue
            if oid.startswith("1.3.6.1.2.1.47.1.1.1.1.11."):
                out["serial"].append(value)
            elif oid.startswith(("1.3.6.1.2.1.47.1.1.1.1.13.", "1.3.6.1.2.1.47.1.1.1.1.2.")):
                out["model"].append(value)
    return {k: sorted(set(v))[:400] for k, v in out.items()}


@pytest.mark.parametrize("name", sorted(FULL_WIDTH))
def test_full_width_forms_are_the_same_key(name):
    """Full-width letters, digits and punctuation (NFKC) name what their ASCII forms name."""
    rule = sql_norm.RULES[name]
    for typed, reported in FULL_WIDTH[name]:
        assert rule(typed) == rule(reported), (typed, reported)
    assert any(rule(reported) is not None for _typed, reported in FULL_WIDTH[name])


@pytest.mark.parametrize("name", sql_norm.KINDS)
def test_sql_normalisers_agree_with_python(ledger, name):
    values = list(CORPUS[name]) + [v for pair in FULL_WIDTH.get(name, ()) for v in pair]
    values += _recorded_values().get(name, [])
    with ledger.engine.connect() as conn:
        got = sql_norm.normalised(conn, name, values + [None])
    assert got.pop(None) is None
    rule = sql_norm.RULES[name]
    expected = {value: rule(value) for value in values}
    assert got == expected
    # The corpus holds real keys, not only values that normalise to nothing.
    assert sum(v is not None for v in expected.values()) >= 5
