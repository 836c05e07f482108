"""Operator pages: the target list and one page per target with its charts, interfaces,
poll history and observed inventory; :func:`charts` also draws the observed-asset page.

Views only fetch (ledger state, store series) and hand data to the figure
functions; nothing here polls a device.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import urllib.parse
from pathlib import Path

import plotly.offline
from flask import Blueprint, Response, abort, current_app, render_template, request

from core.observation import TARGET_TAG
from dashboards import facts, figures
from dashboards.access import public, requires
from dashboards.charts import COMMON_TAGS, ChartSpec, charts_for, series_title
from dashboards.cache import cached
from dashboards.i18n import current_language, translate
from dashboards.resources import get_ledger, get_settings, get_store
from ledger.identity.roles import TARGETS_READ
from ledger.models import TargetState
from ledger.observed import observed_for_source
from ledger.status import runtime_stats, target_states

bp = Blueprint("operator", __name__)

#: Page ranges: key -> (seconds back, aggregation interval in seconds).
RANGES = {"1h": (3600, 20), "6h": (6 * 3600, 60), "1d": (86400, 300),
          "1w": (7 * 86400, 3600), "30d": (30 * 86400, 4 * 3600)}
CHART_CACHE_SECONDS = 60
#: Auto-refresh choices (seconds; 0 = off).
REFRESH = (0, 30, 60, 300)
STATE_LABELS = {1.0: "state_up", 0.0: "state_down"}
INTERFACE_FIELDS = ("oper_up", "speed_bps", "rx_utilization_percent", "tx_utilization_percent")


def page_range() -> str:
    """The time range a page was asked for (``?range=``), 1h by default."""
    key = request.args.get("range", "1h")
    return key if key in RANGES else "1h"


def page_refresh(default: int = 0) -> int:
    """The auto-refresh period asked for (``?refresh=``), one of :data:`REFRESH`."""
    value = request.args.get("refresh", default, type=int)
    return value if value in REFRESH else default


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
                           store=store_label(get_settings().store_backend))


def store_label(backend: str) -> str:
    """Where samples go, without any credential the URL might carry."""
    if backend == "embedded":
        return translate("store_embedded")
    parts = urllib.parse.urlsplit(backend)
    if parts.scheme == "victoriametrics":
        return f"VictoriaMetrics {parts.hostname}:{parts.port or 8428}"
    return f"InfluxDB {parts.hostname}:{parts.port or 8086}{parts.path}"


@bp.get("/targets/<name>")
@requires(TARGETS_READ)
def target(name: str):
    """One target: its state, charts over the chosen range, its interfaces, its poll
    history and what it observed."""
    with get_ledger().session() as session:
        state = session.get(TargetState, name)
        assets = observed_for_source(session, name)
    if state is None:
        abort(404, description=translate("target_not_found"))
    range_key = page_range()
    zone = get_settings().timezone
    shown = [{"id": a.id, "kind": a.kind, "key": a.natural_key, "first_seen": a.first_seen,
              "last_seen": a.last_seen, "facts": facts.readable(_columns(a), zone)}
             for a in assets]
    ports = [port for a in assets for port in facts.interfaces(
        (a.attributes or {}).get("interfaces") or [])]
    return render_template("target.html", state=state, assets=shown, charts=charts(
        {TARGET_TAG: name}, range_key), ranges=list(RANGES), range_key=range_key,
        interfaces=_interface_rows(name, ports), refresh=page_refresh(),
        refresh_choices=REFRESH, zone=figures.zone_label(zone))


def _columns(asset) -> dict:
    return {column.key: getattr(asset, column.key) for column in asset.__table__.columns}


def charts(tags: dict[str, str], range_key: str) -> list[dict]:
    """Every chart of the series carrying ``tags``, over ``range_key``: gauges as lines,
    counters as rates, states as timelines; a new target's few points on a fitted axis.

    Kept for one aggregation interval (at most a minute) per target, range and language:
    a newer point would fall into the same bucket, and many operators watching one target
    cost one set of queries."""
    key = ("charts", tuple(sorted(tags.items())), range_key, current_language())
    ttl = min(RANGES[range_key][1], CHART_CACHE_SECONDS)
    return cached(key, ttl, lambda: _charts(tags, range_key))


def _charts(tags: dict[str, str], range_key: str) -> list[dict]:
    store = get_store()
    back, interval = RANGES[range_key]
    end = time.time()
    out = []
    for spec in charts_for(store.series(tags=tags)):
        lines = _lines(store, spec, tags, end - back, end, interval)
        first = min((p[0][0] for _, p in lines), default=None)
        start, finer = figures.pick_interval(back, interval, first, end)
        if finer < interval:
            lines = _lines(store, spec, tags, start, end, finer)
        out.append(_figure(spec, lines, end))
    return out


def _lines(store, spec: ChartSpec, tags: dict, start: float, end: float, interval: float):
    series = store.query(spec.measurement, spec.field, start, end, interval=interval,
                         agg=spec.agg, tags={**tags, **dict(spec.tags)})
    return merge_lines((_label(spec, s.key.tag_dict), s.points) for s in series if s.points)


def merge_lines(lines) -> list[tuple[str, list]]:
    """One line per label, sorted as people sort names: series that differ only in tags
    that name no line (the demo history and the live series after it) are one line, their
    points in time order (a bucket both hold keeps the later series' value)."""
    merged: dict[str, dict[float, float]] = {}
    for label, points in lines:
        merged.setdefault(label, {}).update(points)
    return sorted(((label, sorted(points.items())) for label, points in merged.items()),
                  key=lambda line: facts.natural(line[0]))


def _figure(spec: ChartSpec, lines, end: float) -> dict:
    zone = get_settings().timezone
    title = translate(spec.title_key) if spec.title_key.startswith("chart_") else \
        series_title(spec.measurement, spec.field, current_language())
    # A chart of one unnamed series names its line (or timeline row) by the chart's title.
    lines = [(label or title, points) for label, points in lines]
    if spec.kind == "rate":
        # The newest bucket is still filling: its rate would dip, so it is left out.
        lines = [(label, figures.counter_rates(points[:-1])) for label, points in lines]
        lines = [(label, points) for label, points in lines if points]
    if spec.kind == "state":
        labels = {value: translate(key) for value, key in STATE_LABELS.items()}
        figure = figures.state_timeline(title, lines, labels, zone, translate("time"), end)
    else:
        figure = figures.line_chart(title, lines, spec.unit, zone, translate("time"))
    return {"title": title, "kind": spec.kind, "empty": not lines,
            "html": figures.to_html(figure)}


def _label(spec: ChartSpec, tags: dict[str, str]) -> str:
    if spec.label_tag and spec.label_tag in tags:
        return tags[spec.label_tag]
    rest = [f"{k}={v}" for k, v in sorted(tags.items()) if k not in COMMON_TAGS]
    return ", ".join(rest)


def _interface_rows(name: str, ports: list[dict]) -> list[dict]:
    """Each interface by name: state, speed and the latest utilization in each direction
    (from the last 15 minutes of samples), beside what the inventory says of it."""
    store, end = get_store(), time.time()
    latest: dict[str, dict] = {}
    for field in INTERFACE_FIELDS:
        for series in store.query("interface", field, end - 900, end,
                                  tags={TARGET_TAG: name}):
            if series.points:
                ifname = series.key.tag_dict.get("ifname", "?")
                latest.setdefault(ifname, {})[field] = series.points[-1][1]
    known = {str(p.get("name")): p for p in ports}
    names = sorted(set(latest) | set(known), key=facts.natural)
    return [{"name": n, "alias": (known.get(n) or {}).get("alias"),
             "oper_up": latest.get(n, {}).get("oper_up", (known.get(n) or {}).get("oper_up")),
             "speed": facts.value_text("speed_bps", latest.get(n, {}).get(
                 "speed_bps", (known.get(n) or {}).get("speed_bps")), "UTC"),
             "rx": latest.get(n, {}).get("rx_utilization_percent"),
             "tx": latest.get(n, {}).get("tx_utilization_percent")} for n in names]


@bp.app_template_filter("localtime")
def localtime(value: dt.datetime | None) -> str:
    """Format an aware datetime in the configured time zone."""
    if value is None:
        return "—"
    return facts.when(value, current_app.config["TIMEZONE"])


@bp.app_template_filter("isotime")
def isotime(value: str | None) -> str:
    """Format an ISO 8601 text (analysis runs) in the configured time zone."""
    if not value:
        return "—"
    return facts.when(dt.datetime.fromisoformat(value), current_app.config["TIMEZONE"])


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


@bp.get("/favicon.ico")
@public
def favicon():
    """The SVG icon the pages link: browsers ask for /favicon.ico whatever a page links (a
    report or JSON opened in a tab, say). Public and cacheable, as static files are; read
    into memory so no response holds the file open."""
    response = Response(_favicon(current_app.static_folder), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@functools.cache
def _favicon(folder: str) -> bytes:
    return (Path(folder) / "favicon.svg").read_bytes()
