"""Line protocol: what the serializer writes, the parser (and InfluxDB) reads back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import Sample
from monitor.lineprotocol import LineProtocolError, Serializer, parse

# Backslashes, newlines and a leading '#' have no faithful form in line protocol.
TEXT = st.text(st.characters(blacklist_characters="\\\n\r#", blacklist_categories=("Cs",)),
               min_size=1, max_size=12)
NUMBER = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(measurement=TEXT, tags=st.dictionaries(TEXT, TEXT, max_size=4),
       fields=st.dictionaries(TEXT, NUMBER, min_size=1, max_size=4),
       stamp=st.integers(0, 2**62))
@settings(max_examples=500, deadline=None)
def test_round_trip(measurement, tags, fields, stamp):
    sample = Sample(measurement, tags, fields, stamp)
    (back,) = parse(Serializer().serialize([sample]))
    assert back.measurement == measurement
    assert dict(back.tags) == tags
    assert dict(back.fields) == {k: float(v) for k, v in fields.items()}
    assert back.time == stamp


def test_escaping_and_series_key_cache():
    serializer = Serializer()
    sample = Sample("if stats", {"ifName": "GigabitEthernet0/0/1", "alias": "to core, a=b"},
                    {"in octets": 12, "up": True}, 1700000000000000000)
    line = serializer.serialize([sample, sample]).decode().splitlines()
    assert line[0] == line[1] == (r"if\ stats,alias=to\ core\,\ a\=b,ifName=GigabitEthernet0/0/1 "
                                  r"in\ octets=12.0,up=1.0 1700000000000000000")


def test_parser_reads_influx_types_and_skips_strings():
    (sample,) = parse(b'ups,site=a load=42i,on=t,state="online",volts=229.5 5\n')
    assert sample.fields == {"load": 42.0, "on": 1.0, "volts": 229.5}


@pytest.mark.parametrize("line", [b"cpu usage=1.0", b"cpu usage=abc 1", b'cpu s="x" 1'])
def test_bad_lines_name_the_line(line):
    with pytest.raises(LineProtocolError, match="line 2"):
        list(parse(b"ok v=1.0 1\n" + line + b"\n"))
