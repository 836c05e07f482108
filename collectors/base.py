"""The collector interface: one target in, one Observation out.

A collector turns one target (a host, a device, an API endpoint) into an
:class:`Observation`: time-series ``samples`` and inventory ``facts``. It never
writes to storage and never reads the ledger; the monitor owns scheduling,
timeouts, tags and availability (see ``monitor/poller.py``), and this base class
owns what every collector would otherwise repeat: options with their types, choices
and checks (URLs among them), validation once, secrets, and the inventory cadence.
A collector is then its wire client and its mapping.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import urllib.parse
from typing import Any, Callable, ClassVar, Mapping

# The shared data lives in the neutral core; these names stay importable from here for
# collectors (and for code written before the move).
from core.observation import (IDENTITY_KEYS, STATUS_ERROR, STATUS_OK, STATUS_PARTIAL,  # noqa: F401
                              STATUS_TIMEOUT, TARGET_TAG, Fact, Observation, Sample)


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    """One option a collector accepts in its target's ``options`` mapping.

    ``choices`` limits the value to a few words; ``check`` takes the typed value and
    returns it (possibly normalised) or raises ValueError with the reason, e.g.
    :func:`http_url` or :func:`at_least`.
    """

    name: str
    type: type
    default: Any = None
    required: bool = False
    help: str = ""
    secret: bool = False
    choices: tuple[str, ...] = ()
    check: Callable[[Any], Any] | None = None


HTTP_SCHEMES = ("http", "https")


def url_option(name: str, *, required: bool = False, default: str = "", help: str = "",
               schemes: tuple[str, ...] = HTTP_SCHEMES) -> Option:
    """A URL option: the scheme must be one of ``schemes`` and the URL names a host; a
    user or password in it is refused (credentials go in their own, secret, options)."""
    return Option(name, str, default, required, help, check=functools.partial(
        check_url, schemes=schemes))


def check_url(value: str, schemes: tuple[str, ...] = HTTP_SCHEMES) -> str:
    """``value`` if it is a URL of one of ``schemes`` with a host and no credentials.

    The reason never repeats the URL: it may hold a password."""
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ValueError(f"must be an {' or '.join(s + '://' for s in schemes)} URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not hold a user or password (user@ / user:password@); use "
                         "the collector's username and password options")
    if not parts.hostname:
        raise ValueError("names no host")
    return value


def at_least(minimum: float) -> Callable[[Any], Any]:
    """A check: the number is at least ``minimum``."""
    def check(value):
        if value < minimum:
            raise ValueError(f"must be at least {minimum:g}, got {value:g}")
        return value
    return check


class Options(dict):
    """Options resolved and validated for one collector kind (see :meth:`Collector.configure`).

    A collector built with them does not check them again."""

    __slots__ = ("kind",)

    def __init__(self, kind: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.kind = kind


class InventoryCadence:
    """When a collector reads its inventory again: on its first poll, then once
    ``interval`` seconds have passed since the start of the last poll that read it
    completely (0: every poll). Owned by the framework, not by each collector."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._checked: float | None = None

    def due(self) -> bool:
        """Whether this poll reads the inventory; remembers when it was asked."""
        self._checked = self._clock()
        return self._last is None or self._checked - self._last >= self.interval

    def done(self) -> None:
        """The inventory asked for by the last :meth:`due` was read completely."""
        self._last = self._checked if self._checked is not None else self._clock()

    def reset(self) -> None:
        """Read the inventory on the next poll (the target restarted)."""
        self._last = None


class Collector:
    """Base class of every collector.

    A subclass sets ``kind``, ``description`` and ``options``, may override
    :meth:`validate` (checks across options) and :meth:`setup` (its state), and implements
    :meth:`collect`. The framework resolves and validates the options once, before
    :meth:`setup`; a subclass that reads an inventory less often than it polls sets
    ``inventory_interval`` (the default in seconds) and gets the option of that name and
    ``self.inventory``, an :class:`InventoryCadence`.

    An instance lives as long as its target is scheduled, so it may keep state between
    polls (previous counters for rates, an open session).
    """

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()
    inventory_interval: ClassVar[float | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.inventory_interval is not None and \
                "inventory_interval" not in {o.name for o in cls.options}:
            cls.options = cls.options + (Option(
                "inventory_interval", float, float(cls.inventory_interval),
                help="seconds between inventory reads (0: every poll)", check=at_least(0)),)

    def __init__(self, name: str, options: Mapping[str, Any] | None = None,
                 timeout: float = 10.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.timeout = timeout
        if isinstance(options, Options) and options.kind == self.kind:
            self.config = options
        else:
            self.config = self.configure(options or {})
        self.inventory = InventoryCadence(self.config["inventory_interval"], clock) \
            if "inventory_interval" in self.config else None
        self.setup()

    @classmethod
    def configure(cls, given: Mapping[str, Any]) -> Options:
        """Resolve ``given`` options and validate them: the one place that checks them.

        Raises :class:`OptionError` naming the key; the configuration loader calls this, and
        a collector built from its result does not check again."""
        options = cls.resolve_options(given)
        cls.validate(options)
        return Options(cls.kind, options)

    @classmethod
    def resolve_options(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Apply defaults and check names, types, choices and per-option checks."""
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
            resolved[opt.name] = _checked(opt, _coerce(opt, given[opt.name]))
        return resolved

    @classmethod
    def validate(cls, options: Mapping[str, Any]) -> None:
        """Check resolved options against each other (raise OptionError(key, reason)).

        Called once, by :meth:`configure`, when the configuration is loaded, so a bad target
        stops the start with the file and key named; the default accepts everything."""

    @classmethod
    def secrets_used(cls, options: Mapping[str, Any]) -> frozenset[str]:
        """Names of the secret options ``options`` actually use (the default: every secret
        option); a collector whose mode leaves some unused (SNMP v2c and the v3 keys)
        narrows it, so ``check-config`` warns only about secrets that matter."""
        return frozenset(o.name for o in cls.options if o.secret)

    def setup(self) -> None:
        """Prepare the collector's state from ``self.config``; the default keeps none."""

    def secret(self, key: str) -> str:
        """The value the secret option ``key`` refers to (``env:``, ``file:`` or literal)."""
        from collectors.secrets import resolve_option
        return resolve_option(self.config, key)

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



def _checked(opt: Option, value: Any) -> Any:
    if opt.choices and value not in opt.choices:
        raise OptionError(opt.name, f"must be one of {', '.join(opt.choices)}, got {value!r}")
    if opt.check is None or (value == "" and not opt.required):
        return value
    try:
        return opt.check(value)
    except ValueError as exc:
        raise OptionError(opt.name, str(exc)) from None
