"""Attack tests of a zone's outbox on disk: corrupted or truncated segment files.

The outbox is a Spool (monitor/spool.py) delivered by a StoreWriter to a CenterClient.
Here a fake center records what it receives. Each case came from an attack on zones and
holds the fixed behaviour; the test docstrings describe the attack.
"""

from __future__ import annotations

import json
import time

from monitor.coordination.outbox import Outbox, decode_batch
from monitor.spool import HEADER

SEGMENT_BYTES = 400   # a few records per segment, so there are several segments


class FakeCenter:
    """Shaped like CenterClient for the StoreWriter: keeps every record it is sent."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def write_lines(self, data: bytes) -> int:
        records = decode_batch(data)   # as CenterClient reads a batch
        self.keys.extend(r["key"] for r in records)
        return len(records)

    def close(self) -> None:
        pass


def record(i: int) -> dict:
    return {"key": f"k{i:04d}", "type": "poll", "name": "east-sw", "kind": "host",
            "status": "ok", "duration_seconds": 0.1, "error": None, "samples": 1,
            "at": 1764600000.0 + i, "interval_seconds": 60}


def fill(folder, n: int) -> None:
    box = Outbox(folder, FakeCenter(), segment_bytes=SEGMENT_BYTES)
    for i in range(n):
        box.put(record(i))
    box.writer.spool.close()


def flip_byte_in_record(folder, segment_index: int, record_index: int) -> str:
    """Flip one payload byte of a record; return the key of the damaged record."""
    segments = sorted((folder / "segments").glob("*.seg"))
    path = segments[segment_index]
    blob = bytearray(path.read_bytes())
    offset, header = 0, HEADER.size
    for _ in range(record_index):
        length = int.from_bytes(blob[offset:offset + 4], "little")
        offset += header + length
    length = int.from_bytes(blob[offset:offset + 4], "little")
    payload = bytes(blob[offset + header:offset + header + length])
    key = json.loads(payload)["key"]
    position = offset + header + payload.index(b'"status"') + 10
    blob[position] ^= 0x01
    path.write_bytes(bytes(blob))
    return key


def deliver(folder, seconds: float = 4.0) -> list[str]:
    center = FakeCenter()
    box = Outbox(folder, center, segment_bytes=SEGMENT_BYTES)
    box.writer.flush_seconds = 0.05
    box.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and box.depth:
        time.sleep(0.05)
    box.stop(1.0)
    return center.keys


def test_one_corrupt_record_in_the_last_segment_loses_only_that_record(tmp_path):
    """On open, the last segment is cut at the first bad CRC ('torn tail'), so every good
    record after a single flipped bit is deleted from disk."""
    folder = tmp_path / "outbox"
    fill(folder, 12)
    segments = sorted((folder / "segments").glob("*.seg"))
    assert len(segments) >= 2
    damaged = flip_byte_in_record(folder, len(segments) - 1, 0)
    delivered = deliver(folder)
    expected = [record(i)["key"] for i in range(12) if record(i)["key"] != damaged]
    lost = sorted(set(expected) - set(delivered))
    assert lost == [], f"damaged {damaged}; also lost {lost}"


def test_one_corrupt_record_in_an_older_segment_does_not_block_the_outbox(tmp_path):
    """A bad CRC in a segment that is not the last: read() stops before it and returns
    nothing, so the sender never gets past it and nothing after it is ever delivered."""
    folder = tmp_path / "outbox"
    fill(folder, 12)
    segments = sorted((folder / "segments").glob("*.seg"))
    assert len(segments) >= 3
    damaged = flip_byte_in_record(folder, 0, 1)
    delivered = deliver(folder)
    expected = [record(i)["key"] for i in range(12) if record(i)["key"] != damaged]
    lost = sorted(set(expected) - set(delivered))
    assert lost == [], f"damaged {damaged}; delivered {delivered}; not delivered {lost}"


def test_a_truncated_older_segment_does_not_block_the_outbox(tmp_path):
    """An older segment cut short (a copy or restore gone wrong)."""
    folder = tmp_path / "outbox"
    fill(folder, 12)
    segments = sorted((folder / "segments").glob("*.seg"))
    first = segments[0]
    first.write_bytes(first.read_bytes()[:-7])
    delivered = deliver(folder)
    later = [record(i)["key"] for i in range(8, 12)]
    assert set(later) <= set(delivered), (delivered, later)


def test_a_garbage_ack_file_resends_rather_than_stalls(tmp_path):
    folder = tmp_path / "outbox"
    fill(folder, 6)
    (folder / "ack").write_text('{"segment": 99, "offset": -5}')
    delivered = deliver(folder)
    assert set(record(i)["key"] for i in range(6)) <= set(delivered), delivered


def test_a_record_with_a_valid_crc_but_bad_json_is_set_aside_not_retried_forever(tmp_path):
    """A record the center can never take (not JSON) fails in write_lines with a
    JSONDecodeError, which the writer treats as a transient failure: it retries forever and
    every later record waits behind it."""
    folder = tmp_path / "outbox"
    box = Outbox(folder, FakeCenter(), segment_bytes=SEGMENT_BYTES)
    box.put(record(0))
    box.writer.spool.append(b"{not json\n", 1)
    box.put(record(2))
    box.writer.spool.close()
    delivered = deliver(folder)
    assert {"k0000", "k0002"} <= set(delivered), delivered
