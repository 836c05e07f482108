"""The embedded store: the shared contract, plus its rollup tiers and retention."""

from __future__ import annotations

import time

import pytest

from core.observation import Sample
from monitor.store import StoreError
from monitor.store.embedded import EmbeddedStore
from tests.store.contract import StoreContract, base_time, cpu_samples


class TestEmbeddedContract(StoreContract):
    @pytest.fixture
    def store(self, embedded_store):
        return embedded_store


class TestEmbeddedContractAfterRollup(StoreContract):
    """The same contract when reads come from the 1 m and 1 h tiers."""

    @pytest.fixture
    def store(self, embedded_store):
        original = embedded_store.write

        def write_then_roll_up(samples):
            written = original(samples)
            embedded_store.maintain(time.time())
            return written

        embedded_store.write = write_then_roll_up
        return embedded_store


def _all_aggregates(store, start, end, interval):
    return {agg: [(s.key, s.points) for s in store.query("cpu", "usage_percent", start, end,
                                                         interval=interval, agg=agg)]
            for agg in ("mean", "max", "min", "last", "sum", "count")}


@pytest.mark.parametrize("interval", [60, 300, 3600])
def test_tiers_answer_like_raw_points(embedded_store, interval):
    t0 = base_time(time.time())
    embedded_store.write(cpu_samples(t0, count=400, step=15))
    start, end = t0 + 7, t0 + 400 * 15 - 13  # unaligned on purpose
    before = _all_aggregates(embedded_store, start, end, interval)
    embedded_store.maintain(time.time())
    assert _all_aggregates(embedded_store, start, end, interval) == before


def test_late_points_behind_the_watermark_reach_the_rollups(embedded_store):
    t0 = base_time(time.time())
    embedded_store.write(cpu_samples(t0, hosts=("a",), count=200))
    embedded_store.maintain(time.time())
    late = [Sample("cpu", {"target": "a", "cpu": "cpu-total"}, {"usage_percent": 1000.0},
                   (t0 + 7) * 1_000_000_000)]
    embedded_store.write(late)
    embedded_store.maintain(time.time())
    hourly = embedded_store.query("cpu", "usage_percent", t0, t0 + 3600, interval=3600,
                                  agg="max", tags={"target": "a"})
    assert hourly[0].points == [(float(t0), 1000.0)]
    count = embedded_store.query("cpu", "usage_percent", t0, t0 + 3600, interval=3600,
                                 agg="count", tags={"target": "a"})
    assert count[0].points == [(float(t0), 201.0)]


def test_retention_drops_whole_partitions(tmp_path):
    store = EmbeddedStore(tmp_path, {"raw": 86400, "1m": 2 * 86400, "1h": 3 * 86400})
    now = time.time()
    old = int(now) - 10 * 86400
    store.write(cpu_samples(old, hosts=("a",), count=10) + cpu_samples(int(now) - 600,
                                                                       hosts=("a",), count=10))
    store.maintain(now)
    assert store.query("cpu", "usage_percent", old, old + 3600) == []
    recent = store.query("cpu", "usage_percent", now - 900, now)
    assert len(recent[0].points) == 10
    store.close()


def test_a_second_store_on_the_same_folder_reads_what_the_first_wrote(tmp_path):
    writer = EmbeddedStore(tmp_path, {})
    reader = EmbeddedStore(tmp_path, {})
    t0 = base_time(time.time())
    writer.write(cpu_samples(t0, hosts=("a",), count=5))
    assert len(reader.query("cpu", "usage_percent", t0, t0 + 3600)[0].points) == 5
    writer.close()
    reader.close()


def test_stats_count_series_written_by_this_store(embedded_store):
    t0 = base_time(time.time())
    embedded_store.write(cpu_samples(t0, hosts=("a", "b", "c"), count=2))
    stats = embedded_store.stats()
    assert stats["series"] == 6 and stats["bytes"] > 0


def test_a_full_disk_refuses_whole_writes_and_keeps_every_accepted_one(small_fs):
    store = EmbeddedStore(small_fs.path / "tsdb")
    t0 = base_time(time.time())

    def batch(i):
        return [Sample("m", {"unit": f"u{j}-{i}" + "x" * 200}, {"v": float(i)},
                       (t0 + i) * 10**9) for j in range(50)]

    accepted, refused, i = [], 0, 0
    small_fs.fill(leave_bytes=200_000)
    while refused < 3 and i < 500:
        try:
            store.write(batch(i))
            accepted.append(i)
        except StoreError:
            refused += 1
        i += 1
    assert refused, "the disk never filled"
    small_fs.free()
    for k in range(i, i + 5):
        store.write(batch(k))
        accepted.append(k)
    got = {int(v) for s in store.query("m", "v", t0 - 1, t0 + 1000) for _, v in s.points}
    assert got == set(accepted)
    assert len(store.series("m")) == 50 * len(accepted)
    store.close()
