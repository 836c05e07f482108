"""Per-second rates from monotonically increasing counters.

Collectors keep one :class:`RateTracker` per target. A rate needs two readings;
a counter that goes backwards gives no rate (never a negative one) unless the
caller says the counter is ``wrap_bits`` wide and the target did not restart,
in which case one wrap is assumed. A restart (``reset=True``) drops every
previous reading, so the first poll after it gives no rates.
"""

from __future__ import annotations

from typing import Hashable


class RateTracker:
    """Remembers the previous reading of each counter and turns deltas into rates."""

    def __init__(self) -> None:
        self._previous: dict[Hashable, tuple[float, float]] = {}
        self._touched: set[Hashable] = set()

    def rate(self, key: Hashable, value: float, at_seconds: float,
             wrap_bits: int | None = None, max_rate: float | None = None) -> float | None:
        """Return the per-second rate of ``key`` since its last reading, or None.

        A wrap is believed only when the wrapped delta is under half the counter's range
        and, given ``max_rate`` (the link's capacity), the rate is physically possible;
        otherwise the counter was reset and there is no rate."""
        previous = self._previous.get(key)
        self._previous[key] = (value, at_seconds)
        self._touched.add(key)
        if previous is None:
            return None
        last_value, last_time = previous
        elapsed = at_seconds - last_time
        if elapsed <= 0:
            return None
        delta = value - last_value
        if delta < 0:
            if wrap_bits is None:
                return None
            delta += 2 ** wrap_bits
            if delta < 0 or delta >= 2 ** (wrap_bits - 1):
                return None
            if max_rate is not None and delta / elapsed > max_rate:
                return None
        return delta / elapsed

    def reset(self) -> None:
        """Forget every previous reading (the target restarted)."""
        self._previous.clear()

    def forget_untouched(self) -> None:
        """Drop counters not read since the last call (a NIC or disk went away)."""
        for key in [k for k in self._previous if k not in self._touched]:
            del self._previous[key]
        self._touched.clear()
