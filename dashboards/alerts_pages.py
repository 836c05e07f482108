"""Alert pages: the list (firing, pending, silenced, resolved) with filters, one alert with
its history and the samples behind it, and the silences with their form.

Views only read the ledger and the store (through :mod:`alerts.queries` and
:mod:`dashboards.alerts_support`); nothing here evaluates rules or sends anything.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, redirect, render_template, request, url_for

from alerts import queries, silences
from dashboards import figures
from dashboards.access import caller_scope, current_identity, requires
from dashboards.alerts_api import filters
from dashboards.alerts_support import BadRequest, alert_samples, alert_view
from dashboards.i18n import current_language, translate
from dashboards.operator import localtime
from dashboards.resources import get_ledger, get_settings
from ledger.identity.roles import ALERTS_MANAGE, ALERTS_READ
from monitor.units import parse_duration

bp = Blueprint("alerts", __name__)
UTC = dt.timezone.utc


@bp.app_template_filter("isolocal")
def isolocal(value: str | None) -> str:
    """An ISO 8601 time of the API as local time (the configured zone), to the second."""
    if not value:
        return "—"
    return localtime(dt.datetime.fromisoformat(value))


@bp.get("/alerts")
@requires(ALERTS_READ)
def list_alerts():
    """The alert list with its filters and the counts per state."""
    try:
        wanted = filters()
    except BadRequest:        # a hand-edited URL: show the default list rather than fail
        wanted = {"states": ["firing", "pending", "silenced"], "severity": None,
                  "department": None, "data_center": None}
    with get_ledger().engine.connect() as conn:
        view = alert_view(conn)
        items, total = queries.page(conn, view, current_language(), per_page=500, **wanted)
        counts = queries.counts(conn, view)
    return render_template("alerts.html", items=items, total=total, counts=counts,
                           wanted=wanted, states=queries.LIST_STATES,
                           can_manage=current_identity().can(ALERTS_MANAGE))


@bp.get("/alerts/<int:alert_id>")
@requires(ALERTS_READ)
def show_alert(alert_id: int):
    """One alert: labels, history and the samples behind it."""
    with get_ledger().engine.connect() as conn:
        item = queries.one(conn, alert_view(conn), alert_id, current_language())
    if item is None:
        abort(404, description=translate("alert_not_found"))
    charts = []
    for series in alert_samples(item):
        label = ", ".join(f"{k}={v}" for k, v in sorted(series["tags"].items()))
        figure = figures.line_chart(f"{series['measurement']}.{series['field']}",
                                    [(label, series["points"])], "",
                                    get_settings().timezone, translate("time"))
        if len(series["points"]) < 10:      # a few polls: show them as points, not a void
            figure.update_traces(mode="lines+markers")
        charts.append(figures.to_html(figure))
    matchers = [f'{k}="{v}"' for k, v in sorted(item["labels"].items())
                if k in ("alertname", "target", "datacenter", "department", "finding_id")]
    return render_template("alert.html", item=item, charts=charts, matchers=matchers,
                           can_manage=current_identity().can(ALERTS_MANAGE))


@bp.get("/silences")
@requires(ALERTS_MANAGE)
def list_silences(error: str | None = None, status: int = 200):
    """Every silence and the form for a new one."""
    with get_ledger().engine.connect() as conn:
        items = silences.listing(conn, dt.datetime.now(UTC))
    prefill = "\n".join(request.args.getlist("matcher"))
    return render_template("silences.html", items=items, error=error, prefill=prefill), status


@bp.post("/silences")
@requires(ALERTS_MANAGE)
def create_silence():
    """Make a silence from the form; the author is the signed-in person."""
    form = request.form
    try:
        seconds = parse_duration(form.get("duration") or "2h")
        now = dt.datetime.now(UTC)
        silences.create(get_ledger().engine,
                        matchers=[m for m in (form.get("matchers") or "").splitlines()
                                  if m.strip()],
                        starts_at=now, ends_at=now + dt.timedelta(seconds=seconds),
                        created_by=caller_scope().actor, comment=form.get("comment") or "")
    except silences.SilenceError as exc:
        return list_silences(error=silence_error_text(exc), status=400)
    except ValueError:
        return list_silences(error=translate("silence_bad_duration"), status=400)
    return redirect(url_for("alerts.list_silences"))


def silence_error_text(exc: silences.SilenceError) -> str:
    """A silence the form could not make, worded in the request's language: the field's
    label and the reason (the matcher syntax keeps the text the reader typed)."""
    field = translate({"matchers": "col_matchers", "ends_at": "duration",
                       "comment": "col_comment"}.get(exc.field, exc.field))
    key = f"silence_{exc.code}"
    reason = translate(key) if exc.code and translate(key) != key else exc.reason
    return f"{field}: {reason}"


@bp.post("/silences/<int:silence_id>/expire")
@requires(ALERTS_MANAGE)
def expire_silence(silence_id: int):
    """End a silence now."""
    if silences.expire(get_ledger().engine, silence_id, actor=caller_scope().actor) is None:
        abort(404)
    return redirect(url_for("alerts.list_silences"))
