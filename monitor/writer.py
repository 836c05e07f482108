"""The store writer: samples into the spool, and a sender from the spool into the store.

:meth:`StoreWriter.submit` serializes a poll's samples to line protocol and
appends them to the durable spool in the polling thread, so once a poll has
returned its samples survive a crash. One sender thread reads spooled batches
(by size, or by age once the oldest waits ``flush_seconds``), writes them to
the store and acknowledges them. A failed write is retried with exponential
backoff and jitter, from the last acknowledged position; a batch the store
refuses (4xx) is set aside with its reason and the queue moves on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Sequence

from core.observation import Sample
from monitor.lineprotocol import Serializer
from monitor.spool import Record, Spool, SpoolError
from monitor.store.base import RejectedBatch, TimeSeriesStore

_LOGGER = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 10.0


class StoreWriter:
    """Spools samples and delivers them to the store in batches."""

    def __init__(self, store: TimeSeriesStore, spool: Spool, *, batch_bytes: int = 1 << 20,
                 flush_seconds: float = 1.0) -> None:
        self.store = store
        self.spool = spool
        self.batch_bytes = batch_bytes
        self.flush_seconds = flush_seconds
        self._serializer = Serializer()
        self._serialize_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._failing = False
        self.dropped_samples = 0
        self.written_points = 0
        self.write_errors = 0
        self.write_seconds_sum = 0.0
        self.write_count = 0
        self.last_write_seconds = 0.0

    def start(self) -> None:
        """Start the sender thread."""
        self._thread = threading.Thread(target=self._loop, name="store-sender", daemon=True)
        self._thread.start()

    def submit(self, samples: Sequence[Sample]) -> int:
        """Spool samples durably; return how many were kept (0 if the spool failed)."""
        if not samples:
            return 0
        with self._serialize_lock:
            data, lines = self._serializer.serialize_counted(samples)
        if not lines:
            return 0
        try:
            self.spool.append(data, lines)
        except SpoolError as exc:
            self.dropped_samples += lines
            _LOGGER.error("Could not keep %s %s: %s", lines, self.spool.unit, exc)
            return 0
        if self.spool.pending_bytes >= self.batch_bytes:
            self._wake.set()
        return lines

    @property
    def depth(self) -> int:
        """Samples spooled and not yet acknowledged by the store."""
        return self.spool.pending_samples

    def _loop(self) -> None:
        backoff = 0.5
        while not self._stopping:
            self._wait_for_batch()
            try:
                records = self.spool.read(self.batch_bytes)
                if not records or self._deliver(records):
                    backoff = 0.5
                    continue
            except Exception:  # noqa: BLE001 - the sender must outlive any one failure
                _LOGGER.exception("%s sender failed; retrying from the last acknowledged batch",
                                  self.spool.peer)
            self.spool.rewind()
            # Full jitter keeps many writers from retrying in step against one server.
            self._wake.wait(random.uniform(0, backoff))
            self._wake.clear()
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _wait_for_batch(self) -> None:
        # A full batch goes at once; a partial one waits at most flush_seconds.
        deadline = time.monotonic() + self.flush_seconds
        while not self._stopping and self.spool.pending_bytes < self.batch_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)
            self._wake.clear()

    def _deliver(self, records: list[Record]) -> bool:
        try:
            self._write(b"".join(r.payload for r in records))
        except RejectedBatch as exc:
            if len(records) == 1:
                try:
                    self.spool.set_aside(records[0], str(exc))
                except SpoolError as error:  # a full disk: keep the batch and try later
                    _LOGGER.error("%s; the batch stays in the spool", error)
                    return False
                self.spool.acknowledge(records)
                return True
            # Find the refused record(s): send one by one so good batches still land.
            for record in records:
                if not self._deliver([record]):
                    return False
            return True
        except Exception as exc:  # noqa: BLE001 - any other failure is retried
            self.write_errors += 1
            if not self._failing:
                _LOGGER.warning("%s write failed, retrying with backoff: %s", self.spool.peer,
                                exc)
            self._failing = True
            return False
        if self._failing:
            _LOGGER.info("%s writes recovered; %s %s still waiting", self.spool.peer,
                         self.spool.pending_samples, self.spool.unit)
        self._failing = False
        self.spool.acknowledge(records)
        return True

    def _write(self, data: bytes) -> None:
        started = time.perf_counter()
        self.written_points += self.store.write_lines(data)
        elapsed = time.perf_counter() - started
        self.write_seconds_sum += elapsed
        self.write_count += 1
        self.last_write_seconds = elapsed

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every spooled sample is acknowledged; False if not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.spool.pending_samples and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)
        return not self.spool.pending_samples

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is spooled (within ``timeout``), stop the sender and close the spool.

        What is not sent stays in the spool for the next start.
        """
        self.flush(timeout)
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.spool.close()

    def stats(self) -> dict[str, float]:
        """Figures for /metrics."""
        figures = self.spool.stats()
        figures.update({
            "store_queue_depth": float(self.depth),
            "store_written_points_total": float(self.written_points),
            "store_write_errors_total": float(self.write_errors),
            "store_dropped_samples_total": float(self.dropped_samples
                                                 + self.spool.counters["dropped_samples"]),
            "store_write_seconds_sum": self.write_seconds_sum,
            "store_write_seconds_count": float(self.write_count),
            "store_last_write_seconds": self.last_write_seconds,
        })
        return figures
