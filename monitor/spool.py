"""The durable spool in front of every time-series store: no sample lost.

Every batch of line protocol is appended to a segment file before anything is
sent, and leaves the spool only when the store acknowledged it (the ack file
holds the position of the first unacknowledged record). After a crash or a
store outage the sender starts again from that position, so delivery is at
least once; both stores treat a rewrite of the same series and timestamp as
idempotent, which makes it exactly once in effect.

Layout of ``<data_dir>/spool``::

    segments/000000000001.seg   records: header (length, crc32, lines, appended_at) + payload
    ack                         {"segment": 3, "offset": 81920}, replaced atomically
    rejected/<seg>-<offset>.lp  batches a store refused (4xx), with <...>.json giving the reason

A torn record at the end of the last segment (a crash mid-write) is cut off on
open. An append that fails (a full disk) is cut off at once: the segment is
truncated back to its last whole record, the failure is counted and reported
(``spool_write_failing`` until an append succeeds again), and later appends go
on from there, so nothing after it is lost. Only when the size or age cap is
reached are the oldest segments dropped, and every dropped sample is counted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Callable

_LOGGER = logging.getLogger(__name__)
HEADER = struct.Struct("<IIId")  # payload length, crc32, line count, appended_at (epoch s)


class SpoolError(OSError):
    """The spool could not store a batch (for example, the disk is full)."""


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset."""

    segment: int
    offset: int


@dataclasses.dataclass
class Record:
    """One appended batch as read back."""

    start: Position
    end: Position
    payload: bytes
    lines: int
    appended_at: float
    crc: int = 0

    @property
    def size(self) -> int:
        """Payload bytes (known also when only the header was read)."""
        return self.end.offset - self.start.offset - HEADER.size


