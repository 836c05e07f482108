"""Alertmanager's decisions, as pure functions: which routes an alert takes, what mutes it.

- :func:`routes_for`: depth-first through the routing tree; a node matches when its
  matchers hold, its matching children take the alert (the first only, unless a child has
  ``continue``), and a node none of whose children match takes it itself.
- :func:`group_labels`: the labels of an alert's group (``...`` groups by every label).
- :func:`mutes`: why each firing alert is muted — a maintenance window, a silence, or an
  inhibition rule whose source fires with the same ``equal`` labels. An alert that matches
  both sides of an inhibition rule is not inhibited by it (no self-inhibition).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

from alerts.config_routing import InhibitRule, Maintenance, Route
from alerts.matchers import Matcher, match_all

Labels = Mapping[str, str]


def routes_for(route: Route, labels: Labels) -> list[Route]:
    """The routes that take an alert with ``labels`` (empty when the node does not match)."""
    if not match_all(route.matchers, labels):
        return []
    taken: list[Route] = []
    for child in route.routes:
        found = routes_for(child, labels)
        taken += found
        if found and not child.continue_:
            break
    return taken or [route]


def group_labels(route: Route, labels: Labels) -> dict[str, str]:
    """The labels that name an alert's group on ``route``."""
    if route.group_by == ("...",):
        return dict(labels)
    return {name: labels[name] for name in route.group_by if name in labels}


def all_routes(route: Route | None) -> dict[str, Route]:
    """Every node of the tree by its path."""
    if route is None:
        return {}
    out = {route.path: route}
    for child in route.routes:
        out.update(all_routes(child))
    return out


def mutes(alerts: Mapping[str, Labels], now: dt.datetime, *,
          silences: Iterable[tuple[int, tuple[Matcher, ...]]] = (),
          maintenance: Iterable[Maintenance] = (),
          inhibit: Iterable[InhibitRule] = ()) -> dict[str, str]:
    """Fingerprint -> reason (``maintenance:NAME``, ``silence:ID``, ``inhibited:ALERTNAME``)
    for every muted alert among ``alerts`` (the firing ones, fingerprint -> labels)."""
    out: dict[str, str] = {}
    windows = [m for m in maintenance if m.active(now)]
    silences = list(silences)
    for fp, labels in alerts.items():
        for window in windows:
            if match_all(window.matchers, labels):
                out[fp] = f"maintenance:{window.name}"
                break
        else:
            for silence_id, matchers in silences:
                if match_all(matchers, labels):
                    out[fp] = f"silence:{silence_id}"
                    break
    for rule in inhibit:
        sources: dict[tuple, str] = {}
        for fp, labels in alerts.items():
            if match_all(rule.source, labels):
                sources.setdefault(tuple(labels.get(n, "") for n in rule.equal),
                                   labels.get("alertname", fp))
        if not sources:
            continue
        for fp, labels in alerts.items():
            if fp in out or not match_all(rule.target, labels) or match_all(rule.source, labels):
                continue
            source = sources.get(tuple(labels.get(n, "") for n in rule.equal))
            if source is not None:
                out[fp] = f"inhibited:{source}"
    return out
