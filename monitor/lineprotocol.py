"""InfluxDB line protocol: a fast serializer for samples (the parser is ``lineparser.py``).

The spool holds line protocol, so a batch for InfluxDB is sent as the bytes it
was spooled as, and the embedded store parses it back. Every field is written as
a float: a field that is an integer in one poll and a float in the next would
otherwise be a type conflict that InfluxDB rejects.

Names are escaped as influxd 1.x reads them: commas, equals signs and spaces
everywhere, and double quotes in measurements and field keys. A few names have
no form influxd can read back, and a line that carries one would be refused
(and with it the whole batch) or land under a corrupted tag. :func:`storable_name`
maps those, the same way for both stores:

- a backslash at the end of a name, or right before a character that gets
  escaped, becomes ``＼`` (U+FF3C), since influxd would take it as an escape;
- a newline becomes the two characters ``\\n`` (influxd ends the line there), a
  carriage return ``\\r`` and a NUL byte ``\\0`` (InfluxQL cannot name them in a
  query);
- a tag or field key ``time`` becomes ``time_`` (influxd refuses the key);
- a measurement starting with ``#`` starts with ``＃`` (influxd skips the line
  as a comment); leading tabs of a measurement or field key are dropped, as
  influxd drops them at the start of a line and of the fields;
- characters that are not valid UTF-8 (lone surrogates) become ``?``.

Empty names cannot be stored: such tags and fields are left out, as are fields
whose value is not a finite number (InfluxDB has no NaN or infinity). Configured
names are checked by ``check-config`` and refused there instead.

The serializer caches the escaped series key per (measurement, tags) and the
escaped field keys, so a sample costs well under a microsecond per field once
its series has been seen (influxdb-client's ``Point`` costs about 14 µs).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Iterable, Mapping

from core.observation import Sample
from monitor.lineparser import LineProtocolError, parse

__all__ = ["LineProtocolError", "Serializer", "parse", "parse_series_key", "storable_name",
           "storable_sample", "MEASUREMENT", "TAG", "FIELD"]

MEASUREMENT, TAG, FIELD = "measurement", "tag", "field"
SPECIAL = {MEASUREMENT: ',= "', TAG: ",= ", FIELD: ',= "'}
_ESCAPE = {part: str.maketrans({c: "\\" + c for c in chars}) for part, chars in SPECIAL.items()}
_LONE_BACKSLASH = {part: re.compile(r"\\(?=[%s]|\Z)" % re.escape(chars))
                   for part, chars in SPECIAL.items()}
BACKSLASH_SUBSTITUTE = "\uff3c"
HASH_SUBSTITUTE = "\uff03"
RESERVED_KEY, RESERVED_KEY_SUBSTITUTE = "time", "time_"
MAX_CACHED_SERIES = 500_000


@functools.lru_cache(maxsize=65536)
def storable_name(text: str, part: str) -> str:
    """``text`` as influxd (and the embedded store) will read it back; see the module doc.

    ``part`` is :data:`MEASUREMENT`, :data:`TAG` (key or value) or :data:`FIELD` (key).
    """
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode(errors="replace").decode()
    if "\n" in text or "\r" in text or "\0" in text:
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")
    if "\\" in text:
        text = _LONE_BACKSLASH[part].sub(BACKSLASH_SUBSTITUTE, text)
    if part != TAG:
        text = text.lstrip("\t")
    if part == MEASUREMENT:
        if text.startswith("#"):
            text = HASH_SUBSTITUTE + text[1:]
    return text


def _key(text: str, part: str) -> str:
    name = storable_name(text, part)
    return RESERVED_KEY_SUBSTITUTE if name == RESERVED_KEY else name


def storable_sample(sample: Sample) -> Sample | None:
    """The sample as the stores keep it, or None if nothing of it can be stored."""
    measurement = storable_name(sample.measurement, MEASUREMENT)
    tags = _storable_tags(sample.tags)
    fields = {}
    for name, value in sample.fields.items():
        key, number = _key(str(name), FIELD), _number(value)
        if key and number is not None:
            fields[key] = number
    if not measurement or not fields:
        return None
    return Sample(measurement, tags, fields, sample.time)


def _storable_tags(tags: Mapping) -> dict[str, str]:
    out = {}
    for key, value in sorted((str(k), str(v)) for k, v in tags.items()):
        key, value = _key(key, TAG), storable_name(value, TAG)
        if key and value:
            out[key] = value
    return out


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


class Serializer:
    """Turns samples into line protocol bytes, caching escaped keys."""

    def __init__(self) -> None:
        self._series: dict[tuple, str] = {}
        self._fields: dict[str, str] = {}

    def series_key(self, measurement: str, tags) -> str:
        """Return ``measurement,tag=value,... `` (with the trailing space), escaped.

        Empty if the measurement cannot be stored.
        """
        cache_key = (measurement, tuple(tags.items()))
        prefix = self._series.get(cache_key)
        if prefix is None:
            if len(self._series) >= MAX_CACHED_SERIES:
                self._series.clear()
            name = storable_name(measurement, MEASUREMENT)
            parts = [name.translate(_ESCAPE[MEASUREMENT])]
            parts.extend(f"{k.translate(_ESCAPE[TAG])}={v.translate(_ESCAPE[TAG])}"
                         for k, v in sorted(_storable_tags(tags).items()))
            prefix = self._series[cache_key] = ",".join(parts) + " " if name else ""
        return prefix

    def field_key(self, name: str) -> str:
        """Return the escaped field key (empty if it cannot be stored)."""
        escaped = self._fields.get(name)
        if escaped is None:
            escaped = self._fields[name] = _key(str(name), FIELD).translate(_ESCAPE[FIELD])
        return escaped

    def line(self, sample: Sample) -> str | None:
        """One sample as one line, without the newline; None if nothing can be stored."""
        fk = self.field_key
        fields = {}
        for name, value in sample.fields.items():
            key = fk(name)
            if type(value) is not float or not math.isfinite(value):
                value = _number(value)
            if key and value is not None:
                fields[key] = value
        prefix = self.series_key(sample.measurement, sample.tags)
        if not fields or not prefix:
            return None
        text = ",".join([f"{k}={v!r}" for k, v in fields.items()])
        return f"{prefix}{text} {sample.time}"

    def serialize_counted(self, samples: Iterable[Sample]) -> tuple[bytes, int]:
        """Samples as newline-terminated line protocol, and how many lines that is."""
        lines = [text for text in map(self.line, samples) if text is not None]
        return "".join([text + "\n" for text in lines]).encode(), len(lines)

    def serialize(self, samples: Iterable[Sample]) -> bytes:
        """Samples as newline-terminated line protocol."""
        return self.serialize_counted(samples)[0]


def parse_series_key(raw: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Measurement and sorted tags of a series key as influxd's SHOW SERIES prints it."""
    (sample,) = parse(raw + " v=1 0")
    return sample.measurement, tuple(sorted(sample.tags.items()))
