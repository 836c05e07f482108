"""Line protocol: what the serializer writes, the parser (and InfluxDB) reads back."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collectors.base import Sample
from monitor.lineprotocol import (BACKSLASH_SUBSTITUTE, LineProtocolError, Serializer, parse,
                                  parse_series_key, storable_sample)

# Any text, lone surrogates included, and text made of the characters that line protocol
# treats specially, so both kinds of name are drawn often.
SPECIALS = st.text(st.sampled_from(list('\\,= "#\t\0\nat時')), max_size=8)
NAME = st.one_of(st.text(max_size=10), SPECIALS, st.just("time"))
NUMBER = st.one_of(st.floats(width=64), st.integers(-2**70, 2**70), st.booleans())
SAMPLE = st.builds(Sample, NAME, st.dictionaries(NAME, NAME, max_size=4),
                   st.dictionaries(NAME, NUMBER, min_size=1, max_size=4),
                   st.integers(-2**63 + 2, 2**63 - 2))
# Names with nothing to map: no backslash, line break, NUL, leading '#', tab or NUL, not "time".
PLAIN = st.text(st.characters(blacklist_characters="\\\n\r\t\0#", blacklist_categories=("Cs",)),
                min_size=1, max_size=12).filter(lambda s: s != "time")


@given(sample=SAMPLE)
@settings(max_examples=500, deadline=None)
@example(sample=Sample("0", {}, {'="': 0.0}, 0))
@example(sample=Sample("if", {"zone": "Z\\", "ifName": "Gi0/1\\", "target": "h1"}, {"v": 1}, 5))
def test_round_trip(sample):
    expected = storable_sample(sample)
    data = Serializer().serialize([sample])
    if expected is None:
        assert data == b""
        return
    (back,) = parse(data)
    assert back == expected


@given(measurement=PLAIN, tags=st.dictionaries(PLAIN, PLAIN, max_size=4),
       fields=st.dictionaries(PLAIN, st.floats(allow_nan=False, allow_infinity=False),
                              min_size=1, max_size=4), stamp=st.integers(0, 2**62))
@settings(max_examples=300, deadline=None)
def test_plain_names_read_back_unchanged(measurement, tags, fields, stamp):
    sample = Sample(measurement, tags, fields, stamp)
    assert list(parse(Serializer().serialize([sample]))) == [sample]


def test_the_hypothesis_failure_from_ci():
    (back,) = parse(Serializer().serialize([Sample("0", {}, {'="': 0.0}, 0)]))
    assert back.fields == {'="': 0.0}


def test_a_trailing_backslash_keeps_every_other_tag():
    sample = Sample("if", {"zone": "Z\\", "ifName": "Gi0/1\\", "target": "h1"}, {"v": 1.0}, 5)
    line = Serializer().serialize([sample])
    (back,) = parse(line)
    assert back.tags == {"zone": "Z" + BACKSLASH_SUBSTITUTE,
                         "ifName": "Gi0/1" + BACKSLASH_SUBSTITUTE, "target": "h1"}


def test_unstorable_fields_and_samples_are_left_out():
    serializer = Serializer()
    data, lines = serializer.serialize_counted([
        Sample("m", {"": "x", "k": ""}, {"a": math.nan, "b": 2, "c": math.inf, "": 1.0}, 1),
        Sample("m", {}, {"a": math.nan}, 2), Sample("", {}, {"a": 1.0}, 3)])
    assert (data, lines) == (b"m b=2.0 1\n", 1)


def test_escaping_and_series_key_cache():
    serializer = Serializer()
    sample = Sample("if stats", {"ifName": "GigabitEthernet0/0/1", "alias": "to core, a=b"},
                    {"in octets": 12, "up": True}, 1700000000000000000)
    line = serializer.serialize([sample, sample]).decode().splitlines()
    assert line[0] == line[1] == (r"if\ stats,alias=to\ core\,\ a\=b,ifName=GigabitEthernet0/0/1 "
                                  r"in\ octets=12.0,up=1.0 1700000000000000000")


def test_series_keys_as_influxd_prints_them():
    assert parse_series_key(r"a\ b,k=v\,w,z=a\\b") == ("a b", (("k", "v,w"), ("z", "a\\\\b")))


def test_parser_reads_influx_types_and_skips_strings():
    (sample,) = parse(b'ups,site=a load=42i,on=t,state="online",volts=229.5 5\n')
    assert sample.fields == {"load": 42.0, "on": 1.0, "volts": 229.5}
    assert list(parse(b'ups,site=a state="on, line\nstill" 5\n')) == []


@pytest.mark.parametrize("line", [
    b"cpu usage=abc 1", b"cpu usage=1_0 1", b"cpu usage=nan 1",
    b"cpu usage=1e400 1", b"cpu,a=b,a=c v=1 1", b"cpu,time=x v=1 1", b"cpu time=1 1",
    b"cpu,k=a=b v=1 1", b"cpu v=1u 1", b"cpu v=1 9223372036854775807"])
def test_bad_lines_name_the_line(line):
    with pytest.raises(LineProtocolError, match="line 2"):
        list(parse(b"ok v=1.0 1\n" + line + b"\n"))
