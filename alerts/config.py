"""The ``alerts`` section of the configuration: rules, evaluation and delivery settings.

``parse_alerts(settings)`` validates the section (and every file named in ``rule_files``)
and raises :class:`monitor.config.ConfigError` naming the file, the key path and the
reason; ``check-config`` and every command that starts the scheduler call it, so nothing
runs from rules that did not validate. Routing, receivers, inhibition and maintenance
windows are read by :mod:`alerts.config_routing`. Reference: ``config/alerts.example.yaml``.
"""

from __future__ import annotations

import dataclasses
import glob
import re
import string
from pathlib import Path
from typing import Any

import yaml

from alerts.config_routing import Routing, parse_routing
from alerts.const import AGGREGATES, FINDING_KIND_KEYS, HEALTH_METRICS, KINDS, OPERATORS, \
    SEVERITIES, TARGET_STATES
from alerts.expr import Expression, ExpressionError
from monitor.config import ConfigError, Settings, _Reader

RULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.-]{0,127}$")
KIND_KEYS = {
    "target_state": {"state"},
    "threshold": {"measurement", "field", "expr", "agg", "window", "op", "value"},
    "absence": {"measurement", "field", "window"},
    "ledger_event": {"findings"},
    "health": {"metric", "op", "value"},
}
COMMON_KEYS = {"name", "kind", "severity", "labels", "summary", "for", "scope"}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One alert rule; the keys a kind does not use keep their defaults."""

    name: str
    kind: str
    severity: str = "warning"
    labels: tuple[tuple[str, str], ...] = ()
    summary: tuple[str, str] = ("", "")          # (zh, en) templates
    for_seconds: float = 0.0
    tags: tuple[tuple[str, str], ...] = ()       # scope: series/target tags
    department: str | None = None                # scope: department code
    data_center: str | None = None               # scope: data-center code
    measurement: str | None = None
    expression: Expression | None = None         # threshold: a field or an expression
    agg: str = "mean"
    window: float = 300.0
    op: str = ">"
    value: float = 0.0
    state: str = "down"                          # target_state: down | partial
    findings: tuple[str, ...] = ()               # ledger_event: finding kinds
    metric: str | None = None                    # health: runtime figure

    @property
    def scope_tags(self) -> dict[str, str]:
        """Tags a series or target must carry, including department and data center."""
        tags = dict(self.tags)
        if self.department:
            tags["department"] = self.department
        if self.data_center:
            tags["datacenter"] = self.data_center
        return tags


@dataclasses.dataclass(frozen=True)
class Delivery:
    """Retry and rate settings of notification delivery."""

    max_attempts: int = 8
    backoff: float = 10.0
    max_backoff: float = 600.0
    max_per_minute: int = 20
    max_alerts: int = 20          # alerts listed in one message; the rest are counted


@dataclasses.dataclass(frozen=True)
class AlertSettings:
    """The validated ``alerts`` section."""

    rules: tuple[Rule, ...] = ()
    evaluation_interval: float = 30.0
    dispatch_interval: float = 5.0
    external_url: str = "http://127.0.0.1:8080"
    language: str = "zh"
    routing: Routing = dataclasses.field(default_factory=Routing)
    delivery: Delivery = dataclasses.field(default_factory=Delivery)
    forward_url: str | None = None       # Alertmanager to forward to instead of routing

    @property
    def enabled(self) -> bool:
        """Whether there is anything to evaluate."""
        return bool(self.rules)


def parse_alerts(settings: Settings) -> AlertSettings:
    """Validate ``settings.alerts``; raises ConfigError (file, key, reason)."""
    file = settings.source
    top = _Reader(file, settings.alerts, "alerts")
    top.check_known({"evaluation_interval", "dispatch_interval", "external_url", "language",
                     "rules", "rule_files", "route", "receivers", "inhibit_rules",
                     "maintenance", "delivery", "forward"})
    rules = _rules(file, top.data.get("rules"), "alerts.rules")
    for path in _rule_files(top, settings.config_dir):
        rules += _rules_file(path)
    names: dict[str, str] = {}
    for rule, where in rules:
        if rule.name in names:
            raise ConfigError(where[0], where[1] + ".name",
                              f"duplicate rule name {rule.name!r} (first in {names[rule.name]})")
        names[rule.name] = f"{where[0]}: {where[1]}"
    interval = _duration(top, "evaluation_interval", 30.0, 5.0)
    forward = top.child("forward")
    forward.check_known({"url"})
    return AlertSettings(
        rules=tuple(rule for rule, _ in rules),
        evaluation_interval=interval,
        dispatch_interval=min(_duration(top, "dispatch_interval", 5.0, 1.0), interval),
        external_url=(top.get("external_url", str) or
                      f"http://{settings.web_host}:{settings.web_port}").rstrip("/"),
        language=_choice(top, "language", ("zh", "en"), settings.language),
        routing=parse_routing(top, settings.timezone),
        delivery=_delivery(top.child("delivery")),
        forward_url=(forward.get("url", str) or None))


def _rule_files(top: _Reader, base: Path | None) -> list[Path]:
    patterns = top.get("rule_files", list, [])
    out = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise ConfigError(top.file, top.key(f"rule_files[{index}]"), "expected a path")
        path = Path(pattern).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        found = sorted(glob.glob(str(path)))
        if not found and not glob.has_magic(str(path)):
            raise ConfigError(top.file, top.key(f"rule_files[{index}]"),
                              f"no such file: {path}")
        out += [Path(p) for p in found]
    return out


def _rules_file(path: Path) -> list[tuple[Rule, tuple[str, str]]]:
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "(file)", f"cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "(syntax)", str(exc).replace("\n", " ")) from None
    reader = _Reader(file, data, "")
    reader.check_known({"rules"})
    return _rules(file, reader.data.get("rules"), "rules")


def _rules(file: str, data: Any, key: str) -> list[tuple[Rule, tuple[str, str]]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(file, key, "expected a list of rules")
    return [(_rule(_Reader(file, item, f"{key}[{i}]")), (file, f"{key}[{i}]"))
            for i, item in enumerate(data)]


def _rule(reader: _Reader) -> Rule:
    kind = reader.get("kind", str)
    if kind not in KINDS:
        raise ConfigError(reader.file, reader.key("kind"),
                          f"required; one of {', '.join(KINDS)}, got {kind!r}")
    reader.check_known(COMMON_KEYS | KIND_KEYS[kind])
    name = reader.get("name", str)
    if not name or not RULE_NAME.match(name):
        raise ConfigError(reader.file, reader.key("name"),
                          "required; letters, digits, _ : . - (starting with a letter or _)")
    scope = reader.child("scope")
    scope.check_known({"tags", "department", "data_center"})
    fields: dict[str, Any] = {
        "name": name, "kind": kind,
        "severity": _choice(reader, "severity", SEVERITIES, "warning"),
        "labels": _string_map(reader, "labels"),
        "summary": _summary(reader, kind),
        "for_seconds": _duration(reader, "for", 0.0, 0.0),
        "tags": _string_map(scope, "tags"),
        "department": scope.get("department", str),
        "data_center": scope.get("data_center", str),
    }
    fields.update(_KIND_PARSERS[kind](reader))
    return Rule(**fields)


def _target_state(reader: _Reader) -> dict:
    return {"state": _choice(reader, "state", TARGET_STATES, "down")}


def _threshold(reader: _Reader) -> dict:
    measurement = _required(reader, "measurement")
    field, expr = reader.get("field", str), reader.get("expr", str)
    if bool(field) == bool(expr):
        raise ConfigError(reader.file, reader.key("field"),
                          "give exactly one of field (a stored field) or expr (an expression "
                          "over the measurement's fields)")
    try:
        expression = Expression(expr or field)
    except ExpressionError as exc:
        raise ConfigError(reader.file, reader.key("expr"), str(exc)) from None
    return {"measurement": measurement, "expression": expression,
            "agg": _choice(reader, "agg", AGGREGATES, "mean"),
            "window": _duration(reader, "window", 300.0, 1.0), **_comparison(reader)}


def _absence(reader: _Reader) -> dict:
    measurement = _required(reader, "measurement")
    field = reader.get("field", str)
    return {"measurement": measurement, "expression": Expression(field) if field else None,
            "window": _duration(reader, "window", 300.0, 1.0)}


def _ledger_event(reader: _Reader) -> dict:
    kinds = reader.get("findings", list, ["undeclared", "missing", "conflict"])
    for index, kind in enumerate(kinds):
        if kind not in FINDING_KIND_KEYS:
            raise ConfigError(reader.file, reader.key(f"findings[{index}]"),
                              f"unknown finding kind {kind!r}; one of "
                              f"{', '.join(FINDING_KIND_KEYS)}")
    if not kinds:
        raise ConfigError(reader.file, reader.key("findings"), "name at least one kind")
    return {"findings": tuple(kinds)}


def _health(reader: _Reader) -> dict:
    return {"metric": _choice(reader, "metric", HEALTH_METRICS, None), **_comparison(reader)}


_KIND_PARSERS = {"target_state": _target_state, "threshold": _threshold, "absence": _absence,
                 "ledger_event": _ledger_event, "health": _health}


def _comparison(reader: _Reader) -> dict:
    value = reader.get("value", (int, float))
    if value is None:
        raise ConfigError(reader.file, reader.key("value"), "required: the threshold (a number)")
    return {"op": _choice(reader, "op", tuple(OPERATORS), ">"), "value": float(value)}


def _summary(reader: _Reader, kind: str) -> tuple[str, str]:
    raw = reader.data.get("summary")
    if raw is None:
        return ("", "")
    if isinstance(raw, str):
        raw = {"zh": raw, "en": raw}
    summary = _Reader(reader.file, raw, reader.key("summary"))
    summary.check_known({"zh", "en"})
    out = []
    for lang in ("zh", "en"):
        text = summary.get(lang, str) or raw.get("zh") or raw.get("en") or ""
        try:
            list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(reader.file, summary.key(lang),
                              f"bad template: {exc} (write labels as {{name}}, a literal "
                              "brace as {{ or }})") from None
        out.append(text)
    return (out[0], out[1])


def _required(reader: _Reader, name: str) -> str:
    value = reader.get(name, str)
    if not value:
        raise ConfigError(reader.file, reader.key(name), "required")
    return value


def _string_map(reader: _Reader, name: str) -> tuple[tuple[str, str], ...]:
    data = reader.get(name, dict, {})
    for key, value in data.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(reader.file, reader.key(f"{name}.{key}"),
                              f"expected a string, got {value!r}")
    return tuple(sorted((str(k), str(v)) for k, v in data.items()))


def _choice(reader: _Reader, name: str, allowed, default):
    value = reader.get(name, str, default)
    if value not in allowed:
        raise ConfigError(reader.file, reader.key(name),
                          f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _duration(reader: _Reader, name: str, default: float, minimum: float) -> float:
    value = reader.duration(name, default)
    if value < minimum:
        raise ConfigError(reader.file, reader.key(name), f"must be at least {minimum:g}s")
    return value


def _delivery(reader: _Reader) -> Delivery:
    reader.check_known({"max_attempts", "backoff", "max_backoff", "max_per_minute",
                        "max_alerts"})
    out = Delivery(max_attempts=reader.get("max_attempts", int, 8),
                   backoff=_duration(reader, "backoff", 10.0, 0.1),
                   max_backoff=_duration(reader, "max_backoff", 600.0, 0.1),
                   max_per_minute=reader.get("max_per_minute", int, 20),
                   max_alerts=reader.get("max_alerts", int, 20))
    for name in ("max_attempts", "max_per_minute", "max_alerts"):
        if getattr(out, name) < 1:
            raise ConfigError(reader.file, reader.key(name), "must be at least 1")
    return out
