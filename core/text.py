"""Text shown back to a caller (a value echoed in an error is clipped, never whole), and
text typed in a Chinese input method's full-width mode in the form devices report."""

from __future__ import annotations

import unicodedata

_MARKS = str.maketrans({"™": "(tm)", "℠": "(sm)", "。": "."})


def folded(text: str) -> str:
    """``text`` in compatibility form (NFKC): the full-width letters, digits, punctuation and
    ideographic spaces a census sheet typed with a Chinese input method carries become the
    ASCII ones devices report (ＳＮ１２３ = SN123, １０．０．０．１ = 10.0.0.1), and so does
    the ideographic full stop typed in Chinese punctuation mode (１０。０。０。１). The marks
    ™ and ℠ become (tm) and (sm), not the letters NFKC makes of them, so they stay noise in
    vendors and models. ASCII text is returned as it is."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_MARKS))


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
