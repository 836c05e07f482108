"""Figures: pure functions from data to plotly Figures. No I/O here.

Operator charts follow three rules: a counter is drawn as its rate (:func:`counter_rates`),
a state as a state timeline (:func:`state_timeline`), never as a raw cumulative line; and a
chart of a target with few points draws those points with markers on an axis fitted to
them, never an empty week. Every time axis names its zone.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
#: Below this many points a line gets markers (one or two points draw no visible line).
FEW_POINTS = 30
#: Fields that count up forever (drawn as rates) and fields that hold a state.
COUNTER_SUFFIXES = ("_total", "_octets", "_count")
COUNTER_FIELDS = frozenset({"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors",
                            "tx_errors", "rx_discards", "tx_discards", "read_bytes",
                            "write_bytes", "reads", "writes"})
STATE_FIELDS = frozenset({"up", "oper_up", "admin_up", "status", "state", "power_state",
                          "on_battery", "link_up"})
STATE_COLOURS = {1.0: "#2e9d4f", 0.0: "#c8382e"}
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
#: The light look, written out: a named template is deep-copied into every figure, which
#: cost most of a page's time.
LIGHT_AXIS = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#d1d5db"}


def new_figure(data=None, **layout) -> go.Figure:
    """A figure built in one step, without plotly's default template: a named template is
    deep-copied into every figure and ``update_layout`` walks the whole tree, which together
    cost most of a page's time (see :data:`LIGHT_AXIS`)."""
    return go.Figure(data=data, layout={"template": {}, **layout})


def field_kind(field: str) -> str:
    """``counter``, ``state`` or ``gauge`` for a stored field name."""
    if field in STATE_FIELDS or field.endswith(("_up", "_state", "_status")):
        return "state"
    if field in COUNTER_FIELDS or field.endswith(COUNTER_SUFFIXES):
        return "counter"
    return "gauge"


