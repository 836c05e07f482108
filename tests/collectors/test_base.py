"""The collector interface: observations, options, the registry, rates."""

from __future__ import annotations

import math

import pytest

from collectors import get_collector, kinds
from collectors.base import Observation, OptionError
from collectors.rates import RateTracker


def test_observation_keeps_only_finite_numbers():
    obs = Observation()
    obs.add("m", {"t": "1"}, {"a": 1, "b": 2.5, "c": True, "d": "up", "e": math.nan,
                              "f": None, "g": math.inf}, 7)
    obs.add("empty", {}, {"x": "text"}, 7)
    assert len(obs.samples) == 1
    assert obs.samples[0].fields == {"a": 1, "b": 2.5, "c": 1}


def test_option_errors_name_the_key():
    host = get_collector("host")
    with pytest.raises(OptionError) as info:
        host.resolve_options({"interfaces": "eth0"})
    assert info.value.key == "interfaces" and "expected list" in info.value.reason
    assert host.resolve_options({})["include_loopback"] is False


def test_registry_lists_builtins_and_rejects_unknown():
    assert "host" in kinds()
    with pytest.raises(KeyError, match="known: .*host"):
        get_collector("nope")


def test_rates_need_two_readings_and_never_go_negative():
    rates = RateTracker()
    assert rates.rate("k", 100, 10.0) is None
    assert rates.rate("k", 300, 12.0) == 100.0
    assert rates.rate("k", 50, 13.0) is None  # went backwards: a reset, no rate
    assert rates.rate("k", 150, 14.0) == 100.0


def test_rates_across_a_32_bit_wrap():
    rates = RateTracker()
    rates.rate("k", 2**32 - 100, 0.0, wrap_bits=32)
    assert rates.rate("k", 100, 2.0, wrap_bits=32) == 100.0


def test_forget_untouched_and_reset():
    rates = RateTracker()
    rates.rate("a", 1, 0.0)
    rates.rate("b", 1, 0.0)
    rates.forget_untouched()
    rates.rate("a", 2, 1.0)  # "b" went away this poll
    rates.forget_untouched()
    assert rates.rate("b", 2, 2.0) is None and rates.rate("a", 4, 2.0) == 2.0
    rates.reset()
    assert rates.rate("a", 3, 2.0) is None
