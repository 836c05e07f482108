"""Routing, receivers, inhibition and maintenance windows of the ``alerts`` section.

The shapes follow Alertmanager's configuration: a routing tree whose nodes inherit
``receiver``, ``group_by``, ``group_wait``, ``group_interval`` and ``repeat_interval`` from
their parent, ``continue`` to keep matching siblings, receivers with a list of integrations
each (``email``, ``webhook``, ``dingtalk``, ``wecom``, ``feishu``), and inhibition rules with
``source_matchers``, ``target_matchers`` and ``equal``. Secrets (passwords, robot URLs with
their tokens, signing secrets) may be ``env:NAME`` or ``file:PATH`` and are never printed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from alerts.const import INTEGRATIONS
from alerts.matchers import Matcher, MatcherError, parse_matchers
from monitor.config import ConfigError, _Reader

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Integration kind -> (required options, optional options, secret options).
OPTIONS = {
    "email": ({"to", "from", "smarthost"}, {"starttls", "tls", "username", "password",
                                            "ca_file", "timeout", "send_resolved"},
              {"password"}),
    "webhook": ({"url"}, {"bearer_token", "ca_file", "timeout", "send_resolved",
                          "max_alerts"}, {"url", "bearer_token"}),
    "dingtalk": ({"url"}, {"secret", "ca_file", "timeout", "send_resolved", "at_mobiles"},
                 {"url", "secret"}),
    "wecom": ({"url"}, {"ca_file", "timeout", "send_resolved"}, {"url"}),
    "feishu": ({"url"}, {"secret", "ca_file", "timeout", "send_resolved"}, {"url", "secret"}),
}


@dataclasses.dataclass(frozen=True)
class Route:
    """A node of the routing tree with its inherited values resolved."""

    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ()          # ("...",) groups by every label
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    continue_: bool = False
    routes: tuple["Route", ...] = ()
    path: str = "route"


@dataclasses.dataclass(frozen=True)
class Integration:
    """One way a receiver is told: its kind, position and options (secrets unresolved)."""

    receiver: str
    kind: str
    index: int
    options: dict[str, Any]

    @property
    def key(self) -> str:
        """Stable name, e.g. ``ops/dingtalk[0]``."""
        return f"{self.receiver}/{self.kind}[{self.index}]"

    @property
    def send_resolved(self) -> bool:
        """Whether resolved notifications go out through this integration."""
        return bool(self.options.get("send_resolved", True))


@dataclasses.dataclass(frozen=True)
class InhibitRule:
    """Alerts matching ``target`` are muted while one matching ``source`` fires with the
    same values of the ``equal`` labels."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Maintenance:
    """A maintenance window: alerts matching it are muted during it."""

    name: str
    matchers: tuple[Matcher, ...]
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    days: tuple[int, ...] = ()          # weekly: weekday numbers (0 = Monday)
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    timezone: str = "Asia/Shanghai"

    def active(self, now: dt.datetime) -> bool:
        """Whether the window is open at ``now`` (aware)."""
        if self.start is not None:
            return self.start <= now < self.end
        local = now.astimezone(ZoneInfo(self.timezone))
        if local.weekday() not in self.days:
            return False
        clock = local.time().replace(tzinfo=None)
        if self.start_time <= self.end_time:
            return self.start_time <= clock < self.end_time
        return clock >= self.start_time or clock < self.end_time   # over midnight