def counter_rates(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Per-second rates between successive counter readings; a reset (the counter went
    down: restart or wrap) starts again without a negative spike."""
    out = []
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t1 > t0 and v1 >= v0:
            out.append((t1, (v1 - v0) / (t1 - t0)))
    return out


def zone_label(timezone: str, at: dt.datetime | None = None) -> str:
    """``Asia/Shanghai (UTC+08:00)``: what every time on a page is written in."""
    zone = ZoneInfo(timezone)
    offset = (at or dt.datetime.now(dt.timezone.utc)).astimezone(zone).strftime("%z")
    return f"{timezone} (UTC{offset[:3]}:{offset[3:]})"


#: Aggregation steps a finer interval is rounded up to, so buckets line up with the usual
#: polling intervals (a 181 s bucket holds three 60 s polls, then four: a sawtooth).
STEPS = (10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)


def pick_interval(back_seconds: float, interval: float, first_point: float | None,
                  end: float, *, minimum: float = 10.0, wanted: int = 60) -> tuple[float, float]:
    """(start, aggregation interval) for a chart of the last ``back_seconds``: when the
    data begin later than the range (a new target), the range starts at the first point
    and the interval shrinks to a step in :data:`STEPS` so the points it has are all drawn."""
    start = end - back_seconds
    if first_point is None or first_point <= start:
        return start, interval
    span = max(end - first_point, minimum)
    finer = next((step for step in STEPS if step >= span / wanted), STEPS[-1])
    return first_point, max(minimum, min(interval, finer))


def _times(points, zone):
    return [dt.datetime.fromtimestamp(ts, zone).replace(tzinfo=None) for ts, _ in points]


def line_chart(title: str, lines: Sequence[tuple[str, Sequence[tuple[float, float]]]],
               unit: str, timezone: str, x_title: str) -> go.Figure:
    """A time-series line chart: one trace per (label, [(epoch seconds, value)]). The x
    axis is fitted to the points and names the zone; few points get markers."""
    zone = ZoneInfo(timezone)
    traces = [go.Scatter(
        x=_times(points, zone), y=[value for _, value in points],
        mode="lines+markers" if len(points) < FEW_POINTS else "lines", name=label,
        hovertemplate=f"%{{y:.4~s}}{unit}<extra>{label}</extra>") for label, points in lines]
    legend = len(lines) > 1
    return new_figure(
        traces, title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=300 + (LEGEND_SPACE if legend else 0),
        margin={"l": 55, "r": 15, "t": 40, "b": 40 + (LEGEND_SPACE if legend else 0)},
        legend=BELOW, colorway=COLOURS, plot_bgcolor="#fff",
        xaxis={"title": {"text": f"{x_title} · {zone_label(timezone)}"},
               **time_range([ts for _, points in lines for ts, _ in points], zone),
               **LIGHT_AXIS},
        # SI prefixes (1.2G, never plotly's 1.2B for a billion: "1.2BB" for bytes).
        yaxis={"ticksuffix": unit, "rangemode": "tozero", "exponentformat": "SI",
               "automargin": True, **LIGHT_AXIS},
        showlegend=legend)


#: Under the plot, so a long (Chinese) title never runs into it.
BELOW = {"orientation": "h", "x": 0, "y": -0.22, "xanchor": "left", "yanchor": "top"}
#: Height the legend under a chart takes.
LEGEND_SPACE = 40
#: Points closer together than this are drawn on an axis of this width (seconds), so one
#: point never gets an axis of milliseconds.
MIN_SPAN = 600


def time_range(stamps: Sequence[float], zone) -> dict:
    """The x axis settings for points at ``stamps``: fitted to them, and at least
    :data:`MIN_SPAN` wide around them."""
    if not stamps or max(stamps) - min(stamps) >= MIN_SPAN:
        return {"autorange": True}
    middle = (max(stamps) + min(stamps)) / 2
    return {"type": "date", "autorange": False,
            "range": [_ms(middle - MIN_SPAN / 2, zone), _ms(middle + MIN_SPAN / 2, zone)]}


def state_timeline(title: str, lanes: Sequence[tuple[str, Sequence[tuple[float, float]]]],
                   labels: Mapping[float, str], timezone: str, x_title: str,
                   end: float) -> go.Figure:
    """A state timeline: one row per lane, one bar per run of the same state, from each
    change to the next (the last run until ``end``), coloured by state."""
    zone = ZoneInfo(timezone)
    traces, shown = [], set()
    for lane, points in lanes:
        for start, stop, state in runs(points, end):
            state = float(round(state))
            traces.append(go.Bar(
                y=[lane], x=[(stop - start) * 1000.0], base=[_ms(start, zone)],
                orientation="h", name=labels.get(state, str(state)),
                marker={"color": STATE_COLOURS.get(state, "#8c8c8c")},
                legendgroup=str(state), showlegend=state not in shown,
                hovertemplate=f"{labels.get(state, state)}<extra>{lane}</extra>"))
            shown.add(state)
    return new_figure(
        traces, title={"text": title, "x": 0.01, "font": {"size": 15}}, barmode="overlay",
        height=max(160, 60 + 26 * len(lanes)) + LEGEND_SPACE,
        margin={"l": 20, "r": 15, "t": 40, "b": 40 + LEGEND_SPACE},
        plot_bgcolor="#fff", legend=BELOW,
        xaxis={"type": "date", "title": {"text": f"{x_title} · {zone_label(timezone)}"},
               **LIGHT_AXIS}, yaxis={"automargin": True, **LIGHT_AXIS})


def _ms(ts: float, zone) -> str:
    return dt.datetime.fromtimestamp(ts, zone).replace(tzinfo=None).isoformat()


def runs(points: Sequence[tuple[float, float]], end: float) -> list[tuple[float, float, float]]:
    """(start, stop, state) of each run of equal states; the last one lasts until ``end``."""
    out: list[list[float]] = []
    for ts, value in points:
        if out and out[-1][2] == value:
            continue
        if out:
            out[-1][1] = ts
        out.append([ts, ts, value])
    if out:
        out[-1][1] = max(end, out[-1][0])
    return [tuple(run) for run in out]


def to_html(figure: go.Figure) -> str:
    """Render a figure as an HTML fragment without inline script (the page's CSP forbids
    it): the figure rides in a data attribute and ``static/charts.js`` draws it with the
    plotly.js the app serves itself."""
    return (f'<div class="plotly-graph-div" data-figure="{html.escape(figure.to_json())}" '
            f'data-config="{html.escape(json.dumps(PLOT_CONFIG))}"></div>')
