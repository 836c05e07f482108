"""Collectors and stores for framework tests, handed in through constructors."""

from __future__ import annotations

import threading
import time

from collectors.base import Collector, Fact, Observation
from monitor.lineprotocol import parse
from monitor.store import RejectedBatch, StoreError


class CountingCollector(Collector):
    """Returns one sample per poll with the poll number; remembers poll times."""

    kind = "counting"

    def __init__(self, name="fast", options=None, timeout=5.0):
        super().__init__(name, options, timeout)
        self.polls: list[float] = []

    def collect(self):
        self.polls.append(time.monotonic())
        obs = Observation()
        obs.add("test", {"unit": "u1"}, {"polls_total": len(self.polls)}, time.time_ns())
        obs.facts.append(Fact("host", {"hostname": self.name}, {"polls": len(self.polls)}))
        return obs


class SlowCollector(Collector):
    """Blocks until released (or ``seconds`` pass)."""

    kind = "slow"

    def __init__(self, name="slow", options=None, timeout=5.0, seconds=30.0):
        super().__init__(name, options, timeout)
        self.release = threading.Event()
        self.seconds = seconds
        self.calls = 0

    def collect(self):
        self.calls += 1
        self.release.wait(self.seconds)
        return Observation()


class FlakyCollector(Collector):
    """Raises while ``broken`` is set."""

    kind = "flaky"

    def __init__(self, name="flaky", options=None, timeout=5.0):
        super().__init__(name, options, timeout)
        self.broken = True

    def collect(self):
        if self.broken:
            raise ConnectionRefusedError("connection refused")
        obs = Observation()
        obs.add("test", {}, {"up": 1}, time.time_ns())
        return obs


class RecordingStore:
    """A store that keeps written samples in memory.

    It fails the first ``failures`` writes (retryably) and refuses, as a bad
    batch, any batch holding the measurement ``poison``.
    """

    def __init__(self, failures=0):
        self.failures = failures
        self.samples = []
        self.attempts = 0

    def write(self, samples):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise StoreError("connection refused")
        if any(s.measurement == "poison" for s in samples):
            raise RejectedBatch("HTTP 400: field type conflict")
        self.samples.extend(samples)
        return len(samples)

    def write_lines(self, data):
        return self.write(list(parse(data)))

    def maintain(self, now=None):
        pass

    def stats(self):
        return {"series": float(len({(s.measurement, tuple(sorted(s.tags.items())))
                                     for s in self.samples}))}

    def close(self):
        pass
