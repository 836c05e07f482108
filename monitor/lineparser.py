"""A line-protocol parser that reads exactly as InfluxDB 1.x's ``models.ParsePoints`` does.

The embedded store replays the spool through this parser, so it must accept
what influxd accepts, refuse what influxd refuses, and read back the same
measurement, tag and field names. influxd scans the measurement and tags by
looking at the *previous* byte for a backslash, the fields by skipping
backslash *pairs*; it unescapes tags by replacing ``\\,`` ``\\=`` ``\\ ``, and
measurements and field keys left to right (``\\,`` ``\\=`` ``\\ `` ``\\"``). This
module follows each rule as influxd 1.6 applies it (``models/points.go``,
``pkg/escape``), and ``tests/monitor/test_lineprotocol_influxd.py`` fuzzes it
against a real influxd. String fields are read and skipped: the embedded store
keeps numbers only.
"""

from __future__ import annotations

import math
import re
import time
from typing import Iterator

from core.observation import Sample

WHITESPACE = " \t\0"
MAX_KEY_BYTES = 65535
MIN_TIME, MAX_TIME = -(2**63) + 2, 2**63 - 2
TRUE = ("t", "T", "true", "True", "TRUE")
FALSE = ("f", "F", "false", "False", "FALSE")
_UNESCAPED = ',=" '
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch


class LineProtocolError(ValueError):
    """A line could not be parsed; the message names the line number and why."""


def parse(data: bytes | str) -> Iterator[Sample]:
    """Parse line protocol into samples of numeric and boolean fields.

    A line influxd would refuse raises :class:`LineProtocolError` naming the
    line; a line whose only fields are strings yields nothing.
    """
    text = data.decode() if isinstance(data, bytes) else data
    for number, line in enumerate(_lines(text), 1):
        line = line.lstrip(WHITESPACE)
        if not line or line[0] == "#":
            continue
        try:
            sample = _parse_line(line)
        except (ValueError, IndexError) as exc:
            raise LineProtocolError(f"line {number}: {exc}: {line[:200]!r}") from None
        if sample is not None:
            yield sample


def _lines(text: str) -> list[str]:
    # influxd skips backslash pairs and quoted field values when it looks for the
    # end of a line; only then can a newline belong to a line.
    if '"' not in text and "\\\n" not in text:
        return text.split("\n")
    lines, start, i, n = [], 0, 0, len(text)
    quoted = fields = False
    equals = commas = 0
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == " ":
            fields = True
        if fields and not quoted and char == "=":
            equals += 1
        elif fields and not quoted and char == ",":
            commas += 1
        elif fields and char == '"' and equals > commas:
            quoted = not quoted
        elif char == "\n" and not quoted:
            lines.append(text[start:i])
            start, quoted, fields, equals, commas = i + 1, False, False, 0, 0
        i += 1
    lines.append(text[start:])
    return lines


def _parse_line(line: str) -> Sample | None:
    long = len(line) > MAX_KEY_BYTES // 4  # only then can the key be too long
    if not long and "\\" not in line and '"' not in line and line.count(" ") == 2 \
            and "\t" not in line and "\0" not in line:
        return _parse_plain(line)
    end, measurement, tags = _scan_key(line)
    key_bytes = len(line[:end].encode()) if long else 0
    if key_bytes > MAX_KEY_BYTES:
        raise ValueError("max key length exceeded")
    end, fields_text = _scan_fields(line, end)
    stamp = _scan_time(line, end)
    return _sample(measurement, tags, _field_values(fields_text, key_bytes), stamp)


