"""Alert state in the ledger: pending, firing, resolved, with every change in the history.

:func:`record` takes what one evaluation found per rule and moves each alert along, as
Prometheus does: a condition that starts holding is ``pending`` until it has held for the
rule's ``for`` (``firing`` at once without one); a firing alert whose condition clears is
``resolved``; a pending one that clears is dropped as ``inactive`` and never notified. The
rows live in the ledger, so a restart continues where the last process stopped. A rule
whose source could not be read is left as it was: an outage never resolves its alerts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Iterable

from sqlalchemy import Connection, select, update

from alerts.config import Rule
from alerts.evaluate import Active
from ledger.alert_tables import alert, alert_event

CHUNK = 1000


@dataclasses.dataclass
class Changes:
    """What one :func:`record` did."""

    pending: int = 0
    firing: int = 0
    resolved: int = 0
    inactive: int = 0


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """A stable name of one alert instance: the rule and its labels."""
    text = json.dumps([rule, sorted(labels.items())], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def full_labels(rule: Rule, active: Active) -> dict[str, str]:
    """The alert's labels: the condition's, the rule's own, its name and severity."""
    return {**active.labels, **dict(rule.labels), "alertname": rule.name,
            "severity": rule.severity}


def record(conn: Connection, results: dict[str, tuple[Rule, list[Active]]],
           now: dt.datetime, *, retired: Iterable[str] = ()) -> Changes:
    """Apply one evaluation: ``results`` maps a rule name to the rule and its conditions
    (rules missing from it failed and stay as they were); alerts of ``retired`` rules (no
    longer configured) are resolved."""
    changes = Changes()
    names = list(results) + list(retired)
    rows = {}
    for start in range(0, len(names), CHUNK):
        for row in conn.execute(select(alert.c.id, alert.c.fingerprint, alert.c.rule,
                                       alert.c.state, alert.c.active_at)
                                .where(alert.c.rule.in_(names[start:start + CHUNK]))):
            rows[row.fingerprint] = row
    inserts, updates, events, seen = [], [], [], set()
    for name, (rule, actives) in results.items():
        for active in actives:
            labels = full_labels(rule, active)
            fp = fingerprint(name, labels)
            if fp in seen:
                continue
            seen.add(fp)
            row = rows.get(fp)
            if row is None or row.state in ("resolved", "inactive"):
                state = "firing" if rule.for_seconds <= 0 else "pending"
                values = _values(rule, active, labels, now, state)
                if row is None:
                    inserts.append({"fingerprint": fp, "rule": name, **values})
                else:
                    updates.append((row.id, {**values, "resolved_at": None}))
                    events.append(_event(row.id, now, state, active.value))
                setattr(changes, state, getattr(changes, state) + 1)
            elif row.state == "pending" and (now - row.active_at).total_seconds() >= \
                    rule.for_seconds:
                updates.append((row.id, {"state": "firing", "fired_at": now,
                                         "last_eval_at": now, "value": active.value}))
                events.append(_event(row.id, now, "firing", active.value))
                changes.firing += 1
            else:
                updates.append((row.id, {"last_eval_at": now, "value": active.value}))
    for fp, row in rows.items():
        if fp in seen or row.state not in ("pending", "firing"):
            continue
        if row.rule not in results and row.rule not in retired:
            continue
        state = "resolved" if row.state == "firing" else "inactive"
        note = "rule removed from the configuration" if row.rule in retired else None
        updates.append((row.id, {"state": state, "resolved_at": now, "last_eval_at": now,
                                 "muted_by": None}))
        events.append(_event(row.id, now, state, None, note))
        setattr(changes, state, getattr(changes, state) + 1)
    _write(conn, inserts, updates, events, now)
    return changes


def _values(rule: Rule, active: Active, labels: dict[str, str], now: dt.datetime,
            state: str) -> dict:
    return {"kind": rule.kind, "severity": rule.severity, "state": state, "labels": labels,
            "annotations": {"summary_zh": rule.summary[0], "summary_en": rule.summary[1]},
            "value": active.value, "department": labels.get("department"),
            "department_id": active.department_id,
            "data_center": labels.get("datacenter") or labels.get("data_center"),
            "active_at": now, "fired_at": now if state == "firing" else None,
            "resolved_at": None, "last_eval_at": now, "muted_by": None}


def _event(alert_id: int, now: dt.datetime, state: str, value: float | None,
           note: str | None = None) -> dict:
    return {"alert_id": alert_id, "at": now, "state": state, "value": value, "note": note}


def _write(conn: Connection, inserts: list[dict], updates: list[tuple[int, dict]],
           events: list[dict], now: dt.datetime) -> None:
    for start in range(0, len(inserts), CHUNK):
        chunk = inserts[start:start + CHUNK]
        conn.execute(alert.insert(), chunk)
        fps = [row["fingerprint"] for row in chunk]
        ids = dict(conn.execute(select(alert.c.fingerprint, alert.c.id)
                                .where(alert.c.fingerprint.in_(fps))).all())
        events += [_event(ids[row["fingerprint"]], now, row["state"], row["value"])
                   for row in chunk]
    # Rows that only moved their evaluation time share one statement per chunk.
    plain = {id_ for id_, values in updates if set(values) == {"last_eval_at", "value"}
             and values["value"] is None}
    for id_, values in updates:
        if id_ in plain:
            continue
        conn.execute(update(alert).where(alert.c.id == id_).values(**values))
    ordered = sorted(plain)
    for start in range(0, len(ordered), CHUNK):
        conn.execute(update(alert).where(alert.c.id.in_(ordered[start:start + CHUNK]))
                     .values(last_eval_at=now))
    for start in range(0, len(events), CHUNK):
        conn.execute(alert_event.insert(), events[start:start + CHUNK])
