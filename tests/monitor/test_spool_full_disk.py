"""The spool on a filesystem that really fills up (a small tmpfs mounted for the test)."""

from __future__ import annotations

import pytest

from monitor.spool import Spool, SpoolError


def batch(i, size=10_000):
    line = b"m,k=v f=%d.0 %d\n" % (i, i)
    return line * (size // len(line))


def test_a_failed_append_leaves_the_spool_as_it_was(small_fs):
    spool = Spool(small_fs.path / "spool", fsync_seconds=0)
    accepted = []
    for i in range(3):
        spool.append(batch(i), 1)
        accepted.append(batch(i))
    small_fs.fill(leave_bytes=4096)  # room for part of the next record only
    with pytest.raises(SpoolError):
        spool.append(batch(3), 1)
    assert spool.counters["write_errors"] == 1
    assert spool.stats()["spool_write_failing"] == 1
    small_fs.free()
    for i in range(5, 8):
        spool.append(batch(i), 1)
        accepted.append(batch(i))
    assert spool.stats()["spool_write_failing"] == 0
    assert [r.payload for r in spool.read(10**7)] == accepted
    spool.close()
    reopened = Spool(small_fs.path / "spool")
    assert [r.payload for r in reopened.read(10**7)] == accepted
    assert reopened.pending_samples == len(accepted)
    reopened.close()


def test_a_full_disk_at_rotation_or_acknowledgement_loses_nothing(small_fs):
    spool = Spool(small_fs.path / "spool", segment_bytes=15_000, fsync_seconds=0)
    spool.append(batch(0), 1)
    spool.append(batch(1), 1)  # the segment is now past its size: the next append rotates
    small_fs.fill()
    with pytest.raises(SpoolError):
        spool.append(batch(2), 1)
    records = spool.read(10**7)
    spool.acknowledge(records[:1])  # the ack file cannot be written: kept in memory
    small_fs.free()
    spool.append(batch(3), 1)
    spool.rewind()
    assert [r.payload for r in spool.read(10**7)] == [batch(1), batch(3)]
    spool.close()
    reopened = Spool(small_fs.path / "spool")
    # The ack was written once there was room again, or the batch is sent again (idempotent).
    assert [r.payload for r in reopened.read(10**7)][-2:] == [batch(1), batch(3)]
    reopened.close()