def _parse_plain(line: str) -> Sample | None:
    """The shape the serializer writes, with nothing escaped: split, then check."""
    head, fields_text, stamp = line.split(" ")
    measurement, *pairs = head.split(",")
    if not measurement:
        raise ValueError("missing measurement")
    tags = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not key or not eq:
            raise ValueError("missing tag key" if not key else "missing tag value")
        if not value:
            raise ValueError("missing tag value")
        if "=" in value[1:]:
            raise ValueError("invalid tag format")
        if key in tags:
            raise ValueError("duplicate tags")
        tags[key] = value
    if not fields_text:
        raise ValueError("missing fields")
    fields = {}
    for pair in fields_text.split(","):
        key, eq, raw = pair.partition("=")
        if not key or not eq or not raw or "=" in raw:
            raise ValueError("invalid field format")
        fields[key] = _value(raw)
    return _sample(measurement, tags, fields, _timestamp(stamp) if stamp else time.time_ns())


def _sample(measurement: str, tags: dict[str, str], fields: dict, stamp: int) -> Sample | None:
    if "time" in tags:
        raise ValueError('invalid tag key: input tag "time" is invalid')
    fields.pop("time", None)  # influxd drops a field named time, and the point if nothing is left
    if not fields:
        raise ValueError('invalid field name: input field "time" is invalid')
    numeric = {k: v for k, v in fields.items() if v is not None}
    return Sample(measurement, tags, numeric, stamp) if numeric else None


# -- measurement and tags: a backslash escapes the byte after it -------------------------------

def _scan_key(buf: str) -> tuple[int, str, dict[str, str]]:
    n = len(buf)
    if buf[0] == ",":
        raise ValueError("missing measurement")
    i = 0
    while True:
        i += 1
        if i >= n:
            raise ValueError("missing fields")
        if buf[i - 1] == "\\":
            continue
        if buf[i] in ", ":
            break
    measurement = _unescape(buf[:i])
    tags: dict[str, str] = {}
    while buf[i] == ",":
        i, key, value = _scan_tag(buf, i + 1)
        if key in tags:
            raise ValueError("duplicate tags")
        tags[key] = value
    return i, measurement, {_unescape_tag(k): _unescape_tag(v) for k, v in tags.items()}


def _scan_tag(buf: str, i: int) -> tuple[int, str, str]:
    n, start = len(buf), i
    if i >= n or buf[i] in " ,=":
        raise ValueError("missing tag key")
    while True:
        i += 1
        if i >= n or (buf[i] in " ," and buf[i - 1] != "\\"):
            raise ValueError("missing tag value")
        if buf[i] == "=" and buf[i - 1] != "\\":
            break
    key, i = buf[start:i], i + 1
    start = i
    if i >= n or buf[i] in ", ":
        raise ValueError("missing tag value")
    while True:
        i += 1
        if i >= n:
            raise ValueError("missing fields")
        if buf[i - 1] == "\\":
            continue
        if buf[i] == "=":
            raise ValueError("invalid tag format")
        if buf[i] in ", ":
            return i, key, buf[start:i]


def _unescape_tag(text: str) -> str:
    if "\\" not in text:
        return text
    return text.replace("\\,", ",").replace("\\=", "=").replace("\\ ", " ")


# -- fields: backslash pairs are skipped, quotes open only in values ---------------------------

def _scan_fields(buf: str, i: int) -> tuple[int, str]:
    n = len(buf)
    while i < n and buf[i] in WHITESPACE:
        i += 1
    start, quoted, equals, commas = i, False, 0, 0
    while i < n:
        char = buf[i]
        if char == "\\" and i + 1 < n:
            i += 2
            continue
        if char == '"' and equals > commas:
            quoted = not quoted
            i += 1
            continue
        if char == "=" and not quoted:
            equals += 1
            if buf[i - 1] in " ," and buf[i - 2] != "\\":
                raise ValueError("missing field key")
            if i + 1 >= n or buf[i + 1] in ", ":
                raise ValueError("missing field value")
            if buf[i + 1] in "0123456789.-Nn":
                i = _scan_number(buf, i + 1)
                continue
            if buf[i + 1] != '"':
                i = _scan_boolean(buf, i + 1)
                continue
        if char == "," and not quoted:
            commas += 1
        if char == " " and not quoted:
            break
        i += 1
    if quoted:
        raise ValueError("unbalanced quotes")
    if equals == 0 or commas != equals - 1:
        raise ValueError("invalid field format")
    return i, buf[start:i]


