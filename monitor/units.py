"""Parsing of durations written in configuration files ("15s", "2m", "1h30m", "7d")."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(value: object) -> float:
    """Return seconds for a number or a string such as ``"90s"``, ``"1h30m"``, ``"2d"``.

    Raises ValueError with a reason a person can act on.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        pos, seconds = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {value!r}")
    else:
        raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return seconds
