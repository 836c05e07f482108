"""Figure builders and fact formatting are pure functions: data in, figure or text out."""

from __future__ import annotations

import datetime as dt

from dashboards import facts, figures
from dashboards.charts import charts_for
from monitor.store.base import SeriesKey

ZONE = "Asia/Shanghai"


def test_counters_become_rates_and_resets_leave_no_spike():
    points = [(0, 100.0), (10, 200.0), (20, 400.0), (30, 50.0), (40, 150.0)]
    assert figures.counter_rates(points) == [(10, 10.0), (20, 20.0), (40, 10.0)]
    assert figures.counter_rates([(0, 1.0)]) == []


def test_field_kinds():
    assert figures.field_kind("oper_up") == "state"
    assert figures.field_kind("rx_bytes") == "counter"
    assert figures.field_kind("requests_total") == "counter"
    assert figures.field_kind("rx_bytes_per_second") == "gauge"
    assert figures.field_kind("temperature_celsius") == "gauge"


def test_charts_skip_raw_counters_with_a_stored_rate():
    keys = [SeriesKey("interface", (("ifname", "GE1"), ("target", "sw")), field)
            for field in ("rx_bytes", "rx_bytes_per_second", "rx_packets", "oper_up",
                          "admin_up", "rx_utilization_percent")]
    specs = {(s.field, s.kind) for s in charts_for(keys)}
    assert ("rx_bytes", "rate") not in specs and ("rx_bytes", "gauge") not in specs
    assert ("rx_packets", "rate") in specs          # no stored rate: drawn as one
    assert ("oper_up", "state") in specs and ("admin_up", "state") in specs
    assert ("rx_utilization_percent", "gauge") in specs


def test_a_new_target_gets_a_fitted_range_and_finer_interval():
    end = 1_000_000.0
    start, interval = figures.pick_interval(7 * 86400, 3600, end - 600, end)
    assert start == end - 600 and interval == 10.0
    assert figures.pick_interval(86400, 300, end - 2 * 86400, end) == (end - 86400, 300)
    assert figures.pick_interval(86400, 300, None, end) == (end - 86400, 300)
    # Three hours in a week's chart: 180 s buckets (three 60 s polls each), not 181 s.
    assert figures.pick_interval(7 * 86400, 3600, end - 3 * 3600 - 60, end) == \
        (end - 3 * 3600 - 60, 300)
    assert figures.pick_interval(7 * 86400, 3600, end - 3 * 3600, end)[1] == 180


def test_line_chart_marks_few_points_and_names_the_zone():
    figure = figures.line_chart("CPU", [("cpu", [(0, 1.0), (60, 2.0)])], "%", ZONE, "时间")
    assert figure.data[0].mode == "lines+markers"
    assert figure.layout.xaxis.title.text == "时间 · Asia/Shanghai (UTC+08:00)"
    many = figures.line_chart("CPU", [("cpu", [(i, 1.0) for i in range(100)])], "%", ZONE, "t")
    assert many.data[0].mode == "lines"


def test_state_timeline_draws_runs():
    points = [(0, 1.0), (60, 1.0), (120, 0.0), (180, 1.0)]
    assert figures.runs(points, 300) == [(0, 120, 1.0), (120, 180, 0.0), (180, 300, 1.0)]
    figure = figures.state_timeline("if", [("GE1", points)], {1.0: "up", 0.0: "down"}, ZONE,
                                    "t", 300)
    assert [bar.x[0] for bar in figure.data] == [120_000.0, 60_000.0, 120_000.0]
    assert [bar.name for bar in figure.data] == ["up", "down", "up"]
    assert [bar.showlegend for bar in figure.data] == [True, True, False]
    assert figure.data[0].base[0] == "1970-01-01T08:00:00"


def test_facts_read_as_people_read_them():
    asset = {"memory_bytes": 512 * 1024 ** 3, "attributes": {
        "boot_time": 1_700_000_000, "uptime_seconds": 90061, "interfaces": [{"name": "x"}],
        "virtual": True, "dns": ["10.0.0.1", "10.0.0.2"]}, "natural_key": "k", "id": 3}
    shown = dict(facts.readable(asset, ZONE, "zh"))
    assert shown["内存"] == "512.0 GiB"
    assert shown["启动时间"] == "2023-11-15 06:13:20 UTC+0800"
    assert shown["运行时长"] == "1 天 1 小时"
    assert shown["virtual"] == "是" and shown["dns"] == "10.0.0.1, 10.0.0.2"
    assert "interfaces" not in shown and "natural key" not in shown
    assert dict(facts.readable(asset, ZONE, "en"))["memory"] == "512.0 GiB"


def test_interfaces_sort_by_number():
    names = [i["name"] for i in facts.interfaces([{"name": n} for n in
                                                   ("GE1/0/10", "GE1/0/2", "GE1/0/1")])]
    assert names == ["GE1/0/1", "GE1/0/2", "GE1/0/10"]


def test_when_names_the_zone():
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert facts.when(moment, ZONE) == "2026-01-01 08:00:00 UTC+0800"
