"""What the alert API and pages share: the caller's view, the rules, the samples behind
an alert, and times from forms and JSON."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from flask import current_app

from alerts import queries
from alerts.config import AlertSettings, parse_alerts
from core.text import shown
from dashboards.access import caller_scope
from dashboards.resources import get_settings, get_store
from ledger.identity.roles import TARGETS_READ

UTC = dt.timezone.utc
#: Points per field shown behind an alert (aggregated beyond it).
MAX_POINTS = 600
EXTENSION = "infra_ledger_alerts"


class BadRequest(ValueError):
    """A parameter the API or a form cannot take; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def alert_view(conn) -> queries.View:
    """The caller's view of alerts: its department scope; ledger events only unless it may
    read targets (operators)."""
    caller = caller_scope()
    return queries.View(caller.ledger_scope(conn), not caller.identity.can(TARGETS_READ))


def init_app(app, settings) -> None:
    """Validate the ``alerts`` section when the app is made: a bad one stops the web tier
    at start with the file, key and reason, never later as an error page."""
    app.extensions[EXTENSION] = parse_alerts(settings)


def alert_settings() -> AlertSettings:
    """The configured rules (validated when the app was made)."""
    return current_app.extensions[EXTENSION]


def alert_samples(item: dict) -> list[dict]:
    """The stored series behind a threshold or absence alert, around its life."""
    rule = next((r for r in alert_settings().rules if r.name == item["rule"]), None)
    if rule is None or rule.kind not in ("threshold", "absence") or rule.expression is None:
        return []
    skip = {"alertname", "severity", "measurement", *dict(rule.labels)}
    tags = {k: v for k, v in item["labels"].items() if k not in skip}
    start = dt.datetime.fromisoformat(item["active_at"]).timestamp() - 2 * rule.window
    end = (dt.datetime.fromisoformat(item["resolved_at"]).timestamp() + rule.window
           if item["resolved_at"] else time.time()) + 1
    interval = max(1.0, (end - start) / MAX_POINTS)
    out = []
    for field in rule.expression.fields:
        for series in get_store().query(rule.measurement, field, start, end, interval=interval,
                                        agg="mean", tags=tags):
            out.append({"measurement": rule.measurement, "field": field,
                        "tags": series.key.tag_dict, "points": series.points})
    return out


def parse_time(value, field: str) -> dt.datetime | None:
    """An ISO 8601 time (the configured zone when it has none), or None when empty."""
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise BadRequest(field, f"expected an ISO 8601 time, got {shown(value)}") from None
    when = when if when.tzinfo else when.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return bounded_time(when, field)


def bounded_time(when: dt.datetime, field: str) -> dt.datetime:
    """``when`` in UTC if the ledger can hold it (years 1-9998 in UTC), else BadRequest."""
    try:
        utc = when.astimezone(dt.timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or utc.year >= 9999:
        raise BadRequest(field, "a time before the year 9999 (UTC) is expected")
    return utc
