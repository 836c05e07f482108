"""The contract every time-series store backend must pass.

A backend's test module subclasses :class:`StoreContract` and provides a
``store`` fixture (Telegraf's BufferSuiteTest pattern).
"""

from __future__ import annotations

import pytest

from core.observation import Sample
from monitor.lineprotocol import Serializer
from monitor.store import AGGREGATES, StoreError
from monitor.store.base import StoreBase, TimeSeriesStore

# An hour-aligned base time inside the default retention of every backend.
HOUR = 3600


def base_time(now: float) -> int:
    """Two hours before ``now``, aligned to the hour."""
    return int(now) // HOUR * HOUR - 2 * HOUR


def cpu_samples(t0: int, hosts=("a", "b"), count=240, step=15):
    """``count`` samples per host, ``step`` seconds apart; value = index % 10 (+100 for b)."""
    out = []
    for host_index, host in enumerate(hosts):
        for i in range(count):
            out.append(Sample("cpu", {"target": host, "cpu": "cpu-total"},
                              {"usage_percent": float(i % 10 + 100 * host_index),
                               "idle_percent": 50.0},
                              (t0 + i * step) * 1_000_000_000))
    return out


class StoreContract:
    """Behaviour shared by every backend."""

    @pytest.fixture
    def t0(self):
        import time
        return base_time(time.time())

    def test_write_counts_samples(self, store, t0):
        assert store.write(cpu_samples(t0, count=10)) == 2 * 10

    def test_raw_read_returns_every_point_in_order(self, store, t0):
        store.write(cpu_samples(t0, count=20))
        series = store.query("cpu", "usage_percent", t0, t0 + 3600, tags={"target": "a"})
        assert len(series) == 1
        assert series[0].key.tag_dict == {"target": "a", "cpu": "cpu-total"}
        assert series[0].points == [(float(t0 + i * 15), float(i % 10)) for i in range(20)]

    def test_range_is_half_open(self, store, t0):
        store.write(cpu_samples(t0, hosts=("a",), count=8))
        points = store.query("cpu", "usage_percent", t0 + 15, t0 + 60)[0].points
        assert [ts for ts, _ in points] == [t0 + 15, t0 + 30, t0 + 45]

    def test_tag_filter_with_list(self, store, t0):
        store.write(cpu_samples(t0, hosts=("a", "b", "c"), count=4))
        got = store.query("cpu", "usage_percent", t0, t0 + 3600, tags={"target": ["a", "c"]})
        assert sorted(s.key.tag_dict["target"] for s in got) == ["a", "c"]

    def test_unknown_measurement_or_field_is_empty(self, store, t0):
        store.write(cpu_samples(t0, count=4))
        assert store.query("nope", "usage_percent", t0, t0 + 60) == []
        assert store.query("cpu", "nope", t0, t0 + 60) == []

    @pytest.mark.parametrize("agg,expected_a", [
        ("mean", 4.5), ("max", 9.0), ("min", 0.0), ("sum", 45.0 * 24), ("count", 240.0),
        ("last", 9.0)])
    def test_hourly_aggregates(self, store, t0, agg, expected_a):
        store.write(cpu_samples(t0))
        got = {s.key.tag_dict["target"]: s.points for s in
               store.query("cpu", "usage_percent", t0, t0 + 3600, interval=3600, agg=agg)}
        assert got["a"] == [(float(t0), expected_a)]
        assert len(got["b"]) == 1

    def test_minute_means_are_exact(self, store, t0):
        store.write(cpu_samples(t0, hosts=("a",)))
        points = store.query("cpu", "usage_percent", t0, t0 + 600, interval=60,
                             tags={"target": "a"})[0].points
        # Each minute holds 4 samples: i = 4k..4k+3, values (i % 10).
        expected = [(float(t0 + 60 * k), sum((4 * k + j) % 10 for j in range(4)) / 4)
                    for k in range(10)]
        assert points == expected

    def test_rewrite_is_idempotent(self, store, t0):
        batch = cpu_samples(t0, hosts=("a",), count=40)
        store.write(batch)
        store.write(batch)
        got = store.query("cpu", "usage_percent", t0, t0 + 3600, interval=3600, agg="count")
        assert got[0].points == [(float(t0), 40.0)]

    def test_series_listing(self, store, t0):
        store.write(cpu_samples(t0, count=2))
        keys = store.series(tags={"target": "a"})
        assert {(k.measurement, k.field) for k in keys} == {("cpu", "usage_percent"),
                                                           ("cpu", "idle_percent")}
        assert all(k.tag_dict["target"] == "a" for k in keys)

    def test_unicode_tags(self, store, t0):
        store.write([Sample("ups", {"target": "机房-1", "部门": "大数据局"}, {"load_percent": 42.0},
                            t0 * 1_000_000_000)])
        got = store.query("ups", "load_percent", t0, t0 + 60, tags={"部门": "大数据局"})
        assert got[0].points == [(float(t0), 42.0)]

    def test_bad_queries_are_rejected(self, store, t0):
        with pytest.raises(StoreError):
            store.query("cpu", "usage_percent", t0, t0 + 60, interval=60, agg="median")
        with pytest.raises(StoreError):
            store.query("cpu", "usage_percent", t0 + 60, t0)
        assert "median" not in AGGREGATES

    def test_the_protocol_has_one_write_path(self, store, t0):
        # write() is the shared front door (StoreBase); no backend stores samples another way.
        assert isinstance(store, TimeSeriesStore)
        assert type(store).write is StoreBase.write
        by_samples = cpu_samples(t0, hosts=("a",), count=6)
        by_lines = cpu_samples(t0 + 3600, hosts=("a",), count=6)
        assert store.write(by_samples) == 6
        assert store.write_lines(Serializer().serialize(by_lines)) == 6
        first, = store.query("cpu", "usage_percent", t0, t0 + 3600)
        second, = store.query("cpu", "usage_percent", t0 + 3600, t0 + 7200)
        assert [v for _, v in first.points] == [v for _, v in second.points]
        assert first.key == second.key

    def test_names_are_stored_as_line_protocol_carries_them(self, store, t0):
        store.write([Sample("disk", {"time": "x", "path": "C:\\"}, {"free_bytes": 1.0},
                            t0 * 1_000_000_000)])
        key, = store.series("disk")
        assert key.tag_dict == {"time_": "x", "path": "C:\uff3c"}

    def test_stats_are_finite_figures_that_follow_writes(self, store, t0):
        before = store.stats()
        store.write(cpu_samples(t0, count=5))
        after = store.stats()
        assert after and all(isinstance(k, str) and isinstance(v, float) and 0 <= v < 1e18
                             for k, v in after.items())
        assert set(before) == set(after)
        assert any(after[k] > before[k] for k in after)
