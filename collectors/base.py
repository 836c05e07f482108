"""The collector interface: one target in, one Observation out.

A collector turns one target (a host, a device, an API endpoint) into an
:class:`Observation`: time-series ``samples`` and inventory ``facts``. It never
writes to storage and never reads the ledger; the monitor owns scheduling,
timeouts, tags and availability (see ``monitor/poller.py``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

# The shared data lives in the neutral core; these names stay importable from here for
# collectors (and for code written before the move).
from core.observation import (IDENTITY_KEYS, STATUS_ERROR, STATUS_OK, STATUS_PARTIAL,  # noqa: F401
                              STATUS_TIMEOUT, TARGET_TAG, Fact, Observation, Sample)


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    """One option a collector accepts in its target's ``options`` mapping."""

    name: str
    type: type
    default: Any = None
    required: bool = False
    help: str = ""
    secret: bool = False


class Collector:
    """Base class of every collector.

    Subclasses set ``kind`` and ``options`` and implement :meth:`collect`.
    An instance lives as long as its target is scheduled, so it may keep state
    between polls (previous counters for rates, an open session).
    """

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, name: str, options: Mapping[str, Any] | None = None,
                 timeout: float = 10.0) -> None:
        self.name = name
        self.timeout = timeout
        self.config = self.resolve_options(options or {})

    @classmethod
    def resolve_options(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Apply defaults and check names and types; raise ValueError(key, reason)."""
        known = {opt.name: opt for opt in cls.options}
        for key in given:
            if key not in known:
                raise OptionError(key, f"unknown option for collector {cls.kind!r}; "
                                       f"known: {', '.join(sorted(known)) or 'none'}")
        resolved = {}
        for opt in cls.options:
            if opt.name not in given or given[opt.name] is None:
                if opt.required:
                    raise OptionError(opt.name, "is required")
                resolved[opt.name] = opt.default
                continue
            resolved[opt.name] = _coerce(opt, given[opt.name])
        return resolved

    @classmethod
    def validate(cls, options: Mapping[str, Any]) -> None:
        """Check resolved options beyond their types (raise OptionError(key, reason)).

        Called when the configuration is loaded, so a bad target stops the start with
        the file and key named; the default accepts everything."""

    def collect(self) -> Observation:
        """Poll the target once and return what was seen."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the collector holds open; called when its target is removed."""


class OptionError(ValueError):
    """A target option is unknown, missing or of the wrong type."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def _coerce(opt: Option, value: Any) -> Any:
    if opt.type is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if opt.type is list and isinstance(value, (list, tuple)):
        return list(value)
    if opt.type is dict and isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, opt.type) and not (opt.type is int and isinstance(value, bool)):
        return value
    raise OptionError(opt.name, f"expected {opt.type.__name__}, got {value!r}")

