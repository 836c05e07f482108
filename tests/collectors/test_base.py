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


# -- what the framework owns: options, validation once, URLs, the inventory cadence --------

from collectors.base import (Collector, InventoryCadence, Option, Options,  # noqa: E402
                             url_option)


class _Probe(Collector):
    """A collector that counts validations and reads an inventory every 60 s."""

    kind = "probe"
    options = (url_option("url", required=True), Option("mode", str, "a", choices=("a", "b")))
    inventory_interval = 60.0
    validated = 0

    @classmethod
    def validate(cls, options):
        cls.validated += 1

    def setup(self):
        self.ready = True


def test_validate_runs_once_whether_options_come_configured_or_raw():
    _Probe.validated = 0
    options = _Probe.configure({"url": "https://10.0.0.1:8443/x"})
    assert isinstance(options, Options) and _Probe.validated == 1
    probe = _Probe("p", options)
    assert _Probe.validated == 1 and probe.ready and probe.config["mode"] == "a"
    _Probe("q", {"url": "http://h/"})
    assert _Probe.validated == 2


@pytest.mark.parametrize("url,reason", [
    ("ftp://host/x", "must be an http:// or https:// URL"),
    ("https://admin:s3cret@bmc.local/", "must not hold a user or password"),
    ("https://admin@bmc.local/", "must not hold a user or password"),
    ("https:///nohost", "names no host"),
    ("http://host:99999/", "not a valid URL"),
])
def test_url_options_refuse_other_schemes_and_credentials(url, reason):
    with pytest.raises(OptionError) as info:
        _Probe.configure({"url": url})
    assert info.value.key == "url" and reason in info.value.reason
    assert "s3cret" not in str(info.value)


def test_choices_and_the_inventory_option_come_from_the_framework():
    with pytest.raises(OptionError, match="mode: must be one of a, b, got 'c'"):
        _Probe.configure({"url": "http://h/", "mode": "c"})
    assert _Probe.configure({"url": "http://h/"})["inventory_interval"] == 60.0
    with pytest.raises(OptionError, match="inventory_interval: must be at least 0"):
        _Probe.configure({"url": "http://h/", "inventory_interval": -1})
    for kind in ("snmp", "openstack", "vsphere"):
        assert "inventory_interval" in {o.name for o in get_collector(kind).options}


def test_inventory_cadence_counts_from_the_start_of_the_last_complete_read():
    now = [1000.0]
    probe = _Probe("p", {"url": "http://h/"}, clock=lambda: now[0])
    cadence = probe.inventory
    assert cadence.due()           # first poll
    now[0] += 5                    # the read took 5 s and completed
    cadence.done()
    now[0] += 55                   # 60 s after the read started
    assert cadence.due()
    # This read fails: the next poll tries again.
    now[0] += 10
    assert cadence.due()
    cadence.done()
    now[0] += 59
    assert not cadence.due()
    cadence.reset()
    assert cadence.due()
    every_poll = InventoryCadence(0.0, clock=lambda: now[0])
    assert every_poll.due() and (every_poll.done() or every_poll.due())