@dataclasses.dataclass(frozen=True)
class Routing:
    """Everything that decides who is told what."""

    route: Route | None = None
    receivers: dict[str, tuple[Integration, ...]] = dataclasses.field(default_factory=dict)
    inhibit: tuple[InhibitRule, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()


def parse_routing(top: _Reader, timezone: str = "Asia/Shanghai") -> Routing:
    """The routing part of the ``alerts`` section."""
    receivers = _receivers(top)
    route = None
    if top.data.get("route") is not None:
        route = _route(top.child("route"), None, set(receivers))
    return Routing(route=route, receivers=receivers,
                   inhibit=tuple(_inhibit(_Reader(top.file, item, top.key(f"inhibit_rules[{i}]")))
                                 for i, item in enumerate(top.get("inhibit_rules", list, []))),
                   maintenance=tuple(_maintenance(_Reader(top.file, item,
                                                          top.key(f"maintenance[{i}]")), timezone)
                                     for i, item in enumerate(top.get("maintenance", list, []))))


def _route(reader: _Reader, parent: Route | None, receivers: set[str]) -> Route:
    reader.check_known({"receiver", "matchers", "group_by", "group_wait", "group_interval",
                        "repeat_interval", "continue", "routes"})
    receiver = reader.get("receiver", str) or (parent.receiver if parent else None)
    if not receiver:
        raise ConfigError(reader.file, reader.key("receiver"), "the top route needs a receiver")
    if receiver not in receivers:
        raise ConfigError(reader.file, reader.key("receiver"),
                          f"no receiver named {receiver!r}; defined: "
                          f"{', '.join(sorted(receivers)) or 'none'}")
    if parent is None and reader.data.get("matchers"):
        raise ConfigError(reader.file, reader.key("matchers"),
                          "the top route matches every alert and takes no matchers")
    inherited = parent or Route(receiver)
    group_by = reader.get("group_by", list, list(inherited.group_by))
    if "..." in group_by and len(group_by) > 1:
        raise ConfigError(reader.file, reader.key("group_by"),
                          "'...' (every label) stands alone")
    node = Route(
        receiver=receiver, matchers=_matchers(reader, "matchers"),
        group_by=tuple(str(label) for label in group_by),
        group_wait=reader.duration("group_wait", inherited.group_wait),
        group_interval=_positive(reader, "group_interval", inherited.group_interval),
        repeat_interval=_positive(reader, "repeat_interval", inherited.repeat_interval),
        continue_=bool(reader.get("continue", bool, False)), path=reader.path)
    children = reader.get("routes", list, [])
    return dataclasses.replace(node, routes=tuple(
        _route(_Reader(reader.file, child, reader.key(f"routes[{i}]")), node, receivers)
        for i, child in enumerate(children)))


def _positive(reader: _Reader, name: str, default: float) -> float:
    value = reader.duration(name, default)
    if value < 1:
        raise ConfigError(reader.file, reader.key(name), "must be at least 1s")
    return value


def _matchers(reader: _Reader, name: str) -> tuple[Matcher, ...]:
    try:
        return parse_matchers(reader.data.get(name))
    except MatcherError as exc:
        raise ConfigError(reader.file, reader.key(name), str(exc)) from None


def _receivers(top: _Reader) -> dict[str, tuple[Integration, ...]]:
    out: dict[str, tuple[Integration, ...]] = {}
    for index, item in enumerate(top.get("receivers", list, [])):
        reader = _Reader(top.file, item, top.key(f"receivers[{index}]"))
        reader.check_known({"name", *INTEGRATIONS})
        name = reader.get("name", str)
        if not name:
            raise ConfigError(reader.file, reader.key("name"), "required")
        if name in out:
            raise ConfigError(reader.file, reader.key("name"), f"duplicate receiver {name!r}")
        integrations = []
        for kind in INTEGRATIONS:
            configs = reader.data.get(kind) or []
            if isinstance(configs, dict):
                configs = [configs]
            if not isinstance(configs, list):
                raise ConfigError(reader.file, reader.key(kind), "expected a list of settings")
            for i, options in enumerate(configs):
                integrations.append(Integration(name, kind, i, _options(
                    _Reader(reader.file, options, reader.key(f"{kind}[{i}]")), kind)))
        out[name] = tuple(integrations)
    return out


def _options(reader: _Reader, kind: str) -> dict[str, Any]:
    required, optional, _secret = OPTIONS[kind]
    reader.check_known(required | optional)
    for name in sorted(required):
        if not reader.data.get(name):
            raise ConfigError(reader.file, reader.key(name), "required")
    options = dict(reader.data)
    url = options.get("url")
    if isinstance(url, str) and not url.startswith(("env:", "file:", "http://", "https://")):
        raise ConfigError(reader.file, reader.key("url"),
                          "expected an http(s) URL, or env:NAME / file:PATH holding it")
    if kind == "email":
        to = options["to"]
        options["to"] = [to] if isinstance(to, str) else list(to)
        host, sep, port = str(options["smarthost"]).rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(reader.file, reader.key("smarthost"), "expected host:port")
    if "timeout" in options:
        options["timeout"] = reader.duration("timeout", 10.0)
    for flag in ("starttls", "tls", "send_resolved"):
        reader.get(flag, bool)
    return options


def _inhibit(reader: _Reader) -> InhibitRule:
    reader.check_known({"source_matchers", "target_matchers", "equal"})
    source, target = _matchers(reader, "source_matchers"), _matchers(reader, "target_matchers")
    if not source or not target:
        raise ConfigError(reader.file, reader.key("source_matchers" if not source
                                                  else "target_matchers"),
                          "required: at least one matcher")
    return InhibitRule(source, target, tuple(str(x) for x in reader.get("equal", list, [])))


def _maintenance(reader: _Reader, timezone: str) -> Maintenance:
    reader.check_known({"name", "matchers", "start", "end", "weekly"})
    name = reader.get("name", str) or reader.path
    matchers = _matchers(reader, "matchers")
    if reader.data.get("weekly") is not None:
        weekly = reader.child("weekly")
        weekly.check_known({"days", "from", "to"})
        days = weekly.get("days", list, [])
        if not days or any(str(d).lower()[:3] not in WEEKDAYS for d in days):
            raise ConfigError(reader.file, weekly.key("days"),
                              f"expected days among {', '.join(WEEKDAYS)}")
        return Maintenance(name, matchers, days=tuple(WEEKDAYS.index(str(d).lower()[:3])
                                                      for d in days),
                           start_time=_clock(weekly, "from"), end_time=_clock(weekly, "to"),
                           timezone=timezone)
    start, end = _instant(reader, "start", timezone), _instant(reader, "end", timezone)
    if end <= start:
        raise ConfigError(reader.file, reader.key("end"), "must be after start")
    return Maintenance(name, matchers, start=start, end=end, timezone=timezone)


def _clock(reader: _Reader, name: str) -> dt.time:
    text = str(reader.data.get(name, ""))
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ConfigError(reader.file, reader.key(name), f"expected HH:MM, got {text!r}") from None


def _instant(reader: _Reader, name: str, timezone: str) -> dt.datetime:
    value = reader.data.get(name)
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(reader.file, reader.key(name),
                          f"expected a date and time such as 2026-12-05T22:00, got {value!r}"
                          ) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(timezone))
