"""What every target shares, owned by the framework and not by collectors.

:class:`RunningTarget` wraps one collector instance: it enforces the timeout,
never runs two polls of the same target at once, adds the target's tags to every
sample, measures duration, turns exceptions into a status, and logs once when
the target goes down and once when it recovers (Telegraf's ``RunningInput``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from typing import Callable

from collectors.base import Collector
from core.observation import (STATUS_ERROR, STATUS_OK, STATUS_PARTIAL, STATUS_TIMEOUT, TARGET_TAG,
                              Observation, Sample)
from collectors.secrets import redact
from monitor.config import TargetConfig

_LOGGER = logging.getLogger(__name__)


class RunningTarget:
    """One configured target and its collector, polled by the scheduler."""

    def __init__(self, target: TargetConfig, collector: Collector,
                 pool: concurrent.futures.Executor,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.target = target
        self.collector = collector
        self._pool = pool
        self._clock = clock
        self._inflight: concurrent.futures.Future | None = None
        self.available: bool | None = None

    @property
    def name(self) -> str:
        """The target's configured name."""
        return self.target.name

    def poll(self) -> Observation:
        """Poll once within the timeout; always return an Observation, never raise."""
        started = self._clock()
        if self._inflight is not None and not self._inflight.done():
            obs = Observation(status=STATUS_TIMEOUT,
                              error="previous poll is still running; this poll was skipped")
        else:
            self._inflight = None
            obs = self._run(started)
        obs.duration_seconds = self._clock() - started
        obs.samples = self._tagged(obs.samples)
        if obs.error:
            # Errors are stored, logged and shown on pages: no URL credentials in them.
            obs.error = redact(obs.error)
        self._log_transition(obs)
        return obs

    def _run(self, started: float) -> Observation:
        future = self._pool.submit(self.collector.collect)
        try:
            obs = future.result(timeout=self.target.timeout)
        except concurrent.futures.TimeoutError:
            # The collector thread cannot be killed; remember it so the next poll
            # is skipped instead of piling up threads on a hung target.
            self._inflight = future
            return Observation(status=STATUS_TIMEOUT,
                               error=f"no answer within {self.target.timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - a collector bug must not stop the scheduler
            _LOGGER.debug("Collector of %s raised", self.name, exc_info=True)
            return Observation(status=STATUS_ERROR, error=f"{type(exc).__name__}: {exc}")
        if not isinstance(obs, Observation):
            return Observation(status=STATUS_ERROR,
                               error=f"collector returned {type(obs).__name__}, not Observation")
        return obs

    def _tagged(self, samples: list[Sample]) -> list[Sample]:
        extra = self.target.tags
        return [Sample(s.measurement, {**extra, **s.tags, TARGET_TAG: self.name}, s.fields, s.time)
                for s in samples]

    def _log_transition(self, obs: Observation) -> None:
        up = obs.status in (STATUS_OK, STATUS_PARTIAL)
        if up and self.available is False:
            _LOGGER.info("Target %s (%s) recovered", self.name, self.target.kind)
        elif not up and self.available is not False:
            _LOGGER.warning("Target %s (%s) is down: %s", self.name, self.target.kind, obs.error)
        self.available = up

    def close(self) -> None:
        """Close the collector."""
        try:
            self.collector.close()
        except Exception:  # noqa: BLE001 - closing must not stop a shutdown
            _LOGGER.exception("Closing collector of %s failed", self.name)
