"""The serializer and the embedded store's parser against InfluxDB's own parser (influxd 1.6).

Each example goes to a fresh database on the session's influxd: what influxd accepts, the
parser accepts, and both read back the same measurements, tags, fields, values and times.
"""

from __future__ import annotations

import itertools
import re
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectors.base import Sample
from monitor.lineprotocol import LineProtocolError, Serializer, parse
from tests.monitor.test_lineprotocol import SAMPLE

_DATABASES = itertools.count()
# Derandomized: CI runs the same 150 lines every time (a new edge found by a random run is
# added as an @example once understood, not left to fail one run in many).
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def influxd_reads(server, lines: bytes) -> dict | None:
    """What influxd stores for ``lines`` in a fresh database, or None if it refuses them."""
    database = f"lp_{next(_DATABASES)}"
    _post(server, "/query", {"q": f'CREATE DATABASE "{database}"'})
    try:
        try:
            _post(server, "/write?" + urllib.parse.urlencode({"db": database}), lines)
        except urllib.error.HTTPError as exc:
            assert exc.code == 400, exc.read()
            return None
        return _points(server, database)
    finally:
        _post(server, "/query", {"q": f'DROP DATABASE "{database}"'})


def _post(server, path: str, body) -> dict:
    data = urllib.parse.urlencode(body).encode() if isinstance(body, dict) else body
    with urllib.request.urlopen(server.url + path, data=data, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text else {}


def _points(server, database: str) -> dict:
    # Rows without GROUP BY: influxd 1.6 can put two series of a measurement whose tag
    # keys differ into one group under the wrong tags, but it lists each point as a row.
    def ask(statement):
        answer = _post(server, "/query", {"db": database, "epoch": "ns", "q": statement})
        return answer["results"][0].get("series", [])
    tag_keys = {s["name"]: {row[0] for row in s["values"]} for s in ask("SHOW TAG KEYS")}
    field_keys = {s["name"]: {row[0] for row in s["values"]} for s in ask("SHOW FIELD KEYS")}
    points: dict = {}
    for name in set(tag_keys) | set(field_keys):
        # One measurement per query: a tag named like a field of the query is renamed.
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        (series,) = ask(f"SELECT * FROM {quoted}")
        # influxd answers with "val0" for the column of an empty field key.
        fields_of = {k or "val0" for k in field_keys.get(name, ())}
        # A tag named like a field comes back as "<name>_1".
        tag_column = {(k + "_1" if k in fields_of else k): k for k in tag_keys.get(name, ())}
        for row in series["values"]:
            cells = dict(zip(series["columns"][1:], row[1:]))
            tags = tuple(sorted((tag_column[c], v) for c, v in cells.items()
                                if c in tag_column and v))
            fields = {c: float(v) for c, v in cells.items() if c in fields_of
                      and v is not None and not isinstance(v, str)}
            if fields:
                points.setdefault((name, tags, row[0]), {}).update(fields)
    return points


def parser_reads(lines: bytes) -> dict | None:
    """What the embedded store stores for ``lines``, or None if its parser refuses them."""
    try:
        samples = list(parse(lines))
    except LineProtocolError:
        return None
    points: dict = {}
    for sample in samples:
        key = (sample.measurement, tuple(sorted(sample.tags.items())), sample.time)
        points.setdefault(key, {}).update(sample.fields)
    return points


@FUZZ
@given(samples=st.lists(SAMPLE, min_size=1, max_size=3))
@example(samples=[Sample("0", {}, {'="': 0.0}, 0),
                  Sample("if", {"zone": "Z\\", "ifName": "Gi0/1\\", "target": "h1"}, {"v": 1}, 5),
                  Sample("#m", {"time": "x\n"}, {"time": 1, "\ta": 2, 'q"\\': 3}, 6)])
def test_influxd_accepts_every_serialized_sample_and_reads_it_back_alike(influx_server,
                                                                        samples):
    data = Serializer().serialize(samples)
    if not data:
        return
    stored = influxd_reads(influx_server, data)
    assert stored is not None, data
    assert stored == parser_reads(data)


# Raw lines built from the pieces influxd's scanner cares about, most of them malformed.
PIECE = st.text(st.sampled_from(list('ab\\,= "#\t')), max_size=5)
VALUE = st.sampled_from(["1", "1i", "-1.5", ".5", "1.", "1e5", "1E+5", "t", "FALSE", "True",
                         '"s"', '"a b,c=d"', '"x\\"y"', "nan", "1u", "", "1.2.3", "1_0", "+1",
                         "1e400", "-", "9223372036854775808i", "yes"])
STAMP = st.sampled_from(["1000", "-5", "12x", "9223372036854775807", "1000 ", "1000 x"])


@st.composite
def raw_lines(draw):
    # influxd 1.6 unescapes a measurement twice in one place and once in another, so one
    # with a backslash pair before an escaped character is indexed under a name that no
    # query finds; the serializer never writes one (it substitutes the backslash).
    measurement = draw(PIECE.filter(lambda m: not re.search(r'\\\\[,=" ]', m)))
    head = measurement + "".join(f",{k}={v}" for k, v in draw(st.lists(
        st.tuples(PIECE, PIECE), max_size=3)))
    fields = ",".join(f"{k}={v}" for k, v in draw(st.lists(st.tuples(PIECE, VALUE),
                                                           min_size=1, max_size=3)))
    return f"{head} {fields} {draw(STAMP)}"


@FUZZ
@given(line=raw_lines())
@example(line=r"m,z=Z\ v=1 1000")
@example(line=r"m,z=Z\\,t=a v=1 1000")
@example(line=r"m a\\=1 1000")
@example(line="m \t=1 1000")
def test_the_parser_accepts_exactly_what_influxd_accepts(influx_server, line):
    data = line.encode() + b"\n"
    stored = influxd_reads(influx_server, data)
    parsed = parser_reads(data)
    if stored is None or parsed is None:
        assert stored is parsed, (stored, parsed)
        return
    # influxd names an empty field key "val0" and so on in its answers; the alphabet has no 'v'.
    parsed = {key: {(f or "val0"): v for f, v in fields.items()} for key, fields in parsed.items()}
    assert stored == {k: v for k, v in parsed.items() if v}


@pytest.mark.parametrize("line", [b"time v=1 1", b"#m v=1 1", b" \tm v=1 1"])
def test_edge_lines_agree(influx_server, line):
    assert influxd_reads(influx_server, line) == parser_reads(line)