class Spool:
    """An append-only, acknowledged, capped queue of line-protocol batches on disk."""

    def __init__(self, folder: str | Path, *, max_bytes: int = 10 * 2**30,
                 max_age_seconds: float = 7 * 86400, segment_bytes: int = 16 * 2**20,
                 segment_seconds: float = 300, fsync_seconds: float = 1.0,
                 clock: Callable[[], float] = time.time, label: str = "Spool",
                 unit: str = "samples", peer: str = "Store") -> None:
        # How logs name it, what it holds and where that goes (a zone's outbox holds
        # records for the center).
        self.label, self.unit, self.peer = label, unit, peer
        self.folder = Path(folder)
        self.segments = self.folder / "segments"
        self.rejected = self.folder / "rejected"
        self.segments.mkdir(parents=True, exist_ok=True)
        self.rejected.mkdir(exist_ok=True)
        self.max_bytes, self.max_age = max_bytes, max_age_seconds
        self.segment_bytes, self.segment_seconds = segment_bytes, segment_seconds
        self.fsync_seconds, self._clock = fsync_seconds, clock
        self._lock = threading.RLock()
        self.counters = {"appended_samples": 0, "acked_samples": 0, "dropped_samples": 0,
                         "replayed_samples": 0, "rejected_batches": 0, "rejected_samples": 0,
                         "write_errors": 0, "ack_write_errors": 0, "corrupt_records": 0}
        self._corrupt_seen: set[Position] = set()
        self.write_failing = False
        self.last_write_error = ""
        self._sizes: dict[int, int] = {}
        self._first_times: dict[int, float] = {}
        self._open_existing()

    # -- opening ---------------------------------------------------------------------------------

    def _open_existing(self) -> None:
        for path in sorted(self.segments.glob("*.seg")):
            self._sizes[int(path.stem)] = path.stat().st_size
        self.ack = self._read_ack()
        if self._sizes and (self.ack.segment > max(self._sizes) or self.ack.offset >
                            self._sizes.get(self.ack.segment, self.ack.offset)):
            # An ack past everything on disk is damaged: resend rather than drop the lot.
            _LOGGER.error("%s ack file points past it (%s); resending from the start",
                          self.label, self.ack)
            self.ack = Position(min(self._sizes), 0)
        for seq in [s for s in self._sizes if s < self.ack.segment]:
            self._remove_segment(seq)
        if self._sizes:
            last = max(self._sizes)
            self._sizes[last] = self._valid_length(last)
            os.truncate(self._path(last), self._sizes[last])
        self._writer_seq = max(self._sizes, default=self.ack.segment)
        self._fd = self._open_segment(self._writer_seq)
        self._sizes.setdefault(self._writer_seq, 0)
        self._last_fsync = self._clock()
        self.cursor = self.ack
        # Everything already spooled came from an earlier run: sending it is a replay.
        self._replay_end = self.end_position()
        unsent = list(self._scan(self.ack, headers_only=True))
        self.pending_samples = sum(r.lines for r in unsent)
        self.pending_bytes = sum(r.size for r in unsent)
        if self.pending_samples:
            _LOGGER.info("%s holds %s unsent %s from before; replaying", self.label,
                         self.pending_samples, self.unit)

    def _read_ack(self) -> Position:
        try:
            data = json.loads((self.folder / "ack").read_text())
            return Position(int(data["segment"]), int(data["offset"]))
        except FileNotFoundError:
            return Position(min(self._sizes, default=1), 0)
        except (ValueError, KeyError, TypeError) as exc:
            # An unreadable ack file must not lose data: resend from the oldest segment.
            _LOGGER.error("%s ack file is unreadable (%s); resending from the start",
                          self.label, exc)
            return Position(min(self._sizes, default=1), 0)

    def _valid_length(self, seq: int) -> int:
        # Whole frames count; only a damaged last record is a torn write (a record damaged
        # in the middle is skipped when read, so the good ones after it are kept).
        valid, before, last_ok = 0, 0, True
        for record in self._scan_segment(seq, 0, headers_only=False, verify=False):
            before, valid = valid, record.end.offset
            last_ok = zlib.crc32(record.payload) == record.crc
        if not last_ok:
            valid = before
        if valid != self._sizes[seq]:
            _LOGGER.warning("%s segment %s had a torn tail; cut %s bytes", self.label, seq,
                            self._sizes[seq] - valid)
        return valid

    # -- appending -------------------------------------------------------------------------------

    def append(self, payload: bytes, lines: int) -> None:
        """Durably queue one batch; raise SpoolError if it could not be stored.

        A failed append leaves the spool exactly as it was before it.
        """
        now = self._clock()
        record = HEADER.pack(len(payload), zlib.crc32(payload), lines, now) + payload
        with self._lock:
            try:
                self._maybe_rotate(now)
                self._write_record(record, now)
            except OSError as exc:
                self._append_failed(exc)
                raise SpoolError(exc.errno, f"spool write failed in {self.segments}: "
                                            f"{exc.strerror or exc}") from exc
            if self.write_failing:
                _LOGGER.info("%s writes recovered in %s", self.label, self.segments)
            self.write_failing = False
            self._sizes[self._writer_seq] += len(record)
            self._first_times.setdefault(self._writer_seq, now)
            self.counters["appended_samples"] += lines
            self.pending_samples += lines
            self.pending_bytes += len(payload)
            self._enforce_caps(now)

    def _write_record(self, record: bytes, now: float) -> None:
        # Positional writes from the last whole record: whatever a failed write left
        # behind is overwritten (and truncated), never appended after.
        offset, view = self._sizes[self._writer_seq], memoryview(record)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written
        if now - self._last_fsync >= self.fsync_seconds:
            os.fsync(self._fd)
            self._last_fsync = now

    def _append_failed(self, exc: OSError) -> None:
        self.counters["write_errors"] += 1
        self.last_write_error = exc.strerror or str(exc)
        if not self.write_failing:
            _LOGGER.error("%s write failed in %s: %s; the poll's %s are not kept", self.label,
                          self.segments, self.last_write_error, self.unit)
        self.write_failing = True
        try:
            os.ftruncate(self._fd, self._sizes[self._writer_seq])
        except OSError:
            pass  # the next append writes over it from the same offset, and truncates again

    def _open_segment(self, seq: int) -> int:
        return os.open(self._path(seq), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _maybe_rotate(self, now: float) -> None:
        size = self._sizes[self._writer_seq]
        first = self._first_times.get(self._writer_seq)
        if size >= self.segment_bytes or (size and first and now - first >= self.segment_seconds):
            fd = self._open_segment(self._writer_seq + 1)  # may fail: then nothing changed
            try:
                os.fsync(self._fd)
            except OSError:
                os.close(fd)
                raise
            os.close(self._fd)
            self._fd = fd
            self._writer_seq += 1
            self._sizes[self._writer_seq] = 0

    def _enforce_caps(self, now: float) -> None:
        while len(self._sizes) > 1:
            oldest = min(self._sizes)
            too_big = sum(self._sizes.values()) > self.max_bytes
            too_old = now - self._first_time(oldest) > self.max_age
            if not (too_big or too_old) or oldest == self._writer_seq:
                return
            self._drop_segment(oldest, "size" if too_big else "age")

    def _drop_segment(self, seq: int, reason: str) -> None:
        start = max(self.ack, Position(seq, 0))
        unsent = list(self._scan_segment(seq, start.offset, headers_only=True)) \
            if start.segment == seq else []
        lost = sum(r.lines for r in unsent)
        self._remove_segment(seq)
        self.counters["dropped_samples"] += lost
        self.pending_samples -= lost
        self.pending_bytes -= sum(r.size for r in unsent)
        _LOGGER.error("%s %s cap reached: dropped segment %s with %s unsent %s",
                      self.label, reason, seq, lost, self.unit)
        nxt = Position(min(self._sizes), 0)
        if self.ack < nxt:
            self._write_ack(nxt)
        if self.cursor < nxt:
            self.cursor = nxt

    def _first_time(self, seq: int) -> float:
        if seq not in self._first_times:
            first = next(iter(self._scan_segment(seq, 0, headers_only=True)), None)
            self._first_times[seq] = first.appended_at if first else self._clock()
        return self._first_times[seq]

    # -- reading and acknowledging ----------------------------------------------------------------

    def read(self, max_bytes: int) -> list[Record]:
        """Return the next unsent records from the cursor, up to about ``max_bytes``."""
        with self._lock:
            chosen, size = [], 0
            for record in self._scan(self.cursor, headers_only=True):
                if chosen and size + record.size > max_bytes:
                    break
                chosen.append(record)
                size += record.size
            out = self._load_payloads(chosen)
            if out:
                self.cursor = out[-1].end
            return out

    def _load_payloads(self, records: list[Record]) -> list[Record]:
        # One read per segment for the whole run of records, then slice and verify.
        out: list[Record] = []
        for seq in sorted({r.start.segment for r in records}):
            run = [r for r in records if r.start.segment == seq]
            with open(self._path(seq), "rb") as handle:
                handle.seek(run[0].start.offset)
                blob = handle.read(run[-1].end.offset - run[0].start.offset)
            for record in run:
                begin = record.start.offset - run[0].start.offset + HEADER.size
                record.payload = blob[begin:begin + record.size]
                crc = HEADER.unpack_from(blob, begin - HEADER.size)[1]
                if zlib.crc32(record.payload) != crc:
                    # Damaged on disk, its frame intact (the records after it read well):
                    # only this record is lost; it is kept under rejected/ for inspection.
                    self._corrupt(record)
                    continue
                out.append(record)
        return out

    def _corrupt(self, record: Record) -> None:
        if record.start in self._corrupt_seen:
            return   # read again after a rewind: already set aside and counted
        self._corrupt_seen.add(record.start)
        try:
            self.set_aside(record, "corrupt on disk (checksum mismatch)")
        except SpoolError as exc:
            _LOGGER.error("%s", exc)
        self.counters["corrupt_records"] += 1
        self.pending_samples -= record.lines
        self.pending_bytes -= record.size
        _LOGGER.error("%s record at %s is corrupt on disk; skipped (%s %s lost)",
                      self.label, record.start, record.lines, self.unit)

    def rewind(self) -> None:
        """Send again from the last acknowledged position (after a failed send)."""
        with self._lock:
            self.cursor = self.ack

    def acknowledge(self, records: list[Record]) -> None:
        """Mark records as stored; fully acknowledged segments are deleted."""
        with self._lock:
            # Records of a segment dropped by a cap while in flight were counted as dropped.
            records = [r for r in records if r.start >= self.ack]
            if not records:
                return
            lines = sum(r.lines for r in records)
            self.counters["acked_samples"] += lines
            self.pending_samples -= lines
            self.pending_bytes -= sum(r.size for r in records)
            self.counters["replayed_samples"] += sum(r.lines for r in records
                                                     if r.start < self._replay_end)
            end = records[-1].end
            if end.offset >= self._sizes.get(end.segment, 0) and end.segment < self._writer_seq:
                end = Position(end.segment + 1, 0)
            self._write_ack(end)
            for seq in [s for s in self._sizes if s < end.segment]:
                self._remove_segment(seq)

    def set_aside(self, record: Record, reason: str) -> None:
        """Keep a refused batch under rejected/ with its reason (the caller acknowledges it).

        Raises SpoolError if it could not be kept (a full disk): then the batch
        must stay in the spool and be tried again.
        """
        name = f"{record.start.segment:012d}-{record.start.offset:012d}"
        try:
            (self.rejected / f"{name}.lp").write_bytes(record.payload)
            (self.rejected / f"{name}.json").write_text(json.dumps(
                {"reason": reason, "lines": record.lines, "appended_at": record.appended_at,
                 "rejected_at": self._clock()}, ensure_ascii=False))
        except OSError as exc:
            for suffix in (".lp", ".json"):
                (self.rejected / f"{name}{suffix}").unlink(missing_ok=True)
            raise SpoolError(exc.errno, f"cannot set aside a refused batch: {exc}") from exc
        self.counters["rejected_batches"] += 1
        self.counters["rejected_samples"] += record.lines
        _LOGGER.error("%s refused a batch of %s %s; set aside as %s: %s", self.peer,
                      record.lines, self.unit, name, reason)

    def _write_ack(self, position: Position) -> None:
        # The position is kept in memory even if the file cannot be written (a full
        # disk): delivery goes on, and after a restart the batches since the last
        # written ack are sent again, which both stores take as a rewrite.
        self.ack = position
        tmp = self.folder / "ack.tmp"
        try:
            tmp.write_text(json.dumps({"segment": position.segment, "offset": position.offset}))
            os.replace(tmp, self.folder / "ack")
        except OSError as exc:
            self.counters["ack_write_errors"] += 1
            _LOGGER.error("%s ack file could not be written (%s); kept in memory",
                          self.label, exc)
            tmp.unlink(missing_ok=True)

    def end_position(self) -> Position:
        """The position after the last appended record."""
        with self._lock:
            return Position(self._writer_seq, self._sizes[self._writer_seq])

    def oldest_unsent_age(self) -> float:
        """Seconds since the oldest unacknowledged record was appended (0 if none)."""
        with self._lock:
            first = next(iter(self._scan(self.ack, headers_only=True)), None)
            return max(self._clock() - first.appended_at, 0.0) if first else 0.0

    # -- scanning ---------------------------------------------------------------------------------

    def _scan(self, start: Position, *, headers_only: bool):
        for seq in sorted(s for s in self._sizes if s >= start.segment):
            offset = start.offset if seq == start.segment else 0
            yield from self._scan_segment(seq, offset, headers_only=headers_only)

    def _scan_segment(self, seq: int, offset: int, *, headers_only: bool,
                      verify: bool = True):
        limit = self._sizes.get(seq, 0)
        try:
            handle = open(self._path(seq), "rb")
        except FileNotFoundError:
            return
        with handle:
            handle.seek(offset)
            while offset + HEADER.size <= limit:
                length, crc, lines, at = HEADER.unpack(handle.read(HEADER.size))
                end = offset + HEADER.size + length
                if end > limit:
                    return
                if headers_only:
                    handle.seek(length, os.SEEK_CUR)
                    payload = b""
                else:
                    payload = handle.read(length)
                    if verify and zlib.crc32(payload) != crc:
                        return  # torn or corrupt: everything after it is unreadable
                yield Record(Position(seq, offset), Position(seq, end), payload, lines, at, crc)
                offset = end

    def _path(self, seq: int) -> Path:
        return self.segments / f"{seq:012d}.seg"

    def _remove_segment(self, seq: int) -> None:
        self._sizes.pop(seq, None)
        self._first_times.pop(seq, None)
        try:
            self._path(seq).unlink()
        except FileNotFoundError:
            pass

    def stats(self) -> dict[str, float]:
        """Figures for /metrics and the operator page."""
        with self._lock:
            figures = {f"spool_{k}_total": float(v) for k, v in self.counters.items()}
            figures.update({"spool_write_failing": float(self.write_failing),
                            "spool_depth_samples": float(self.pending_samples),
                            "spool_depth_bytes": float(self.pending_bytes),
                            "spool_bytes": float(sum(self._sizes.values())),
                            "spool_segments": float(len(self._sizes)),
                            "spool_oldest_age_seconds": self.oldest_unsent_age()})
        return figures

    def close(self) -> None:
        """Force the segment being written to disk and close it (a second call does nothing)."""
        with self._lock:
            if self._fd < 0:
                return
            try:
                os.fsync(self._fd)
            except OSError as exc:
                _LOGGER.error("Spool fsync at close failed: %s", exc)
            os.close(self._fd)
            self._fd = -1
