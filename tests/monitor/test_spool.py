"""The spool on its own: acknowledgement, torn tails, caps."""

from __future__ import annotations

import pytest

from monitor.spool import HEADER, Spool


@pytest.fixture
def open_spool():
    """Open spools through this factory; every one is closed after the test."""
    opened = []

    def factory(folder, **options):
        opened.append(Spool(folder, **options))
        return opened[-1]

    yield factory
    for spool in opened:
        spool.close()


def batch(i):
    return b"m,k=v f=%d.0 %d\n" % (i, i)


def fill(spool, n, lines=1):
    for i in range(n):
        spool.append(batch(i) * lines, lines)


def test_only_acknowledged_records_leave(tmp_path, open_spool):
    spool = open_spool(tmp_path)
    fill(spool, 5)
    first = spool.read(2 * len(batch(0)))
    assert [r.payload for r in first] == [batch(0), batch(1)]
    spool.rewind()  # the send failed: the same records come again
    assert [r.payload for r in spool.read(2 * len(batch(0)))] == [batch(0), batch(1)]
    spool.acknowledge(first)
    spool.close()
    again = open_spool(tmp_path)
    assert again.pending_samples == 3
    assert [r.payload for r in again.read(10**6)] == [batch(2), batch(3), batch(4)]


def test_a_torn_tail_is_cut_on_open(tmp_path, open_spool):
    spool = open_spool(tmp_path)
    fill(spool, 3)
    spool.close()
    (segment,) = (tmp_path / "segments").glob("*.seg")
    with open(segment, "ab") as handle:  # a crash mid-record: header written, payload not
        handle.write(HEADER.pack(100, 0, 1, 0.0) + b"m f=1")
    reopened = open_spool(tmp_path)
    assert [r.payload for r in reopened.read(10**6)] == [batch(0), batch(1), batch(2)]
    reopened.append(batch(9), 1)
    assert reopened.read(10**6)[-1].payload == batch(9)


def test_acknowledged_segments_are_deleted(tmp_path, open_spool):
    spool = open_spool(tmp_path, segment_bytes=64)
    fill(spool, 10)
    assert len(list((tmp_path / "segments").glob("*.seg"))) > 3
    spool.acknowledge(spool.read(10**6))
    assert len(list((tmp_path / "segments").glob("*.seg"))) == 1
    assert spool.pending_samples == 0 and spool.pending_bytes == 0


def test_size_cap_drops_oldest_and_counts(tmp_path, open_spool):
    record = HEADER.size + len(batch(0) * 10)
    spool = open_spool(tmp_path, max_bytes=4 * record, segment_bytes=record)
    fill(spool, 10, lines=10)
    stats = spool.stats()
    assert stats["spool_bytes"] <= 4 * record + record
    assert stats["spool_dropped_samples_total"] == 100 - stats["spool_depth_samples"]
    remaining = spool.read(10**7)
    assert remaining[-1].payload == batch(9) * 10  # the newest data is kept


def test_age_cap_drops_old_segments(tmp_path, open_spool):
    now = [1000.0]
    spool = open_spool(tmp_path, max_age_seconds=60, segment_seconds=10, clock=lambda: now[0])
    fill(spool, 3)
    now[0] += 30
    fill(spool, 1)
    now[0] += 45  # the first segment is now 75 s old
    spool.append(batch(7), 1)
    assert spool.counters["dropped_samples"] == 3
    assert [r.payload for r in spool.read(10**6)] == [batch(0), batch(7)]
    assert spool.oldest_unsent_age() == 45
