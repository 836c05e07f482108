"""Figures of the leadership screen (大屏): pure functions from analysis results to dark,
large-type plotly Figures sized for a 1920x1080 display. No I/O here."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import plotly.graph_objects as go

from dashboards.figures import new_figure

HEIGHT = 400
FONT = {"size": 18, "color": "#e6edf3"}
PALETTE = ["#4cc9f0", "#f72585", "#7bd389", "#fca311", "#b388eb", "#ff6b6b", "#48bfe3",
           "#c0ca33"]
GOOD, BAD = "#7bd389", "#ff6b6b"
#: Axes make room for their labels (a fixed small margin cut them to one character).
DARK_AXIS = {"gridcolor": "#30363d", "zerolinecolor": "#30363d", "linecolor": "#30363d",
             "automargin": True}


def _figure(traces, title: str, **extra) -> go.Figure:
    # The dark look written out, the figure built in one step (see figures.new_figure).
    axes = {name: {**DARK_AXIS, **extra.pop(name, {})} for name in ("xaxis", "yaxis")}
    annotations = extra.pop("annotations", [])
    return new_figure(
        traces, title={"text": title, "x": 0.02, "font": {"size": 24}}, colorway=PALETTE,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font=FONT,
        height=HEIGHT, margin={"l": 20, "r": 20, "t": 60, "b": 30}, annotations=annotations,
        **axes, **extra)


def distribution(title: str, groups: Sequence[Mapping], region_of: Mapping[str, str | None],
                 measure: str, root: str, names: Mapping[str, str] | None = None
                 ) -> go.Figure:
    """A sunburst: the whole scope, its regions, their departments (by name, from
    ``names``; the code when it has none), sized by ``measure``."""
    ids, labels, parents, values = [root], [root], [""], [0.0]
    regions: dict[str, float] = {}
    for group in groups:
        value = float(group.get(measure) or 0)
        if value <= 0:
            continue
        region = region_of.get(group["key"]) or "—"
        regions[region] = regions.get(region, 0.0) + value
        ids.append(f"{region}/{group['key']}")
        labels.append((names or {}).get(group["key"]) or group["key"])
        parents.append(f"r:{region}")
        values.append(value)
    for region, value in regions.items():
        ids.append(f"r:{region}")
        labels.append(region)
        parents.append(root)
        values.append(value)
    values[0] = sum(regions.values())
    return _figure([go.Sunburst(ids=ids, labels=labels, parents=parents, values=values,
                                branchvalues="total", insidetextfont={"size": 18})],
                   title, sunburstcolorway=PALETTE)


def trend(title: str, days: Sequence[Mapping], names: Mapping[str, str]) -> go.Figure:
    """Mean CPU and memory use per day, in percent."""
    traces = [go.Scatter(x=[str(d["day"]) for d in days], y=[d[key] for d in days],
                         name=names[key], mode="lines+markers" if len(days) < 15 else "lines",
                         line={"width": 4, "color": colour})
              for key, colour in (("cpu", PALETTE[0]), ("memory", PALETTE[2]))]
    return _figure(traces, title, yaxis={"ticksuffix": "%", "rangemode": "tozero"},
                   legend={"orientation": "h", "y": 1.08, "x": 0.5})


def composition(title: str, parts: Sequence[Mapping], domestic_share: float | None,
                domestic_label: str) -> go.Figure:
    """Cores by CPU architecture and vendor, with the domestic (信创) share in the middle."""
    share = "—" if domestic_share is None else f"{domestic_share * 100:.1f}%"
    pie = go.Pie(labels=[f"{p['vendor']} ({p['arch']})" for p in parts],
                 values=[p["cores"] for p in parts], hole=0.55, sort=False,
                 marker={"colors": PALETTE}, textinfo="percent", textfont={"size": 18})
    return _figure([pie], title, legend={"font": {"size": 15}}, annotations=[
        {"text": f"{domestic_label}<br><b>{share}</b>", "showarrow": False,
         "font": {"size": 26}}])


def kpi_bars(title: str, kpis: Mapping[str, Mapping], names: Mapping[str, str]) -> go.Figure:
    """Each KPI as a bar of its value with its target marked; met in green, short in red."""
    keys = [k for k in names if k in kpis]
    values = [(kpis[k].get("value") or 0) * 100 for k in keys]
    targets = [(kpis[k].get("target") or 0) * 100 for k in keys]
    colours = [GOOD if kpis[k].get("met") else BAD for k in keys]
    traces = [go.Bar(y=[names[k] for k in keys], x=values, orientation="h",
                     marker={"color": colours}, text=[f"{v:.1f}%" for v in values],
                     textposition="outside", name=""),
              go.Scatter(y=[names[k] for k in keys], x=targets, mode="markers",
                         marker={"symbol": "line-ns-open", "size": 36, "color": "#fff",
                                 "line": {"width": 4}}, name="target")]
    return _figure(traces, title, showlegend=False,
                   xaxis={"range": [0, 110], "ticksuffix": "%"}, yaxis={"autorange": "reversed"})


def idle_bars(title: str, departments: Sequence[Mapping], money: Callable[[float], str]
              ) -> go.Figure:
    """The departments with the most investment in idle resources."""
    bars = go.Bar(y=[d["name"] for d in departments], x=[d["amount"] for d in departments],
                  orientation="h", marker={"color": PALETTE[3]},
                  text=[money(d["amount"]) for d in departments], textposition="auto")
    return _figure([bars], title, yaxis={"autorange": "reversed"}, xaxis={"visible": False})


def migration(title: str, counts: Mapping[str, int], names: Mapping[str, str]) -> go.Figure:
    """Systems by migration state and networks by integration state, as stacked bars."""
    traces = [go.Bar(x=[counts.get(key, 0)], y=[""], orientation="h", name=name,
                     marker={"color": PALETTE[index % len(PALETTE)]},
                     text=[counts.get(key, 0) or ""], textposition="inside")
              for index, (key, name) in enumerate(names.items())]
    return _figure(traces, title, barmode="stack", xaxis={"visible": False},
                   legend={"orientation": "h", "y": -0.1})
