"""The framework around collectors: timeouts, errors, tags, state-change logging."""

from __future__ import annotations

import concurrent.futures
import logging

import pytest

from collectors.base import STATUS_ERROR, STATUS_OK, STATUS_TIMEOUT
from monitor.config import TargetConfig
from monitor.poller import RunningTarget
from tests.monitor.fakes import CountingCollector, FlakyCollector, SlowCollector


def target(name, timeout=5.0, tags=None):
    return TargetConfig(name, "test", 15.0, timeout, 0.0, tags or {}, {})


@pytest.fixture
def pool():
    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        yield executor


def test_samples_carry_target_and_configured_tags(pool):
    running = RunningTarget(target("sw1", tags={"department": "大数据局", "unit": "cfg"}),
                            CountingCollector(), pool)
    obs = running.poll()
    assert obs.status == STATUS_OK
    # The collector's own tags win over configured ones; the target tag always wins.
    assert obs.samples[0].tags == {"department": "大数据局", "unit": "u1", "target": "sw1"}
    assert obs.duration_seconds >= 0


def test_timeout_gives_a_status_and_skips_until_the_hung_poll_ends(pool):
    slow = SlowCollector()
    running = RunningTarget(target("slow", timeout=0.2), slow, pool)
    first = running.poll()
    assert first.status == STATUS_TIMEOUT and "0.2s" in first.error
    second = running.poll()
    assert second.status == STATUS_TIMEOUT and "still running" in second.error
    assert slow.calls == 1
    slow.release.set()
    concurrent.futures.wait([running._inflight])
    assert running.poll().status == STATUS_OK
    assert slow.calls == 2


def test_exceptions_become_an_error_status(pool):
    obs = RunningTarget(target("flaky"), FlakyCollector(), pool).poll()
    assert obs.status == STATUS_ERROR
    assert obs.error == "ConnectionRefusedError: connection refused"


def test_down_and_recovered_are_logged_once_each(pool, caplog):
    flaky = FlakyCollector()
    running = RunningTarget(target("flaky"), flaky, pool)
    with caplog.at_level(logging.INFO, logger="monitor.poller"):
        for _ in range(3):
            running.poll()
        flaky.broken = False
        for _ in range(3):
            running.poll()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is down" in m for m in messages) == 1
    assert sum("recovered" in m for m in messages) == 1
