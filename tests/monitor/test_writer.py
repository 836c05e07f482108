"""The store writer: spool first, batches to the store, retries, set-aside, restart."""

from __future__ import annotations

import json
import time

import pytest

from collectors.base import Sample
from monitor.spool import Spool
from monitor.writer import StoreWriter
from tests.monitor.fakes import RecordingStore


def samples(n, offset=0, measurement="m"):
    return [Sample(measurement, {"i": str(i)}, {"v": float(i), "w": 2.0}, i * 10**9)
            for i in range(offset, offset + n)]


def wait_until(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def spool(tmp_path):
    spool = Spool(tmp_path / "spool")
    yield spool
    spool.close()


def test_samples_reach_the_store_in_order(spool):
    store = RecordingStore()
    writer = StoreWriter(store, spool, batch_bytes=2000, flush_seconds=0.05)
    writer.start()
    for start in range(0, 250, 50):
        writer.submit(samples(50, start))
    assert writer.flush(10)
    writer.stop()
    assert store.samples == samples(250)
    stats = writer.stats()
    assert stats["store_written_points_total"] == 250
    assert stats["store_queue_depth"] == 0 and stats["spool_acked_samples_total"] == 250
    assert stats["store_write_seconds_count"] >= 2  # batched by size, not all at once


def test_failed_writes_are_retried_and_nothing_is_lost(spool):
    store = RecordingStore(failures=3)
    writer = StoreWriter(store, spool, flush_seconds=0.01)
    writer.start()
    writer.submit(samples(10))
    assert wait_until(lambda: len(store.samples) == 10)
    writer.stop()
    assert store.samples == samples(10)
    assert writer.write_errors == 3


def test_a_refused_batch_is_set_aside_and_later_batches_flow(spool):
    store = RecordingStore()
    writer = StoreWriter(store, spool, flush_seconds=0.2)
    writer.submit(samples(3))
    writer.submit(samples(2, measurement="poison"))
    writer.submit(samples(4, 100))
    writer.start()
    assert wait_until(lambda: len(store.samples) == 7)
    writer.stop()
    assert store.samples == samples(3) + samples(4, 100)
    (reason_file,) = spool.rejected.glob("*.json")
    assert json.loads(reason_file.read_text())["reason"] == "HTTP 400: field type conflict"
    assert reason_file.with_suffix(".lp").read_bytes().count(b"poison") == 2
    assert writer.stats()["spool_rejected_batches_total"] == 1


def test_unsent_samples_survive_a_restart(tmp_path):
    first = StoreWriter(RecordingStore(failures=10**6), Spool(tmp_path / "s"), flush_seconds=0.01)
    first.start()
    first.submit(samples(20))
    time.sleep(0.2)
    first.stop(timeout=0.5)
    store = RecordingStore()
    second = StoreWriter(store, Spool(tmp_path / "s"), flush_seconds=0.01)
    assert second.depth == 20
    second.start()
    assert second.flush(10)
    second.stop()
    assert store.samples == samples(20)
    assert second.stats()["spool_replayed_samples_total"] == 20


def test_a_full_disk_drops_only_what_it_refused_and_delivery_resumes(small_fs):
    store = RecordingStore()
    writer = StoreWriter(store, Spool(small_fs.path / "spool"), flush_seconds=0.05)
    assert writer.submit(samples(5)) == 5
    small_fs.fill()
    assert writer.submit(samples(500, 5)) == 0  # more than the segment's last page holds
    assert writer.dropped_samples == 500
    stats = writer.stats()
    assert stats["spool_write_errors_total"] == 1 and stats["spool_write_failing"] == 1
    small_fs.free()
    assert writer.submit(samples(5, 505)) == 5
    assert writer.stats()["spool_write_failing"] == 0
    writer.start()
    assert writer.flush(10)
    writer.stop()
    assert store.samples == samples(5) + samples(5, 505)
