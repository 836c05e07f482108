"""The ``analysis:`` section of the configuration: reconciliation, idle, rightsizing, KPIs.

Parsed into :class:`ledger.policy.AnalysisPolicy`. A bad value raises
:class:`AnalysisConfigError` with the key's path below ``analysis`` and the reason;
``monitor.config`` adds the file name. Every key and default is in
``config/example.yaml``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any, Mapping

from ledger.policy import (DEFAULT_KEYS, DEFAULT_KPI_TARGETS, IDENTITY_KEYS, IDLE_PRESETS,
                           AnalysisPolicy, IdlePolicy, ReconcilePolicy, RightsizingPolicy)
from monitor.units import parse_duration

KNOWN = {"reconcile", "idle", "rightsizing", "min_coverage", "kpi_targets", "cpu_models",
         "flops", "daily_at", "reconcile_every"}
IDLE_FIELDS = {f.name for f in dataclasses.fields(IdlePolicy)} - {"name"}


class AnalysisConfigError(ValueError):
    """A bad ``analysis`` value: ``key`` is its path below ``analysis``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


@dataclasses.dataclass(frozen=True)
class AnalysisSchedule:
    """When the scheduler runs the analyses: reconciliation every ``reconcile_every``
    seconds, summaries of the day before and the daily analyses at ``daily_at`` (local)."""

    reconcile_every: float = 3600.0
    daily_at: dt.time = dt.time(0, 30)


def parse_analysis(data: Any, base: Path | None, timezone: str
                   ) -> tuple[AnalysisPolicy, AnalysisSchedule]:
    """Validate the ``analysis`` mapping (None: defaults)."""
    data = _mapping(data, "analysis")
    _known(data, KNOWN, "")
    policy = AnalysisPolicy(
        reconcile=_reconcile(_mapping(data.get("reconcile"), "reconcile")),
        idle=_idle(_mapping(data.get("idle"), "idle")),
        rightsizing=_rightsizing(_mapping(data.get("rightsizing"), "rightsizing")),
        min_coverage=_fraction(data, "min_coverage", 0.8),
        kpi_targets=_targets(_mapping(data.get("kpi_targets"), "kpi_targets")),
        cpu_models_file=_file(data, "cpu_models", base),
        flops_file=_file(data, "flops", base),
        timezone=timezone)
    schedule = AnalysisSchedule(reconcile_every=_duration(data, "reconcile_every", 3600.0, 60),
                                daily_at=_time(data.get("daily_at", "00:30")))
    return policy, schedule


