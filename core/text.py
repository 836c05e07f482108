"""Text shown back to a caller: a value echoed in an error is clipped, never whole."""

from __future__ import annotations


def clip(value, limit: int = 100):
    """``value`` as text of at most ``limit`` characters, then ``…(length)``
    (None stays None): a 1 MB value in a request never makes a 1 MB error."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)})"


def shown(value, limit: int = 100) -> str:
    """``repr``-like quoting of a clipped value, for messages (``'abc…(600000)'``)."""
    return repr(clip(value, limit)) if isinstance(value, str) else clip(repr(value), limit)
