"""Each rule kind fires and resolves against real collector data.

- threshold: the host collector (psutil) into the embedded store and into a real influxd;
  a UPS recording served by snmpsim through the SNMP collector;
- target_state and absence: a real node_exporter polled by the scheduler's own code, stopped
  and started again;
- ledger_event: the host's own facts reconciled into an undeclared finding of a department;
- health: the scheduler's published heartbeat.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

import collectors.all  # noqa: F401  (registers the collectors)
from alerts.config import parse_alerts
from alerts.engine import AlertEngine
from collectors import get_collector
from ledger.alert_tables import alert, alert_event
from monitor.scheduler import Monitor
from monitor.store import open_store
from tests.alerts.helpers import settings_with
from tests.conftest import SHARED
from tests.servers import NodeExporterServer, SnmpSimServer

UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def states(ledger, rule: str) -> dict[str, str]:
    """Target (or other identifying label) -> state of the rule's alerts."""
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(alert.c.labels, alert.c.state).where(alert.c.rule == rule))
        return {labels.get("target") or labels.get("metric") or labels.get("finding_kind", "?"):
                state for labels, state in rows}


def engine_for(tmp_path, ledger, store, rules: list[dict], **extra) -> AlertEngine:
    settings = settings_with(tmp_path, {"rules": rules, **extra}, ledger.url,
                             **extra.pop("top", {}))
    return AlertEngine(settings, parse_alerts(settings), ledger.engine, store)


def host_samples():
    collector = get_collector("host")("srv-1", {}, 10)
    obs = collector.collect()
    for sample in obs.samples:
        sample.tags["target"] = "srv-1"
    return obs


@pytest.fixture(params=["embedded", "influxdb"])
def store(request, tmp_path):
    if request.param == "embedded":
        store = open_store("embedded", path=tmp_path / "tsdb")
    else:
        server = request.getfixturevalue("influx_server")
        database = request.getfixturevalue("influx_db")
        store = open_store(server.store_url(database), path=None)
    yield store
    store.close()


def test_threshold_fires_after_for_and_resolves(ledger, tmp_path, store):
    obs = host_samples()
    assert store.write(obs.samples) > 0
    used = next(s.fields["used_percent"] for s in obs.samples if s.measurement == "mem")
    rules = [{"name": "mem_high", "kind": "threshold", "measurement": "mem",
              "field": "used_percent", "agg": "last", "window": "5m", "op": ">",
              "value": used - 1, "for": "1m", "severity": "critical",
              "summary": {"zh": "{target} 内存使用率 {value}%", "en": "{target} memory {value}%"}},
             {"name": "mem_expr", "kind": "threshold", "measurement": "mem",
              "expr": "(total_bytes - available_bytes) / total_bytes * 100", "window": "5m",
              "op": ">", "value": 0},
             {"name": "mem_low", "kind": "threshold", "measurement": "mem",
              "field": "used_percent", "agg": "max", "window": "5m", "op": ">",
              "value": used + 50},
             {"name": "mem_absent", "kind": "absence", "measurement": "mem",
              "field": "used_percent", "window": "5m"}]
    engine = engine_for(tmp_path, ledger, store, rules)
    start = now()
    engine.evaluate(start)
    assert states(ledger, "mem_high") == {"srv-1": "pending"}
    assert states(ledger, "mem_expr") == {"srv-1": "firing"}
    assert states(ledger, "mem_low") == {}
    engine.evaluate(start + dt.timedelta(seconds=61))
    assert states(ledger, "mem_high") == {"srv-1": "firing"}
    with ledger.engine.connect() as conn:
        value = conn.execute(select(alert.c.value).where(alert.c.rule == "mem_high")).scalar()
    assert value == pytest.approx(used)
    assert states(ledger, "mem_absent") == {}
    engine.evaluate(start + dt.timedelta(minutes=6))     # the samples left the window
    assert states(ledger, "mem_high") == {"srv-1": "resolved"}
    assert states(ledger, "mem_absent") == {"srv-1": "firing"}   # a known series went quiet
    with ledger.engine.connect() as conn:
        history = [row.state for row in conn.execute(select(alert_event.c.state).join(
            alert, alert.c.id == alert_event.c.alert_id).where(alert.c.rule == "mem_high")
            .order_by(alert_event.c.at))]
    assert history == ["pending", "firing", "resolved"]

