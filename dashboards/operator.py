"""Operator pages: the target list and one page per target with its charts.

Views only fetch (ledger state, store series) and hand data to the figure
functions; nothing here polls a device.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import urllib.parse
from zoneinfo import ZoneInfo

import plotly.offline
from flask import Blueprint, Response, abort, current_app, render_template, request

from dashboards import figures
from dashboards.access import requires
from dashboards.charts import COMMON_TAGS, ChartSpec, charts_for
from dashboards.i18n import translate
from dashboards.resources import get_ledger, get_settings, get_store
from ledger.identity.roles import TARGETS_READ
from ledger.models import TargetState
from ledger.observed import observed_for_source
from ledger.status import runtime_stats, target_states
from monitor.poller import TARGET_TAG

bp = Blueprint("operator", __name__)

#: Page ranges: key -> (seconds back, aggregation interval in seconds).
RANGES = {"1h": (3600, 20), "1d": (86400, 300), "1w": (7 * 86400, 3600)}


@bp.get("/targets")
@requires(TARGETS_READ)
def targets():
    """List every target with its last poll, status, duration and error."""
    with get_ledger().session() as session:
        states = target_states(session)
        stats = {name: row.value for name, row in runtime_stats(session).items()}
    counts = {"total": len(states), "up": sum(1 for s in states if s.up),
              "down": sum(1 for s in states if s.up is False),
              "pending": sum(1 for s in states if s.up is None)}
    return render_template("targets.html", states=states, counts=counts, stats=stats,
                           store=_store_label(get_settings().store_backend))


def _store_label(backend: str) -> str:
    # Show where data goes without any credential the URL might carry.
    if backend == "embedded":
        return translate("store_embedded")
    parts = urllib.parse.urlsplit(backend)
    if parts.scheme == "victoriametrics":
        return f"VictoriaMetrics {parts.hostname}:{parts.port or 8428}"
    return f"InfluxDB {parts.hostname}:{parts.port or 8086}{parts.path}"


@bp.get("/targets/<name>")
@requires(TARGETS_READ)
def target(name: str):
    """One target: its state, charts over the chosen range, and what it observed."""
    with get_ledger().session() as session:
        state = session.get(TargetState, name)
        assets = observed_for_source(session, name)
    if state is None:
        abort(404, description=translate("target_not_found"))
    range_key = request.args.get("range", "1h")
    if range_key not in RANGES:
        range_key = "1h"
    charts = _charts(name, range_key)
    return render_template("target.html", state=state, assets=assets, charts=charts,
                           ranges=list(RANGES), range_key=range_key)


def _charts(name: str, range_key: str) -> list[dict]:
    store = get_store()
    back, interval = RANGES[range_key]
    end = time.time()
    start = end - back
    out = []
    for spec in charts_for(store.series(tags={TARGET_TAG: name})):
        series = store.query(spec.measurement, spec.field, start, end, interval=interval,
                             agg=spec.agg, tags={TARGET_TAG: name, **dict(spec.tags)})
        lines = [(_label(spec, s.key.tag_dict), s.points) for s in series if s.points]
        title = translate(spec.title_key) if spec.title_key.startswith("chart_") \
            else spec.title_key
        figure = figures.line_chart(title, lines, spec.unit, get_settings().timezone,
                                    translate("time"))
        out.append({"title": title, "empty": not lines, "html": figures.to_html(figure)})
    return out


def _label(spec: ChartSpec, tags: dict[str, str]) -> str:
    if spec.label_tag and spec.label_tag in tags:
        return tags[spec.label_tag]
    rest = [f"{k}={v}" for k, v in sorted(tags.items()) if k not in COMMON_TAGS]
    return ", ".join(rest) or spec.field


@bp.app_template_filter("localtime")
def localtime(value: dt.datetime | None) -> str:
    """Format an aware datetime in the configured time zone."""
    if value is None:
        return "—"
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/assets/plotly.min.js")
def plotly_js():
    """Serve plotly.js from the installed plotly package (no CDN on a closed network)."""
    response = Response(_plotly_source(), mimetype="application/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@functools.cache
def _plotly_source() -> str:
    return plotly.offline.get_plotlyjs()
