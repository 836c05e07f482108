"""Cell parsing: what people type into census sheets, and the round trip of exports."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from hypothesis import given, strategies as st

from ledger.census.fields import CATEGORIES, Field
from ledger.census.values import InvalidValue, parse, to_cell, to_json

D = dt.date
DATE, MONEY = Field("d", "日期", "date", "date"), Field("m", "金额", "amount", "money")
LEVEL, MAC = Field("l", "等保", "level", "level"), Field("mac", "MAC", "MAC", "mac")
CHOICE = Field("c", "状态", "status", "choice", choices="consolidation_status")


@pytest.mark.parametrize("raw, expected", [
    ("2020-05-01", D(2020, 5, 1)), ("2020/5/1", D(2020, 5, 1)), ("2020.05.01", D(2020, 5, 1)),
    ("2020年5月1日", D(2020, 5, 1)), ("2020年5月", D(2020, 5, 1)), ("2020-05", D(2020, 5, 1)),
    ("20200501", D(2020, 5, 1)), (43952, D(2020, 5, 1)), (43952.0, D(2020, 5, 1)),
    (dt.datetime(2020, 5, 1), D(2020, 5, 1)), ("2020-05-01 00:00:00", D(2020, 5, 1)),
])
def test_dates(raw, expected):
    assert parse(DATE, raw) == expected


@pytest.mark.parametrize("raw", ["2020-13-01", "2020-02-30", "五月", 43952.5, -3,
                                 dt.datetime(2020, 5, 1, 12, 30), True])
def test_bad_dates(raw):
    with pytest.raises(InvalidValue) as exc:
        parse(DATE, raw)
    assert exc.value.reason == "not_date"


@pytest.mark.parametrize("raw, expected", [
    ("1,234.5万元", "12345000.00"), ("12.5万", "125000.00"), ("¥3,500元", "3500.00"),
    (185000.5, "185000.50"), (3500000, "3500000.00"), ("0.01", "0.01"),
    ("12345678901234.56", "12345678901234.56"),
])
def test_money(raw, expected):
    assert parse(MONEY, raw) == decimal.Decimal(expected)


def test_money_unit_from_header_and_limits():
    assert parse(MONEY, 1.5, unit=decimal.Decimal(10000)) == decimal.Decimal("15000.00")
    for raw, reason in (("1.234", "money_precision"), ("-5", "negative"), ("abc", "not_money"),
                        ("NaN", "not_money"), (True, "not_money"), (1e26, "money_range"),
                        ("1e30", "money_range")):
        with pytest.raises(InvalidValue) as exc:
            parse(MONEY, raw)
        assert exc.value.reason == reason


@pytest.mark.parametrize("raw, expected", [(3, 3), ("3", 3), ("三级", 3), ("第三级", 3),
                                           ("等保二级", 2), ("5级", 5), (1.0, 1)])
def test_levels(raw, expected):
    assert parse(LEVEL, raw) == expected


@pytest.mark.parametrize("raw", [0, 6, "六级", "3.5", 2.5])
def test_bad_levels(raw):
    with pytest.raises(InvalidValue):
        parse(LEVEL, raw)


def test_choices_accept_key_and_both_labels():
    assert parse(CHOICE, "待关停") == parse(CHOICE, "to_be_closed") == \
        parse(CHOICE, "To Be Closed") == "to_be_closed"
    with pytest.raises(InvalidValue) as exc:
        parse(CHOICE, "拆除")
    assert "在用" in exc.value.params["allowed"]


@pytest.mark.parametrize("raw", ["00-11-22-AA-BB-CC", "0011.22aa.bbcc", "001122aabbcc",
                                 "00:11:22:aa:bb:cc", "００：１１：２２：ＡＡ：ＢＢ：ＣＣ",
                                 "００－１１－２２－ａａ－ｂｂ－ｃｃ"])
def test_macs_normalise(raw):
    assert parse(MAC, raw) == "00:11:22:aa:bb:cc"


@pytest.mark.parametrize("raw, expected", [
    ("１０．０．０．１", "10.0.0.1"), ("２００１：ＤＢ８：：１", "2001:db8::1"),
    ("　10.0.0.1　", "10.0.0.1"), ("１０。０。０。１", "10.0.0.1"), ("10。0。0。1", "10.0.0.1")])
def test_addresses_typed_in_full_width_are_read(raw, expected):
    assert parse(CATEGORIES["device"].by_key["management_ip"], raw) == expected


def test_numbers_the_ledger_cannot_hold_are_refused():
    cores = CATEGORIES["device"].by_key["cpu_cores"]
    assert parse(cores, 2**63 - 1) == 2**63 - 1
    with pytest.raises(InvalidValue) as exc:
        parse(cores, str(2**63))
    assert exc.value.reason == "int_range"
    memory = CATEGORIES["device"].by_key["memory_gib"]
    assert parse(memory, "1e15") == 1e15
    for huge in (1e308, "1e16"):
        with pytest.raises(InvalidValue) as exc:
            parse(memory, huge)
        assert exc.value.reason == "int_range"


def test_required_and_text_rules():
    code = CATEGORIES["device"].by_key["code"]
    assert parse(code, 440300.0) == "440300"
    for raw in (None, "  "):
        with pytest.raises(InvalidValue) as exc:
            parse(code, raw)
        assert exc.value.reason == "required"
    with pytest.raises(InvalidValue) as exc:
        parse(code, "x" * 65)
    assert exc.value.params == {"limit": 64}


ALL_FIELDS = [spec for category in CATEGORIES.values() for spec in category.fields]


@given(st.sampled_from(ALL_FIELDS), st.one_of(st.text(max_size=40), st.integers(),
                                              st.floats(allow_nan=True), st.booleans()))
def test_any_cell_gives_a_value_or_invalid_value(spec, raw):
    try:
        parse(spec, raw)
    except InvalidValue as exc:
        assert exc.reason


@given(st.sampled_from([s for s in ALL_FIELDS if s.kind not in ("ref",)]), st.data())
def test_exported_cells_import_to_the_same_value(spec, data):
    values = {
        # Visible text: control, format and bidi characters are refused on import.
        "text": st.text(st.characters(blacklist_categories=("C", "Z"), blacklist_characters="/",
                                      whitelist_characters=" "),
                        min_size=1, max_size=20).map(str.strip).filter(bool),
        "int": st.integers(0, 10**12), "float": st.floats(0, 1e9), "bool": st.booleans(),
        "date": st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
        "money": st.decimals(0, 10**12, places=2), "level": st.integers(1, 5),
        "choice": st.sampled_from([c[0] for c in __import__(
            "ledger.census.const", fromlist=["CHOICES"]).CHOICES.get(spec.choices or "", ())]
            or [None]),
        "ip": st.ip_addresses().map(str), "mac": st.binary(min_size=6, max_size=6).map(
            lambda b: ":".join(f"{x:02x}" for x in b)),
    }[spec.kind]
    value = data.draw(values)
    if value is None:
        return
    if spec.kind == "text":
        value = value[:spec.max_length]
    for language in ("zh", "en"):
        assert parse(spec, to_cell(spec, value, language)) == value
    assert parse(spec, to_json(spec, value)) == value


NAME, CODE = CATEGORIES["device"].by_key["name"], CATEGORIES["device"].by_key["code"]
SERIAL, REF = CATEGORIES["device"].by_key["serial_number"], CATEGORIES["device"].by_key["department"]


@pytest.mark.parametrize("spec, raw, reason", [
    (NAME, ["a"], "not_scalar"), (NAME, {"a": 1}, "not_scalar"), (CODE, True, "not_text"),
    (NAME, False, "not_text"), (REF, ["D001"], "not_scalar"), (LEVEL, [3], "not_scalar"),
    (DATE, ["2020-05-01"], "not_scalar"),
])
def test_structured_values_are_refused_not_coerced(spec, raw, reason):
    with pytest.raises(InvalidValue) as exc:
        parse(spec, raw)
    assert exc.value.reason == reason


@pytest.mark.parametrize("spec, raw, reason", [
    (CODE, "DEV/01", "code_slash"), (REF, "D0/01", "code_slash"),
    (CODE, "DEV\u200b01", "invisible"), (CODE, "DEV\u202e10", "invisible"),
    (CODE, "DEV\u00a001", "invisible"), (SERIAL, "SN\u200d123", "invisible"),
    (REF, "D\u2066001", "invisible"), (NAME, "核心\u202e交换机", "invisible"),
    (NAME, "核心\x9b交换机", "invisible"), (NAME, "核心\x07交换机", "invisible"),
])
def test_codes_and_identities_hold_no_hidden_characters(spec, raw, reason):
    with pytest.raises(InvalidValue) as exc:
        parse(spec, raw)
    assert exc.value.reason == reason


def test_visible_text_is_kept():
    assert parse(CODE, "DEV-01_a.b") == "DEV-01_a.b" and parse(CODE, 440300) == "440300"
    assert parse(NAME, "一网通办 (web)") == "一网通办 (web)"
    assert parse(CATEGORIES["device"].by_key["remarks"], "第一行\n第二行") == "第一行\n第二行"
