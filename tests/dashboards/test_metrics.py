"""/metrics in Prometheus text format, and /healthz."""

from __future__ import annotations

import datetime as dt
import time

from prometheus_client.parser import text_string_to_metric_families

from ledger.status import set_runtime_stats
from tests.dashboards.test_operator import poll

UTC = dt.timezone.utc


def samples_of(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_expose_polls_and_store_figures(client, ledger):
    poll(ledger)
    poll(ledger, status="error", error="boom")
    with ledger.session() as session:
        set_runtime_stats(session, {"store_queue_depth": 7, "store_write_seconds_sum": 0.5,
                                    "store_write_seconds_count": 10,
                                    "store_written_points_total": 1234}, dt.datetime.now(UTC))
        session.commit()
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    got = samples_of(response.get_data(as_text=True))
    labels = (("kind", "host"), ("target", "local"))
    assert got[("infraledger_polls_total", labels)] == 2
    assert got[("infraledger_poll_failures_total", labels)] == 1
    assert got[("infraledger_samples_total", labels)] == 22
    assert got[("infraledger_target_up", labels)] == 0
    assert abs(got[("infraledger_poll_duration_seconds_sum", labels)] - 0.246) < 1e-9
    assert got[("infraledger_store_queue_depth", ())] == 7
    assert got[("infraledger_store_write_duration_seconds_count", ())] == 10
    assert got[("infraledger_store_written_points_total", ())] == 1234


def test_healthz_reports_the_scheduler(client, ledger):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["scheduler"] == "not reporting"
    with ledger.session() as session:
        set_runtime_stats(session, {"scheduler_heartbeat_timestamp_seconds": time.time()},
                          dt.datetime.now(UTC))
        session.commit()
    assert client.get("/healthz").get_json()["scheduler"] == "running"


def publish(ledger, **stats):
    with ledger.session() as session:
        set_runtime_stats(session, stats, dt.datetime.now(UTC))
        session.commit()


def test_healthz_is_unhealthy_while_spool_appends_fail(client, ledger):
    publish(ledger, scheduler_heartbeat_timestamp_seconds=time.time(), spool_write_failing=1,
            spool_write_errors_total=3)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert (body["status"], body["spool"]) == ("error", "write failing")
    assert samples_of(client.get("/metrics").get_data(as_text=True))[
        ("infraledger_spool_write_failing", ())] == 1
    publish(ledger, spool_write_failing=0)
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json()["spool"] == "ok"


def test_healthz_is_unhealthy_when_a_scheduler_stops_reporting(client, ledger):
    publish(ledger, scheduler_heartbeat_timestamp_seconds=time.time() - 600)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["scheduler"] == "not reporting"
