"""One event loop per process for every SNMP target, run in a background thread.

The framework polls each target from a worker thread; the SNMP collector hands its
coroutine to this loop and waits, so thousands of targets share one loop and one
thread's worth of protocol work, with at most ``MAX_CONCURRENT_POLLS`` polls in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

MAX_CONCURRENT_POLLS = 256

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_gate: asyncio.Semaphore | None = None


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's SNMP event loop, started on first use (a daemon thread)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="snmp-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


async def _gated(coro):
    global _gate
    if _gate is None:
        _gate = asyncio.Semaphore(MAX_CONCURRENT_POLLS)
    async with _gate:
        return await coro


def run(coro, timeout: float):
    """Run ``coro`` on the shared loop and wait up to ``timeout`` seconds for it."""
    future = asyncio.run_coroutine_threadsafe(_gated(coro), shared_loop())
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"SNMP poll did not finish within {timeout:g}s") from None


def call_soon(callback, *args) -> None:
    """Schedule ``callback`` on the shared loop (thread-safe)."""
    loop = shared_loop()
    loop.call_soon_threadsafe(callback, *args)
