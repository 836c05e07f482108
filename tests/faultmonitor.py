"""``python -m tests.faultmonitor ARGS``: the product's command line with one test collector more.

Fault tests run the real monitor as a subprocess. Their target is ``kind: sequence``,
which reports ``units`` series per poll, all at the poll's timestamp, and appends that
timestamp to the file named by its ``log`` option before it returns: the list of
everything the polls produced, to check the store against.
"""

from __future__ import annotations

import sys
import time

from collectors.base import Collector, Observation, Option
from collectors.registry import register_collector

#: One unit's tag value ends in a backslash, which line protocol cannot carry as it is.
UNIT_TAGS = ["zone\\"] + [f"unit-{i:03d}-" + "x" * 100 for i in range(1, 200)]


@register_collector
class SequenceCollector(Collector):
    """``units`` samples per poll at one timestamp, logged before they are returned."""

    kind = "sequence"
    options = (Option("log", str, required=True), Option("units", int, 60))

    def collect(self) -> Observation:
        stamp = time.time_ns()
        obs = Observation()
        for unit in UNIT_TAGS[:self.config["units"]]:
            obs.add("seq", {"unit": unit}, {"stamp_seconds": stamp / 1e9}, stamp)
        with open(self.config["log"], "a") as log:
            log.write(f"{stamp}\n")
        return obs


if __name__ == "__main__":
    from monitor.cli import main
    sys.exit(main(sys.argv[1:]))
