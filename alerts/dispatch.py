"""Grouping and notification, as Alertmanager's dispatcher does it, with its log in the ledger.

Each tick: firing alerts are checked against maintenance windows, silences and inhibition
(the reason is kept on the alert for the pages); the others are routed and grouped. A new
group waits ``group_wait`` before its first notification, then is looked at every
``group_interval``: it notifies when an alert joined it or resolved since the last
notification, or when ``repeat_interval`` has passed while it still fires. A notification
is one outbox row per integration of the receiver, written in the same transaction as the
group's log (``alert_group``), so a restart neither loses nor repeats one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Connection, delete, select, update

from alerts import silences
from alerts.config import AlertSettings
from alerts.config_routing import Route
from alerts.payload import build
from alerts.routing import all_routes, group_labels, mutes, routes_for
from ledger.alert_tables import alert, alert_group, alert_outbox


@dataclasses.dataclass
class Tick:
    """What one :func:`dispatch` did."""

    muted: int = 0
    groups: int = 0
    notifications: int = 0


def group_key(receiver: str, route: Route, labels: dict[str, str]) -> str:
    """The key of a group: receiver, route and a hash of the group's labels."""
    text = json.dumps(sorted(labels.items()), ensure_ascii=False)
    return f"{receiver}:{route.path}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def dispatch(conn: Connection, config: AlertSettings, now: dt.datetime) -> Tick:
    """Mute, group and notify what is due at ``now``; the caller commits."""
    tick = Tick()
    firing = {row.fingerprint: row for row in conn.execute(
        select(alert.c.id, alert.c.fingerprint, alert.c.labels, alert.c.muted_by)
        .where(alert.c.state == "firing"))}
    routing = config.routing
    muted = mutes({fp: row.labels for fp, row in firing.items()}, now,
                  silences=silences.active(conn, now), maintenance=routing.maintenance,
                  inhibit=routing.inhibit)
    tick.muted = len(muted)
    for fp, row in firing.items():
        if muted.get(fp) != row.muted_by:
            conn.execute(update(alert).where(alert.c.id == row.id).values(muted_by=muted.get(fp)))
    if routing.route is None:
        return tick
    members: dict[str, tuple[Route, dict[str, str], set[str]]] = {}
    for fp, row in firing.items():
        if fp in muted:
            continue
        for route in routes_for(routing.route, row.labels):
            labels = group_labels(route, row.labels)
            key = group_key(route.receiver, route, labels)
            members.setdefault(key, (route, labels, set()))[2].add(fp)
    groups = {row.key: row for row in conn.execute(select(alert_group))}
    for key, (route, labels, _fps) in members.items():
        if key not in groups:
            conn.execute(alert_group.insert().values(
                key=key, receiver=route.receiver, labels=labels, created_at=now,
                next_flush_at=now + dt.timedelta(seconds=route.group_wait), notified=[],
                flushes=0))
    groups = {row.key: row for row in conn.execute(select(alert_group))}
    tick.groups = len(groups)
    routes = all_routes(routing.route)
    for key, group in groups.items():
        route = routes.get(key.rsplit(":", 2)[1])
        if route is None or route.receiver != group.receiver:
            conn.execute(delete(alert_group).where(alert_group.c.id == group.id))
            continue
        if group.next_flush_at <= now:
            fps = members.get(key, (None, None, set()))[2]
            tick.notifications += _flush(conn, config, route, group, fps, set(muted), now)
    return tick


def _flush(conn: Connection, config: AlertSettings, route: Route, group, firing: set[str],
           muted: set[str], now: dt.datetime) -> int:
    """Look at one due group; returns the outbox rows written."""
    notified = set(group.notified)
    states = dict(conn.execute(select(alert.c.fingerprint, alert.c.state)
                               .where(alert.c.fingerprint.in_(sorted(notified)))).all())
    # Notified alerts that still fire but are muted now are neither new nor resolved.
    still_muted = {fp for fp in notified - firing if fp in muted and states.get(fp) == "firing"}
    resolved = notified - firing - still_muted
    new = firing - notified
    repeat = bool(firing) and (group.last_notified_at is None or
                               (now - group.last_notified_at).total_seconds()
                               >= route.repeat_interval)
    integrations = config.routing.receivers.get(route.receiver, ())
    written = 0
    if new or resolved or repeat:
        rows = conn.execute(select(alert).where(
            alert.c.fingerprint.in_(sorted(firing | resolved)))).mappings().all()
        payload = build(receiver=route.receiver, group_key=group.key, group=group.labels,
                        rows=rows, external_url=config.external_url, language=config.language)
        flush = group.flushes + 1
        for integration in integrations:
            if not firing and not integration.send_resolved:
                continue
            written += _outbox(conn, integration.key, route.receiver, group.key, flush,
                               payload, now)
        values: dict[str, Any] = {"flushes": flush, "last_notified_at": now}
    else:
        values = {}
    left = firing | still_muted
    if not left:
        conn.execute(delete(alert_group).where(alert_group.c.id == group.id))
        return written
    conn.execute(update(alert_group).where(alert_group.c.id == group.id).values(
        notified=sorted(left),
        next_flush_at=now + dt.timedelta(seconds=route.group_interval), **values))
    return written


def _outbox(conn: Connection, integration: str, receiver: str, key: str, flush: int,
            payload: dict, now: dt.datetime) -> int:
    conn.execute(alert_outbox.insert().values(
        dedup_key=f"{key}#{flush}#{integration}", receiver=receiver, integration=integration,
        group_key=key, status="pending", payload=payload, attempts=0, next_attempt_at=now,
        created_at=now))
    return 1
