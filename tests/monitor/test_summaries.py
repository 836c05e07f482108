"""Daily utilization summaries from a day of series, on the embedded store and InfluxDB."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from collectors.base import Fact, Sample
from ledger.models import SummaryDay, UtilizationDay
from ledger.observed import record_facts
from ledger.status import register_targets
from ledger.utilization import describe, percentile
from monitor.store import open_store
from monitor.summaries import day_bounds, summarize

ZONE = "Asia/Shanghai"
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)
DAY = NOW.astimezone(ZoneInfo(ZONE)).date() - dt.timedelta(days=1)
RETENTION = {"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400}
UUID = "5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11"


@pytest.fixture(params=["embedded", "influxdb"])
def store(request, tmp_path):
    if request.param == "embedded":
        store = open_store("embedded", path=tmp_path / "tsdb", retention=RETENTION)
    else:
        server = request.getfixturevalue("influx_server")
        store = open_store(server.store_url(request.getfixturevalue("influx_db")),
                           path=None, retention=RETENTION)
    yield store
    store.close()


def day_of_samples():
    start, _end = day_bounds(DAY, ZONE)
    samples = []
    for minute in range(1440):
        ns = int((start + minute * 60 + 5) * 1e9)
        host = {"target": "h1"}
        samples += [
            Sample("cpu", {**host, "cpu": "cpu-total"},
                   {"usage_percent": 90.0 if minute % 20 == 0 else 10.0}, ns),
            Sample("cpu", {**host, "cpu": "cpu0"}, {"usage_percent": 100.0}, ns),
            Sample("mem", host, {"used_percent": 40.0}, ns),
            Sample("net", {**host, "interface": "eth0"}, {"rx_bytes_per_second": 1000.0}, ns),
            Sample("net", {**host, "interface": "eth1"}, {"rx_bytes_per_second": 500.0}, ns),
            Sample("disk", {**host, "path": "/"}, {"used_percent": 30.0}, ns),
            Sample("disk", {**host, "path": "/data"}, {"used_percent": 70.0}, ns)]
        if minute < 720:   # a guest that ran half the day
            samples.append(Sample("vm", {"target": "kvm", "domain": "web1", "uuid": UUID},
                                  {"cpu_usage_percent": 2.0, "memory_used_bytes": 2**30,
                                   "memory_bytes": 4 * 2**30}, ns))
    return samples


def test_percentiles_and_description():
    assert percentile([5, 1, 3, 2, 4], 0.95) == 5 and percentile(list(range(1, 101)), 0.95) == 95
    assert describe([10.0] * 19 + [90.0]) == {"mean": 14.0, "p95": 10.0, "max": 90.0}


def test_a_day_becomes_one_row_per_resource(store, ledger):
    store.write(day_of_samples())
    with ledger.session() as session:
        register_targets(session, {"h1": ("host", 60.0), "kvm": ("libvirt", 60.0)})
        record_facts(session, source="h1", collector="host", seen_at=NOW,
                     facts=[Fact("host", {"hostname": "h1"}, {})])
        record_facts(session, source="kvm", collector="libvirt", seen_at=NOW,
                     facts=[Fact("instance", {"instance_uuid": UUID, "hostname": "web1"}, {}),
                            Fact("hypervisor", {"hostname": "kvm"}, {})])
        session.commit()
    written = summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=NOW, days_back=3)
    assert DAY in written
    with ledger.engine.connect() as conn:
        rows = {r.asset_id: r for r in conn.execute(
            select(UtilizationDay).where(UtilizationDay.day == DAY))}
        assert conn.execute(select(SummaryDay.resources).where(SummaryDay.day == DAY)
                            ).scalar_one() == 2
    host, guest = sorted(rows.values(), key=lambda r: r.asset_id)
    assert (host.cpu_mean, host.cpu_p95, host.cpu_max) == (14.0, 10.0, 90.0)
    assert (host.memory_mean, host.net_in_mean, host.net_in_max) == (40.0, 12000.0, 12000.0)
    assert (host.disk_mean, host.coverage, host.low_coverage) == (70.0, 1.0, False)
    assert host.net_out_mean is None
    assert (guest.cpu_mean, guest.memory_p95, guest.coverage, guest.low_coverage) == (
        2.0, 25.0, 0.5, True)
    # Done days are not redone; asking for a day again rewrites it without duplicates.
    assert DAY not in summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=NOW,
                                days_back=3)
    summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=NOW, days_back=3, redo=[DAY])
    with ledger.engine.connect() as conn:
        assert len(conn.execute(select(UtilizationDay).where(UtilizationDay.day == DAY)
                                ).all()) == 2


def test_generated_history_is_summarized_as_demo_rows(ledger, tmp_path):
    """A generated history (one point every 10 minutes, a source that is no configured
    target) is covered by its own step, kept as demo rows, and redone in place."""
    store = open_store("embedded", path=tmp_path / "tsdb", retention=RETENTION)
    start, _end = day_bounds(DAY, ZONE)
    store.write([Sample("cpu", {"target": "gen", "cpu": "cpu-total", "demo": "true"},
                        {"usage_percent": 3.0}, int((start + n * 600) * 1e9))
                 for n in range(144)])
    with ledger.session() as session:
        record_facts(session, source="gen", collector="host", seen_at=NOW,
                     facts=[Fact("host", {"hostname": "gen"}, {})])
        session.commit()
    try:
        for _ in range(2):
            written = summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=NOW,
                                days_back=3, redo=[DAY], demo=True, intervals={"gen": 600})
            assert DAY in written
        undeclared = summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=NOW,
                               days_back=3, redo=[DAY])
        assert DAY in undeclared
    finally:
        store.close()
    with ledger.engine.connect() as conn:
        rows = list(conn.execute(select(UtilizationDay).where(UtilizationDay.day == DAY)))
    # Without the history's step the same points cover a tenth of the day; the production
    # pass keeps the demo row (the day is the demo's) rather than a second, non-demo one.
    assert len(rows) == 1 and rows[0].demo and rows[0].coverage == 1.0
    assert rows[0].cpu_mean == 3.0 and not rows[0].low_coverage
