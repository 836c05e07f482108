"""Parsing of durations written in configuration files ("15s", "2m", "1h30m", "7d")."""

from __future__ import annotations

import math
import re

from core.text import shown

MAX_SECONDS = 100 * 31536000   # 100 years
MAX_BYTES = 1024**5            # 1 PiB
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(value: object) -> float:
    """Return seconds for a number or a string such as ``"90s"``, ``"1h30m"``, ``"2d"``.

    Raises ValueError with a reason a person can act on.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {shown(value)}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if len(text) > 64:   # no duration is that long; a huge one would parse slowly
            raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {shown(value)}")
        pos, seconds = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {shown(value)}")
    else:
        raise ValueError(f"expected a duration such as 15s, 5m, 1h, got {shown(value)}")
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number, got {shown(value)}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {shown(value)}")
    if seconds > MAX_SECONDS:
        # Beyond this no interval, timeout or retention means anything, and datetime
        # arithmetic (the scheduler's next run) overflows a few orders of magnitude later.
        raise ValueError(f"a duration must be at most 100y, got {shown(value)}")
    return seconds


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4,
               "tb": 1000**4, "tib": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]*)$")


def parse_size(value: object) -> int:
    """Return bytes for a number or a string such as ``"512MiB"``, ``"10GB"``, ``"2GiB"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 512MiB or 10GB, got {shown(value)}")
    if isinstance(value, (int, float)) and value >= 0:
        size = float(value)
    else:
        match = _SIZE.match(value.strip().lower()) if isinstance(value, str) else None
        if not match or match.group(2) not in _SIZE_UNITS:
            raise ValueError(f"expected a size such as 512MiB or 10GB, got {shown(value)}")
        size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not size <= MAX_BYTES:   # also infinity
        raise ValueError(f"a size must be at most 1PiB, got {shown(value)}")
    return int(size)