def _scan_number(buf: str, i: int) -> int:
    n, start = len(buf), i
    if buf[i] == "-":
        i += 1
        if i == n:
            raise ValueError("invalid number")
    is_int = is_uint = decimal = scientific = False
    while i < n and buf[i] not in ", ":
        char = buf[i]
        if char in "iu" and i > start and not (is_int or is_uint):
            is_int, is_uint = (True, False) if char == "i" else (False, True)
        elif char == "." and decimal:
            raise ValueError("invalid number")
        elif i > start and char in "eE":
            scientific = True
        elif char in "+-" and buf[i - 1] in "eE":
            pass
        elif char not in "0123456789.":
            raise ValueError("invalid number")
        decimal = decimal or char == "."
        i += 1
    digits = i - start - is_int - decimal - (buf[start] == "-")
    if is_uint or ((is_int or is_uint) and (decimal or scientific)) or digits == 0:
        raise ValueError("invalid number")
    if is_int and buf[i - 1] != "i":
        raise ValueError("invalid number")
    return i


def _scan_boolean(buf: str, i: int) -> int:
    end = i
    while end < len(buf) and buf[end] not in ", ":
        end += 1
    if buf[i:end] not in TRUE + FALSE:
        raise ValueError("invalid boolean")
    return end


def _field_values(text: str, key_bytes: int) -> dict[str, float | None]:
    """Split fields as influxd's field iterator does: key up to an unescaped '='."""
    fields: dict[str, float | None] = {}
    i, n = 0, len(text)
    while i < n:
        start = i
        while i < n and not (text[i] == "=" and (i == 0 or text[i - 1] != "\\")):
            i += 1
        key = text[start:i]
        i, raw = _scan_field_value(text, i + 1)
        i += 1
        if not raw:
            raise ValueError(f"invalid value: field-key={key}")
        if key_bytes and key_bytes + 4 + len(key.encode()) > MAX_KEY_BYTES:
            raise ValueError("max key length exceeded")
        fields[_unescape(key)] = _value(raw)
    return fields


def _scan_field_value(text: str, i: int) -> tuple[int, str]:
    start, quoted, n = i, False, len(text)
    while i < n:
        if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\':
            i += 2
            continue
        if text[i] == '"':
            quoted = not quoted
        elif text[i] == "," and not quoted:
            break
        i += 1
    return i, text[start:i]


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] == "\\" and i + 1 < n and text[i + 1] in _UNESCAPED:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _value(raw: str) -> float | None:
    """A field value as a float (None for a string), refusing what influxd refuses."""
    if _FLOAT(raw):  # what the serializer writes: decimal floats influxd scans and parses
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError("invalid float")
        return value
    first = raw[0]
    if first == '"':
        return None
    if first not in "0123456789.-Nn":
        if raw not in TRUE + FALSE:
            raise ValueError("invalid boolean")
        return 1.0 if raw in TRUE else 0.0
    if _scan_number(raw, 0) != len(raw):
        raise ValueError("invalid number")
    if raw[-1] == "i":
        value = int(raw[:-1])
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"unable to parse integer {raw[:-1]}: out of range")
        return float(value)
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("invalid float")
    return value


def _scan_time(buf: str, i: int) -> int:
    rest = buf[i:].lstrip(WHITESPACE)
    stamp, _, tail = rest.partition(" ")
    if tail.strip(" "):
        raise ValueError("point is invalid")
    return _timestamp(stamp) if stamp else time.time_ns()


def _timestamp(text: str) -> int:
    digits = text[1:] if text[:1] == "-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError("bad timestamp")
    value = int(text)
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValueError(f"time outside range {MIN_TIME} - {MAX_TIME}")
    return value