def _mapping(value: Any, key: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnalysisConfigError(key, "expected a mapping of keys")
    return value


def _known(data: Mapping, allowed: set[str], prefix: str) -> None:
    for name in data:
        if name not in allowed:
            raise AnalysisConfigError(f"{prefix}{name}",
                                      f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _reconcile(data: Mapping) -> ReconcilePolicy:
    _known(data, {"keys", "missing_after", "suspect_after_polls", "placeholders",
                  "tolerance_percent"}, "reconcile.")
    keys = dict(DEFAULT_KEYS)
    for klass, listed in _mapping(data.get("keys"), "reconcile.keys").items():
        where = f"reconcile.keys.{klass}"
        if klass not in DEFAULT_KEYS:
            raise AnalysisConfigError(where, f"unknown asset class; use {', '.join(DEFAULT_KEYS)}")
        if not isinstance(listed, list) or not listed or any(k not in IDENTITY_KEYS
                                                             for k in listed):
            raise AnalysisConfigError(where, f"a non-empty list of {', '.join(IDENTITY_KEYS)}")
        keys[klass] = tuple(listed)
    placeholders = data.get("placeholders") or []
    if not isinstance(placeholders, list):
        raise AnalysisConfigError("reconcile.placeholders", "expected a list of values")
    polls = data.get("suspect_after_polls", 3)
    if not isinstance(polls, int) or isinstance(polls, bool) or polls < 1:
        raise AnalysisConfigError("reconcile.suspect_after_polls", "a whole number, at least 1")
    return ReconcilePolicy(
        keys=keys, missing_after=_duration(data, "missing_after", 7 * 86400.0, 3600,
                                           "reconcile."),
        suspect_after_polls=polls, placeholders=frozenset(str(p) for p in placeholders),
        tolerance_percent=_number(data, "tolerance_percent", 5.0, 0, 100, "reconcile."))


def _idle(data: Mapping) -> dict[str, IdlePolicy]:
    policies = {"default": IDLE_PRESETS["government"]}
    for kind, value in data.items():
        where = f"idle.{kind}"
        if isinstance(value, str):
            if value not in IDLE_PRESETS:
                raise AnalysisConfigError(where, f"unknown preset; use {', '.join(IDLE_PRESETS)}")
            policies[str(kind)] = IDLE_PRESETS[value]
            continue
        spec = dict(_mapping(value, where))
        preset = spec.pop("preset", None)
        if preset is not None and preset not in IDLE_PRESETS:
            raise AnalysisConfigError(f"{where}.preset",
                                      f"unknown preset; use {', '.join(IDLE_PRESETS)}")
        _known(spec, IDLE_FIELDS, f"{where}.")
        base = dataclasses.asdict(IDLE_PRESETS[preset]) if preset else {
            "window_days": 30, "days_required": 25, "min_days": 14}
        base.update({k: _idle_value(where, k, v) for k, v in spec.items()})
        base["name"] = f"{preset or 'custom'}:{kind}" if spec else (preset or "custom")
        policy = IdlePolicy(**base)
        if not policy.thresholds():
            raise AnalysisConfigError(where, "give at least one threshold (cpu_p95_max, …)")
        if not policy.days_required <= policy.window_days:
            raise AnalysisConfigError(f"{where}.days_required", "must be at most window_days")
        policies[str(kind)] = policy
    return policies


def _idle_value(where: str, key: str, value: Any) -> Any:
    if key in ("window_days", "days_required", "min_days"):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 366:
            raise AnalysisConfigError(f"{where}.{key}", "a whole number of days, 1-366")
        return value
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise AnalysisConfigError(f"{where}.{key}", "a number, at least 0")
    if not math.isfinite(value):
        raise AnalysisConfigError(f"{where}.{key}", "a finite number")
    return float(value)


def _rightsizing(data: Mapping) -> RightsizingPolicy:
    _known(data, {f.name for f in dataclasses.fields(RightsizingPolicy)}, "rightsizing.")
    defaults = RightsizingPolicy()
    return RightsizingPolicy(
        target_cpu_percent=_number(data, "target_cpu_percent", defaults.target_cpu_percent,
                                   1, 100, "rightsizing."),
        target_memory_percent=_number(data, "target_memory_percent",
                                      defaults.target_memory_percent, 1, 100, "rightsizing."),
        min_vcpus=int(_number(data, "min_vcpus", defaults.min_vcpus, 1, 1024, "rightsizing.")),
        min_memory_gib=_number(data, "min_memory_gib", defaults.min_memory_gib, 0.125, 65536,
                               "rightsizing."),
        window_days=int(_number(data, "window_days", defaults.window_days, 1, 366,
                                "rightsizing.")))


def _targets(data: Mapping) -> dict[str, float]:
    _known(data, set(DEFAULT_KPI_TARGETS), "kpi_targets.")
    targets = dict(DEFAULT_KPI_TARGETS)
    for key in data:
        targets[key] = _fraction(data, key, targets[key], "kpi_targets.")
    return targets


def _number(data: Mapping, key: str, default: float, low: float, high: float,
            prefix: str = "") -> float:
    value = data.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or \
            not low <= value <= high:
        raise AnalysisConfigError(f"{prefix}{key}", f"a number from {low:g} to {high:g}")
    return float(value)


def _fraction(data: Mapping, key: str, default: float, prefix: str = "") -> float:
    value = data.get(key, default)
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            pass
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise AnalysisConfigError(f"{prefix}{key}", "a fraction from 0 to 1, or a percentage "
                                                    "such as 95%")
    return float(value)


def _duration(data: Mapping, key: str, default: float, minimum: float,
              prefix: str = "") -> float:
    if data.get(key) is None:
        return default
    try:
        seconds = parse_duration(data[key])
    except ValueError as exc:
        raise AnalysisConfigError(f"{prefix}{key}", str(exc)) from None
    if seconds < minimum:
        raise AnalysisConfigError(f"{prefix}{key}", f"must be at least {minimum:g}s")
    return seconds


def _time(value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise AnalysisConfigError("daily_at", f"a time of day such as 00:30, got {value!r}"
                                  ) from None


def _file(data: Mapping, key: str, base: Path | None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    path = path if path.is_absolute() else (base or Path.cwd()) / path
    if not path.is_file():
        raise AnalysisConfigError(key, f"no such file: {path}")
    return str(path)
