"""Forwarding to an existing Alertmanager (its v2 API) instead of routing here.

With ``alerts.forward.url`` set, the dispatcher posts the firing alerts to
``{url}/api/v2/alerts`` (``endsAt`` a few evaluation intervals ahead, so Alertmanager
resolves them by itself if this process stops) and the recently resolved ones with their
``endsAt``; Alertmanager's own routing, silences and receivers take over. Posting is a state
sync and idempotent: a failed post is simply repeated at the next tick; between changes
the state is re-posted at most every ``RESEND_SECONDS``, as Alertmanager expects.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, or_, select

from alerts.config import AlertSettings
from alerts.payload import alert_entry
from alerts.transports import DeliveryError, NoAnswer
from alerts.transports.httppost import check_status, post_json
from ledger.alert_tables import alert

_LOGGER = logging.getLogger(__name__)
RESEND_SECONDS = 60.0


def postable(rows, config: AlertSettings, now: dt.datetime) -> list[dict]:
    """Alertmanager's ``postableAlerts`` for the rows."""
    ahead = now + dt.timedelta(seconds=4 * config.evaluation_interval)
    out = []
    for row in rows:
        entry = alert_entry(row, config.external_url, config.language)
        ends = entry["endsAt"] if row["state"] == "resolved" else \
            ahead.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.append({"labels": entry["labels"], "annotations": {
            k: v for k, v in entry["annotations"].items() if k != "kind"},
            "startsAt": entry["startsAt"], "endsAt": ends,
            "generatorURL": entry["generatorURL"]})
    return out


def forward(engine: Engine, config: AlertSettings, now: dt.datetime,
            last: dict[str, tuple[dt.datetime, frozenset]]) -> int:
    """Post the current alerts when they changed or the resend delay passed; returns how
    many were posted (0 when nothing was due or the post failed). ``last`` is the caller's
    memory of the previous post (per process: a restart posts again, harmlessly)."""
    recent = now - dt.timedelta(seconds=max(300.0, 5 * config.evaluation_interval))
    with engine.connect() as conn:
        rows = conn.execute(select(alert).where(or_(
            alert.c.state == "firing",
            (alert.c.state == "resolved") & (alert.c.fired_at.is_not(None)) &
            (alert.c.resolved_at >= recent)))).mappings().all()
    state = frozenset((r["fingerprint"], r["state"]) for r in rows)
    url = config.forward_url.rstrip("/") + "/api/v2/alerts"
    previous = last.get(url)
    if previous and previous[1] == state and \
            (now - previous[0]).total_seconds() < RESEND_SECONDS:
        return 0
    if not rows:
        last[url] = (now, state)
        return 0
    try:
        status, answer = post_json(url, postable(rows, config, now), lambda: None)
        check_status(status, answer, "alertmanager")
    except (DeliveryError, NoAnswer) as exc:
        _LOGGER.warning("Forwarding %s alerts to Alertmanager failed (retried): %s",
                        len(rows), exc)
        return 0
    last[url] = (now, state)
    return len(rows)