def test_a_rule_removed_from_the_configuration_resolves_its_alerts(ledger, tmp_path,
                                                                  embedded_store):
    embedded_store.write(host_samples().samples)
    rule = {"name": "mem_any", "kind": "threshold", "measurement": "mem",
            "field": "total_bytes", "op": ">", "value": 0, "agg": "last"}
    engine_for(tmp_path, ledger, embedded_store, [rule]).evaluate()
    assert states(ledger, "mem_any") == {"srv-1": "firing"}
    engine_for(tmp_path, ledger, embedded_store, []).evaluate()
    assert states(ledger, "mem_any") == {"srv-1": "resolved"}
    with ledger.engine.connect() as conn:
        notes = conn.execute(select(alert_event.c.note).where(alert_event.c.state == "resolved"))
        assert notes.scalars().all() == ["rule removed from the configuration"]


def test_a_store_outage_keeps_alerts_as_they_are(ledger, tmp_path, influx_server):
    store = open_store(influx_server.store_url("t_outage"), path=None)
    store.write(host_samples().samples)
    engine = engine_for(tmp_path, ledger, store, [{
        "name": "mem_any", "kind": "threshold", "measurement": "mem", "field": "total_bytes",
        "op": ">", "value": 0, "agg": "last"}])
    engine.evaluate()
    assert states(ledger, "mem_any") == {"srv-1": "firing"}
    broken = open_store("influxdb://127.0.0.1:1/t_outage", path=None, timeout=0.5)
    engine.store = broken
    result = engine.evaluate()
    assert result.failed == ["mem_any"] and states(ledger, "mem_any") == {"srv-1": "firing"}
    broken.close()
    store.close()


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory):
    server = SnmpSimServer(tmp_path_factory.mktemp("snmpsim"),
                           [SHARED / "fixtures" / "snmprec"], "apc_smx750i").start()
    yield server
    server.stop()


def test_ups_recording_through_snmp(ledger, tmp_path, snmpsim, embedded_store):
    collector = get_collector("snmp")("ups-1", {"host": "127.0.0.1", "port": snmpsim.port,
                                                "community": "apc_smx750i"}, 10)
    obs = collector.collect()
    for sample in obs.samples:
        sample.tags.update(target="ups-1", datacenter="DC01")
    embedded_store.write(obs.samples)
    engine = engine_for(tmp_path, ledger, embedded_store, [
        {"name": "ups_battery_hot", "kind": "threshold", "measurement": "ups",
         "field": "battery_temperature_celsius", "agg": "last", "window": "5m", "op": ">",
         "value": 30, "scope": {"data_center": "DC01"}},
        {"name": "ups_overloaded", "kind": "threshold", "measurement": "ups_output",
         "field": "load_percent", "agg": "max", "window": "5m", "op": ">", "value": 80},
        {"name": "ups_other_dc", "kind": "threshold", "measurement": "ups",
         "field": "battery_temperature_celsius", "op": ">", "value": 30,
         "scope": {"data_center": "DC02"}}])
    engine.evaluate()
    assert states(ledger, "ups_battery_hot") == {"ups-1": "firing"}   # recorded: 31 °C
    assert states(ledger, "ups_overloaded") == {}                     # recorded: 20.2 %
    assert states(ledger, "ups_other_dc") == {}
    with ledger.engine.connect() as conn:
        row = conn.execute(select(alert).where(alert.c.rule == "ups_battery_hot")).mappings().one()
    assert (row["value"], row["data_center"]) == (31.0, "DC01")
    engine.evaluate(now() + dt.timedelta(minutes=10))
    assert states(ledger, "ups_battery_hot") == {"ups-1": "resolved"}


