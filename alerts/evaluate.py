"""Rule evaluation: which conditions hold now, one :class:`Active` per alert instance.

Each rule kind reads one source: ``threshold`` and ``absence`` the time-series store
(embedded or InfluxDB, through the same protocol), ``target_state`` and ``health`` the
poll state and runtime figures the scheduler keeps in the ledger, ``ledger_event`` the
findings table. One :class:`Cycle` serves every rule of an evaluation: a store read is
made once per (measurement, field, window) and indexed by tag, so ten thousand rules over
the same measurement cost one query and a dictionary look-up each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Callable

from sqlalchemy import select

from alerts.config import Rule
from alerts.const import OPERATORS
from ledger.estate import CodeBook
from ledger.models import Finding, RuntimeStat, TargetState
from monitor.config import Settings
from monitor.store.base import TimeSeriesStore

UTC = dt.timezone.utc
TagKey = tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Active:
    """One condition that holds now: the alert's labels (without rule labels) and value."""

    labels: dict[str, str]
    value: float | None = None
    department_id: int | None = None


class Cycle:
    """What one evaluation reads, fetched once and shared by every rule."""

    def __init__(self, settings: Settings, engine, store: TimeSeriesStore,
                 now: dt.datetime) -> None:
        self.settings, self.engine, self.store, self.now = settings, engine, store, now
        self._series: dict[tuple, dict[TagKey, list]] = {}
        self._index: dict[tuple, dict[tuple[str, str], list[TagKey]]] = {}
        self._known: dict[tuple[str, str], list[TagKey]] = {}
        self._departments: CodeBook | None = None
        self._targets = {t.name: t for t in settings.targets}

    def points(self, measurement: str, field: str, window: float) -> dict[TagKey, list]:
        """Raw points of every series of ``measurement.field`` over the last ``window``."""
        key = (measurement, field, window)
        if key not in self._series:
            end = self.now.timestamp()
            series = self.store.query(measurement, field, end - window, end + 0.001)
            self._series[key] = {s.key.tags: s.points for s in series if s.points}
        return self._series[key]

    def candidates(self, key: tuple, keys, tags: dict[str, str]) -> list[TagKey]:
        """Series keys carrying every tag of ``tags``, through a per-tag index."""
        if not tags:
            return list(keys)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = {}
            for tag_key in keys:
                for pair in tag_key:
                    index.setdefault(pair, []).append(tag_key)
        pairs = list(tags.items())
        first = min(pairs, key=lambda p: len(index.get(p, ())))
        rest = [p for p in pairs if p != first]
        return [k for k in index.get(first, ()) if all(p in k for p in rest)]

    def known_series(self, measurement: str, field: str | None) -> list[TagKey]:
        """Every stored series of the measurement (and field), ever written."""
        key = (measurement, field or "")
        if key not in self._known:
            keys = self.store.series(measurement)
            self._known[key] = sorted({k.tags for k in keys if field is None or k.field == field})
        return self._known[key]

    def department_id(self, code: str | None) -> int | None:
        """The census department a code (or unique name) names."""
        if not code:
            return None
        if self._departments is None:
            with self.engine.connect() as conn:
                self._departments = CodeBook.load(conn, "department")
        return self._departments.resolve(code)

    def target_tags(self, name: str) -> dict[str, str]:
        """The configured tags of a target."""
        target = self._targets.get(name)
        return dict(target.tags) if target else {}


def aggregate(points: list[tuple[float, float]], agg: str) -> float | None:
    """One value from raw points (oldest first)."""
    if not points:
        return None
    values = [v for _, v in points]
    if agg == "mean":
        return math.fsum(values) / len(values)
    if agg in ("max", "min"):
        return max(values) if agg == "max" else min(values)
    if agg == "last":
        return values[-1]
    if agg == "sum":
        return math.fsum(values)
    if agg == "count":
        return float(len(values))
    # Counters: a drop is a reset, after which the new value is the increase.
    increase = math.fsum(b - a if b >= a else b for a, b in zip(values, values[1:]))
    if agg == "increase":
        return increase
    span = points[-1][0] - points[0][0]
    return increase / span if span > 0 else None


