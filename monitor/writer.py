"""The store writer: one thread that batches samples into the time-series store.

Polls hand their samples to :meth:`StoreWriter.submit` and return at once; a
slow store never delays a poll. A failed write is retried with backoff and the
batch is kept; only when the in-memory queue is full are new samples dropped,
and every drop is counted and logged.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Sequence

from collectors.base import Sample
from monitor.store.base import TimeSeriesStore

_LOGGER = logging.getLogger(__name__)


class StoreWriter:
    """Batches samples from many polls into few store writes."""

    def __init__(self, store: TimeSeriesStore, *, max_queue: int = 1_000_000,
                 batch_size: int = 5_000, flush_seconds: float = 1.0) -> None:
        self.store = store
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self._queue: collections.deque[Sample] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._dropping = False
        self._flushing = False
        self.written_points = 0
        self.written_samples = 0
        self.write_errors = 0
        self.dropped_samples = 0
        self.write_seconds_sum = 0.0
        self.write_count = 0
        self.last_write_seconds = 0.0

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    def submit(self, samples: Sequence[Sample]) -> int:
        """Queue samples for writing; return how many were accepted."""
        with self._cond:
            room = self.max_queue - len(self._queue)
            accepted = samples[:max(room, 0)]
            self._queue.extend(accepted)
            lost = len(samples) - len(accepted)
            if lost:
                self.dropped_samples += lost
                if not self._dropping:
                    _LOGGER.error("Store writer queue is full (%s samples); dropping new samples",
                                  self.max_queue)
                self._dropping = True
            if len(self._queue) >= self.batch_size:
                self._cond.notify()
        return len(accepted)

    @property
    def depth(self) -> int:
        """Samples waiting to be written."""
        return len(self._queue)

    def _loop(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                # Wait for a full batch, but no longer than flush_seconds for a partial one.
                deadline = time.monotonic() + self.flush_seconds
                while (len(self._queue) < self.batch_size and not self._stopping
                       and not self._flushing and time.monotonic() < deadline):
                    self._cond.wait(max(deadline - time.monotonic(), 0.001))
                if self._stopping and not self._queue:
                    return
                batch = [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]
            if not batch:
                continue
            if self._write(batch):
                with self._cond:
                    for _ in batch:
                        self._queue.popleft()
                    self._dropping = False
                backoff = 0.5
            else:
                if self._stopping:
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    def _write(self, batch: list[Sample]) -> bool:
        started = time.perf_counter()
        try:
            points = self.store.write(batch)
        except Exception as exc:  # noqa: BLE001 - any store failure is retried, never fatal
            self.write_errors += 1
            _LOGGER.warning("Store write of %s samples failed, will retry: %s", len(batch), exc)
            return False
        elapsed = time.perf_counter() - started
        self.written_points += points
        self.written_samples += len(batch)
        self.write_seconds_sum += elapsed
        self.write_count += 1
        self.last_write_seconds = elapsed
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty; return False if it did not empty in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing = True
            self._cond.notify()
        try:
            while self._queue and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            self._flushing = False
        return not self._queue

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (within ``timeout``) and stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._queue:
            _LOGGER.error("Store writer stopped with %s samples unwritten", len(self._queue))

    def stats(self) -> dict[str, float]:
        """Figures for /metrics."""
        return {
            "store_queue_depth": self.depth,
            "store_written_points_total": self.written_points,
            "store_written_samples_total": self.written_samples,
            "store_write_errors_total": self.write_errors,
            "store_dropped_samples_total": self.dropped_samples,
            "store_write_seconds_sum": self.write_seconds_sum,
            "store_write_seconds_count": self.write_count,
            "store_last_write_seconds": self.last_write_seconds,
        }
