"""The store writer batches, retries without losing, and counts drops."""

from __future__ import annotations

import time

from collectors.base import Sample
from monitor.writer import StoreWriter
from tests.monitor.fakes import RecordingStore


def samples(n, offset=0):
    return [Sample("m", {"i": str(i)}, {"v": 1.0, "w": 2.0}, (offset + i) * 10**9)
            for i in range(n)]


def test_batches_reach_the_store_in_order():
    store = RecordingStore()
    writer = StoreWriter(store, batch_size=100, flush_seconds=0.05)
    writer.start()
    batch = samples(250)
    writer.submit(batch)
    assert writer.flush(5)
    writer.stop()
    assert store.samples == batch
    stats = writer.stats()
    assert stats["store_written_samples_total"] == 250
    assert stats["store_written_points_total"] == 500
    assert stats["store_queue_depth"] == 0
    assert stats["store_write_seconds_count"] >= 3


def test_failed_writes_are_retried_and_nothing_is_lost():
    store = RecordingStore(failures=2)
    writer = StoreWriter(store, flush_seconds=0.01)
    writer.start()
    writer.submit(samples(10))
    deadline = time.monotonic() + 10
    while len(store.samples) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.stop()
    assert store.samples == samples(10)
    assert writer.write_errors == 2


def test_a_full_queue_drops_and_counts():
    writer = StoreWriter(RecordingStore(), max_queue=5)
    assert writer.submit(samples(8)) == 5
    assert writer.dropped_samples == 3
    assert writer.depth == 5
