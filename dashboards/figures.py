"""Figures: pure functions from data to plotly Figures. No I/O here."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def line_chart(title: str, lines: Sequence[tuple[str, Sequence[tuple[float, float]]]],
               unit: str, timezone: str, x_title: str) -> go.Figure:
    """A time-series line chart: one trace per (label, [(epoch seconds, value)])."""
    zone = ZoneInfo(timezone)
    figure = go.Figure()
    for label, points in lines:
        figure.add_trace(go.Scatter(
            x=[dt.datetime.fromtimestamp(ts, zone).replace(tzinfo=None) for ts, _ in points],
            y=[value for _, value in points], mode="lines", name=label,
            hovertemplate=f"%{{y:.4~s}}{unit}<extra>{label}</extra>"))
    figure.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=300, margin={"l": 55, "r": 15, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2}, template="plotly_white",
        xaxis={"title": {"text": x_title}}, yaxis={"ticksuffix": unit, "rangemode": "tozero"},
        showlegend=len(lines) > 1)
    return figure


def to_html(figure: go.Figure) -> str:
    """Render a figure as an HTML fragment without inline script (the page's CSP forbids
    it): the figure rides in a data attribute and ``static/charts.js`` draws it with the
    plotly.js the app serves itself."""
    return (f'<div class="plotly-graph-div" data-figure="{html.escape(figure.to_json())}" '
            f'data-config="{html.escape(json.dumps(PLOT_CONFIG))}"></div>')
