"""Times the command line prints: in the configured time zone, with the UTC offset written
out (``2026-12-01 21:30:00+08:00``), so a time read on a terminal is never ambiguous."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_time(value: str | dt.datetime | None, timezone: str) -> str:
    """An aware datetime, or the ISO 8601 text of one (as the JSON output and the API write
    them), in ``timezone`` to the second with its offset; ``-`` for no time."""
    if value is None or value == "":
        return "-"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:       # the ledger stores UTC; a naive value is UTC too
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(ZoneInfo(timezone)).isoformat(sep=" ", timespec="seconds")