def _threshold(rule: Rule, cycle: Cycle) -> list[Active]:
    fields = rule.expression.fields
    per_field = {f: cycle.points(rule.measurement, f, rule.window) for f in fields}
    first = fields[0]
    key = (rule.measurement, first, rule.window)
    out = []
    for tags in cycle.candidates(key, per_field[first].keys(), rule.scope_tags):
        values = {f: aggregate(per_field[f].get(tags, ()), rule.agg) for f in fields}
        value = rule.expression.evaluate(values)
        if value is not None and OPERATORS[rule.op](value, rule.value):
            out.append(_series_active(cycle, rule, tags, value))
    return out


def _series_active(cycle: Cycle, rule: Rule, tags: TagKey, value: float | None) -> Active:
    labels = dict(tags)
    labels.setdefault("measurement", rule.measurement)
    return Active(labels, value, cycle.department_id(labels.get("department")))


def _absence(rule: Rule, cycle: Cycle) -> list[Active]:
    field = rule.expression.fields[0] if rule.expression else None
    scope = rule.scope_tags
    known = cycle.known_series(rule.measurement, field)
    fresh: set[TagKey] = set()
    for name in ([field] if field else sorted({f for f in _fields(cycle, rule.measurement)})):
        fresh |= set(cycle.points(rule.measurement, name, rule.window))
    key = (rule.measurement, field or "", "known")
    wanted = cycle.candidates(key, known, scope)
    out = [_series_active(cycle, rule, tags, None) for tags in wanted if tags not in fresh]
    if not wanted and scope:   # nothing matching was ever stored
        out.append(Active({**scope, "measurement": rule.measurement}, None,
                          cycle.department_id(scope.get("department"))))
    return out


def _fields(cycle: Cycle, measurement: str) -> set[str]:
    return {k.field for k in cycle.store.series(measurement)}


def _target_state(rule: Rule, cycle: Cycle) -> list[Active]:
    with cycle.engine.connect() as conn:
        rows = conn.execute(select(TargetState.name, TargetState.kind, TargetState.status,
                                   TargetState.up, TargetState.last_error)).all()
    scope = rule.scope_tags
    out = []
    for name, kind, status, up, _error in rows:
        hit = up is False if rule.state == "down" else status == "partial"
        tags = cycle.target_tags(name)
        if not hit or any(tags.get(k) != v and not (k == "target" and v == name)
                          for k, v in scope.items()):
            continue
        labels = {**tags, "target": name, "target_kind": kind, "status": status or ""}
        out.append(Active(labels, 1.0, cycle.department_id(tags.get("department"))))
    return out


def _ledger_event(rule: Rule, cycle: Cycle) -> list[Active]:
    table = Finding.__table__
    query = select(table.c.id, table.c.kind, table.c.department_id, table.c.declared_code,
                   table.c.observed_source, table.c.field).where(
        table.c.kind.in_(rule.findings), table.c.active.is_(True),
        table.c.state != "resolved")
    with cycle.engine.connect() as conn:
        rows = conn.execute(query).all()
        codes = CodeBook.load(conn, "department").codes
    wanted = cycle.department_id(rule.department) if rule.department else None
    out = []
    for id_, kind, department_id, declared, source, field in rows:
        if rule.department and department_id != wanted:
            continue
        labels = {"finding_kind": kind, "finding_id": str(id_),
                  "department": codes.get(department_id, ""), "declared": declared or "",
                  "observed_source": source or "", "field": field or ""}
        out.append(Active({k: v for k, v in labels.items() if v}, None, department_id))
    return out


def _health(rule: Rule, cycle: Cycle) -> list[Active]:
    with cycle.engine.connect() as conn:
        stats = dict(conn.execute(select(RuntimeStat.name, RuntimeStat.value)).all())
    if rule.metric == "scheduler_heartbeat_age_seconds":
        beat = stats.get("scheduler_heartbeat_timestamp_seconds")
        value = None if beat is None else cycle.now.timestamp() - beat
    else:
        value = stats.get(rule.metric)
    if value is None or not OPERATORS[rule.op](value, rule.value):
        return []
    return [Active({"metric": rule.metric}, value)]


EVALUATORS: dict[str, Callable[[Rule, Cycle], list[Active]]] = {
    "threshold": _threshold, "absence": _absence, "target_state": _target_state,
    "ledger_event": _ledger_event, "health": _health}


def evaluate(rule: Rule, cycle: Cycle) -> list[Active]:
    """The conditions of ``rule`` that hold now (raises when its source cannot be read)."""
    return EVALUATORS[rule.kind](rule, cycle)