def test_target_state_and_absence_with_node_exporter(ledger, tmp_path, embedded_store, chat):
    exporter = NodeExporterServer(tmp_path / "node").start()
    try:
        settings = settings_with(tmp_path, {
            "rules": [{"name": "target_down", "kind": "target_state", "state": "down",
                       "severity": "critical"},
                      {"name": "no_memory_data", "kind": "absence", "measurement": "mem",
                       "field": "total_bytes", "window": "3s"}],
            "route": {"receiver": "ops", "group_wait": "0s", "group_interval": "1s",
                      "group_by": ["alertname"]},
            "receivers": [{"name": "ops", "webhook": [{"url": chat.urls()["webhook"],
                                                       "bearer_token": "hook-token"}]}]},
            ledger.url, targets=[{"name": "node-1", "kind": "prometheus", "timeout": "2s",
                                  "tags": {"datacenter": "DC01", "department": "D01"},
                                  "options": {"url": exporter.url}}])
        engine = AlertEngine(settings, parse_alerts(settings), ledger.engine, embedded_store)

        def poll_and_evaluate():
            Monitor(settings, ledger, embedded_store).poll_once()
            engine.evaluate()
            engine.dispatch()
            engine.deliver()

        poll_and_evaluate()
        assert states(ledger, "target_down") == {} and states(ledger, "no_memory_data") == {}
        exporter.stop()
        time.sleep(3.5)
        poll_and_evaluate()
        assert states(ledger, "target_down") == {"node-1": "firing"}
        assert states(ledger, "no_memory_data") == {"node-1": "firing"}
        exporter.start()
        time.sleep(1.1)                  # the group is looked at again after group_interval
        poll_and_evaluate()
        assert states(ledger, "target_down") == {"node-1": "resolved"}
        assert states(ledger, "no_memory_data") == {"node-1": "resolved"}
    finally:
        exporter.stop()
    down = [m["body"] for m in chat.of("webhook")
            if m["body"]["groupLabels"]["alertname"] == "target_down"]
    assert [b["status"] for b in down] == ["firing", "resolved"]     # down, then recovered
    assert down[0]["alerts"][0]["labels"]["datacenter"] == "DC01"
    assert "node-1" in down[0]["alerts"][0]["annotations"]["summary"]


def test_ledger_event_from_a_real_finding(ledger, tmp_path, embedded_store):
    from ledger import findings
    from ledger.census.service import CensusService
    from ledger.census.snapshot import Scope
    from ledger.observed import record_facts
    from ledger.policy import ReconcilePolicy
    from ledger.reconcile import store as reconcile_store

    census = CensusService(ledger.engine, actor="test")
    census.create("department", {"code": "D01", "name": "大数据局"})
    census.create("department", {"code": "D02", "name": "财政局"})
    obs = get_collector("host")("srv-1", {}, 10).collect()
    with ledger.session() as session:
        record_facts(session, source="srv-1", collector="host", facts=obs.facts,
                     tags={"department": "D01"}, seen_at=now())
        session.commit()
    reconcile_store.run(ledger.engine, ReconcilePolicy())
    engine = engine_for(tmp_path, ledger, embedded_store, [
        {"name": "new_undeclared", "kind": "ledger_event", "findings": ["undeclared"]},
        {"name": "d02_only", "kind": "ledger_event", "findings": ["undeclared"],
         "scope": {"department": "D02"}}])
    engine.evaluate()
    assert states(ledger, "new_undeclared") == {"undeclared": "firing"}
    assert states(ledger, "d02_only") == {}
    with ledger.engine.connect() as conn:
        row = conn.execute(select(alert).where(alert.c.rule == "new_undeclared")).mappings().one()
        [finding] = findings.listing(conn, Scope.everything(), kind="undeclared")
    assert row["department"] == "D01" and row["department_id"] is not None
    findings.transition(ledger.engine, finding["id"], "resolved", actor="li.si",
                        reason="declared in the next census round")
    engine.evaluate()
    assert states(ledger, "new_undeclared") == {"undeclared": "resolved"}


def test_health_of_the_monitor_itself(ledger, tmp_path, embedded_store):
    settings = settings_with(tmp_path, {"rules": [
        {"name": "scheduler_silent", "kind": "health", "metric":
         "scheduler_heartbeat_age_seconds", "op": ">", "value": 1},
        {"name": "spool_backlog", "kind": "health", "metric": "spool_depth_samples",
         "op": ">", "value": 1000}]}, ledger.url, targets=[])
    monitor = Monitor(settings, ledger, embedded_store)
    monitor.publish_stats()
    engine = AlertEngine(settings, parse_alerts(settings), ledger.engine, embedded_store)
    engine.evaluate()
    assert states(ledger, "scheduler_silent") == {} and states(ledger, "spool_backlog") == {}
    time.sleep(1.5)                       # the scheduler does not report
    engine.evaluate()
    assert states(ledger, "scheduler_silent") == {"scheduler_heartbeat_age_seconds": "firing"}
    monitor.publish_stats()
    engine.evaluate()
    assert states(ledger, "scheduler_silent") == {"scheduler_heartbeat_age_seconds": "resolved"}
