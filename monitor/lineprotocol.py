"""InfluxDB line protocol: a fast serializer for samples and a parser for replay.

The spool holds line protocol, so a batch for InfluxDB is sent as the bytes it
was spooled as, and the embedded store parses it back. Every field is written as
a float: a field that is an integer in one poll and a float in the next would
otherwise be a type conflict that InfluxDB rejects.

The serializer caches the escaped series key per (measurement, tags) and the
escaped field keys, so a sample costs well under a microsecond per field once
its series has been seen (influxdb-client's ``Point`` costs about 14 µs).
"""

from __future__ import annotations

from typing import Iterable, Iterator

from collectors.base import Sample

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n"})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n"})
MAX_CACHED_SERIES = 500_000


class LineProtocolError(ValueError):
    """A line could not be parsed; the message names the line number and why."""


class Serializer:
    """Turns samples into line protocol bytes, caching escaped keys."""

    def __init__(self) -> None:
        self._series: dict[tuple, str] = {}
        self._fields: dict[str, str] = {}

    def series_key(self, measurement: str, tags) -> str:
        """Return ``measurement,tag=value,... `` (with the trailing space), escaped."""
        cache_key = (measurement, tuple(tags.items()))
        prefix = self._series.get(cache_key)
        if prefix is None:
            if len(self._series) >= MAX_CACHED_SERIES:
                self._series.clear()
            parts = [measurement.translate(_MEASUREMENT)]
            parts.extend(f"{str(k).translate(_KEY)}={str(v).translate(_KEY)}"
                         for k, v in sorted(tags.items()) if v != "")
            prefix = self._series[cache_key] = ",".join(parts) + " "
        return prefix

    def field_key(self, name: str) -> str:
        """Return the escaped field key."""
        escaped = self._fields.get(name)
        if escaped is None:
            escaped = self._fields[name] = name.translate(_KEY)
        return escaped

    def line(self, sample: Sample) -> str:
        """One sample as one line, without the newline."""
        fk = self.field_key
        fields = ",".join([f"{fk(k)}={float(v)!r}" for k, v in sample.fields.items()])
        return f"{self.series_key(sample.measurement, sample.tags)}{fields} {sample.time}"

    def serialize(self, samples: Iterable[Sample]) -> bytes:
        """Samples as newline-terminated line protocol."""
        line = self.line
        return "".join([line(s) + "\n" for s in samples if s.fields]).encode()


def parse(data: bytes | str) -> Iterator[Sample]:
    """Parse line protocol into samples; numeric and boolean fields only.

    String fields are skipped (the embedded store keeps numbers); a line with a
    missing timestamp or no numeric field raises :class:`LineProtocolError`.
    """
    text = data.decode() if isinstance(data, bytes) else data
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        try:
            yield _parse_line(line)
        except (ValueError, IndexError) as exc:
            raise LineProtocolError(f"line {number}: {exc}: {line[:200]!r}") from None


def _parse_line(line: str) -> Sample:
    if "\\" not in line and '"' not in line:
        head, fields_text, stamp = line.split(" ")
        measurement, *pairs = head.split(",")
        tags = dict(p.split("=", 1) for p in pairs)
        fields = dict(_field(p.split("=", 1)) for p in fields_text.split(","))
    else:
        # Quoted strings exist only among field values, so the head is split without them.
        head, rest = (split_unescaped(line, " ", 1) + [""])[:2]
        fields_text, _, stamp = rest.rpartition(" ")
        if not fields_text or not stamp:
            raise ValueError("expected measurement+tags, fields and a timestamp")
        measurement, *pairs = split_unescaped(head, ",")
        tags = dict(_pair(p) for p in pairs)
        fields = dict(_field(_pair(p, quotes=True))
                      for p in split_unescaped(fields_text, ",", quotes=True))
        measurement = unescape(measurement)
    numeric = {k: v for k, v in fields.items() if v is not None}
    if not numeric:
        raise ValueError("no numeric field")
    return Sample(measurement, tags, numeric, int(stamp))


def _field(pair) -> tuple[str, float | None]:
    name, raw = pair
    if raw.startswith('"'):
        return name, None
    if raw in ("t", "T", "true", "True", "TRUE"):
        return name, 1.0
    if raw in ("f", "F", "false", "False", "FALSE"):
        return name, 0.0
    if raw[-1] in "iu":
        return name, float(int(raw[:-1]))
    return name, float(raw)


def _pair(text: str, quotes: bool = False) -> tuple[str, str]:
    key, value = split_unescaped(text, "=", 1, quotes=quotes)
    return unescape(key), unescape(value) if not value.startswith('"') else value


def split_unescaped(text: str, sep: str, limit: int = -1, quotes: bool = False) -> list[str]:
    """Split on ``sep`` where it is not backslash-escaped (nor quoted, with ``quotes``)."""
    out, current, i, quoted = [], [], 0, False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if quotes and char == '"' and (quoted or (i > 0 and text[i - 1] == "=")):
            quoted = not quoted  # only a field value opens a quoted string
        if char == sep and not quoted and (limit < 0 or len(out) < limit):
            out.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    out.append("".join(current))
    return out


def unescape(text: str) -> str:
    """Undo line-protocol escaping of commas, equals signs, spaces and newlines."""
    if "\\" not in text:
        return text
    return (text.replace(r"\,", ",").replace(r"\=", "=").replace(r"\ ", " ")
            .replace(r"\n", "\n").replace("\\\\", "\\"))
