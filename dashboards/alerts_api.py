"""REST API of alerts and silences, under ``/api/v1``.

- ``GET /alerts?state=&severity=&department=&data_center=&page=&per_page=``: a page of
  alerts and the counts per state (``state`` repeatable: firing, pending, silenced,
  resolved, inactive; default the first three).
- ``GET /alerts/<id>``: one alert with its history and the samples behind it.
- ``GET /silences``, ``POST /silences`` with ``{"matchers": [...], "ends_at" | "duration",
  "starts_at"?, "comment"}`` (the author is the caller), ``DELETE /silences/<id>`` (expire).

Reading needs ``alerts.read``; a caller without ``targets.read`` sees ledger-event alerts
only, and a department's caller only its departments' (scope from the identity,
``?department=`` narrows it). Silences need ``alerts.manage``. In the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from alerts import queries, silences
from dashboards.access import caller_scope, requires
from dashboards.alerts_support import (BadRequest, alert_samples, alert_view, bounded_time,
                                       parse_time)
from dashboards.i18n import current_language
from dashboards.resources import get_ledger
from ledger.identity.roles import ALERTS_MANAGE, ALERTS_READ
from monitor.units import parse_duration

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1")
UTC = dt.timezone.utc
MAX_PAGE = 1000


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify({"errors": [{"field": exc.field, "reason": exc.reason}]}), 400


@bp.errorhandler(silences.SilenceError)
def _bad_silence(exc: silences.SilenceError):
    return jsonify({"errors": [{"field": exc.field, "reason": exc.reason}]}), 400


def filters() -> dict:
    """The list filters of this request (shared with the pages)."""
    states = request.args.getlist("state") or ["firing", "pending", "silenced"]
    for state in states:
        if state not in queries.LIST_STATES:
            raise BadRequest("state", f"must be one of {', '.join(queries.LIST_STATES)}")
    severity = request.args.get("severity") or None
    if severity not in (None, "critical", "warning", "info"):
        raise BadRequest("severity", "must be critical, warning or info")
    return {"states": states, "severity": severity,
            "department": request.args.get("department") or None,
            "data_center": request.args.get("data_center") or None}


def paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PAGE, max(1, int(request.args.get("per_page", 100))))
    except ValueError:
        raise BadRequest("page", "page and per_page must be integers") from None
    return page, per_page


@bp.get("/alerts")
@requires(ALERTS_READ)
def list_alerts():
    """A page of alerts with the counts per state."""
    page, per_page = paging()
    wanted = filters()
    with get_ledger().engine.connect() as conn:
        view = alert_view(conn)
        items, total = queries.page(conn, view, current_language(), page_number=page,
                                    per_page=per_page, **wanted)
        counts = queries.counts(conn, view)
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page,
                    "counts": counts})


@bp.get("/alerts/<int:alert_id>")
@requires(ALERTS_READ)
def read_alert(alert_id: int):
    """One alert with its history and samples."""
    with get_ledger().engine.connect() as conn:
        item = queries.one(conn, alert_view(conn), alert_id, current_language())
    if item is None:
        return jsonify({"errors": [{"reason": "not found"}]}), 404
    item["samples"] = alert_samples(item)
    return jsonify(item)


@bp.get("/silences")
@requires(ALERTS_MANAGE)
def list_silences():
    """Every silence, newest first."""
    with get_ledger().engine.connect() as conn:
        return jsonify({"items": silences.listing(conn, dt.datetime.now(UTC))})


@bp.post("/silences")
@requires(ALERTS_MANAGE)
def create_silence():
    """Make a silence; the author is the caller."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body", "a JSON object is expected")
    item = silences.create(get_ledger().engine, matchers=body.get("matchers"),
                           starts_at=parse_time(body.get("starts_at"), "starts_at"),
                           ends_at=_end(body), created_by=caller_scope().actor,
                           comment=body.get("comment"))
    return jsonify(item), 201


def _end(body: dict) -> dt.datetime:
    if body.get("duration"):
        try:
            seconds = parse_duration(body["duration"])
        except ValueError as exc:
            raise BadRequest("duration", str(exc)) from None
        start = parse_time(body.get("starts_at"), "starts_at") or dt.datetime.now(UTC)
        try:
            return bounded_time(start + dt.timedelta(seconds=seconds), "duration")
        except OverflowError:
            raise BadRequest("duration", "ends past the year 9999") from None
    end = parse_time(body.get("ends_at"), "ends_at")
    if end is None:
        raise BadRequest("ends_at", "give ends_at (ISO 8601) or duration (such as 2h)")
    return end


@bp.delete("/silences/<int:silence_id>")
@requires(ALERTS_MANAGE)
def expire_silence(silence_id: int):
    """End a silence now."""
    item = silences.expire(get_ledger().engine, silence_id, actor=caller_scope().actor)
    if item is None:
        return jsonify({"errors": [{"reason": "not found"}]}), 404
    return jsonify(item)
