"""``/metrics`` (Prometheus text format) and ``/healthz``.

Both are open on loopback and need a token (``metrics.read``: operators, the system
administrator) elsewhere, or as ``security.metrics`` / ``security.healthz`` say. Neither
names a department: targets and process figures only.

The figures are read from the ledger, where the scheduler process writes them
after every poll and every few seconds, so any web process (also a gunicorn
worker apart from the scheduler) exposes the same numbers.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from sqlalchemy import text

from dashboards.access import open_per, requires
from dashboards.resources import get_ledger
from ledger.identity.roles import METRICS_READ
from ledger.status import runtime_stats, target_states
from ledger.zones import zone_collectors

bp = Blueprint("metrics", __name__)
PREFIX = "infraledger_"
#: A scheduler whose heartbeat is older than this is reported as not running.
HEARTBEAT_STALE_SECONDS = 30

# runtime_stat name -> (metric family type, help text)
RUNTIME = {
    "store_queue_depth": ("gauge", "Samples waiting to be written to the time-series store."),
    "store_written_points_total": ("counter", "Samples written to the time-series store."),
    "store_write_errors_total": ("counter", "Failed time-series store writes (retried)."),
    "store_dropped_samples_total": ("counter",
                                    "Samples lost: spool append failed or cap reached."),
    "store_last_write_seconds": ("gauge", "Duration of the last store write."),
    "store_bytes": ("gauge", "Size of the embedded store on disk."),
    "store_series": ("gauge", "Series in the embedded store."),
    "store_requests_total": ("counter", "HTTP requests sent to InfluxDB."),
    "store_request_errors_total": ("counter",
                                   "InfluxDB requests unanswered or answered with an error."),
    "spool_depth_samples": ("gauge", "Samples spooled and not yet stored."),
    "spool_depth_bytes": ("gauge", "Bytes of line protocol spooled and not yet stored."),
    "spool_bytes": ("gauge", "Size of the spool's segment files on disk."),
    "spool_segments": ("gauge", "Segment files in the spool."),
    "spool_oldest_age_seconds": ("gauge", "Age of the oldest sample not yet stored."),
    "spool_appended_samples_total": ("counter", "Samples appended to the spool."),
    "spool_acked_samples_total": ("counter", "Spooled samples the store acknowledged."),
    "spool_replayed_samples_total": ("counter",
                                     "Samples from an earlier run sent after a restart."),
    "spool_dropped_samples_total": ("counter", "Unsent samples dropped by the size/age cap."),
    "spool_rejected_batches_total": ("counter", "Batches the store refused, set aside."),
    "spool_rejected_samples_total": ("counter", "Samples in batches set aside."),
    "spool_write_errors_total": ("counter", "Spool appends that failed (disk full, I/O)."),
    "spool_write_failing": ("gauge", "1 while spool appends fail (until one succeeds)."),
    "spool_ack_write_errors_total": ("counter", "Spool ack files that could not be written."),
    "ledger_pending_fact_sources": ("gauge", "Sources whose facts wait for a ledger retry."),
    "ledger_pending_facts": ("gauge", "Facts waiting for a ledger retry."),
    "ledger_fact_write_errors_total": ("counter", "Ledger writes of facts that failed."),
    "ledger_retried_facts_total": ("counter", "Facts written by a retry."),
    "ledger_dropped_facts_total": ("counter",
                                   "Pending facts dropped: too many sources waiting."),
    "scheduler_targets": ("gauge", "Targets the scheduler polls."),
    "scheduler_heartbeat_timestamp_seconds": ("gauge", "When the scheduler last reported."),
    "scheduler_start_timestamp_seconds": ("gauge", "When the scheduler started."),
    "alerts_rules": ("gauge", "Alert rules evaluated."),
    "alerts_rules_failing": ("gauge", "Alert rules whose source could not be read."),
    "alerts_evaluation_seconds": ("gauge", "Duration of the last alert evaluation."),
}


class LedgerMetrics:
    """A prometheus_client collector over the ledger's target state and runtime figures."""

    def __init__(self, ledger) -> None:
        self.ledger = ledger

    def collect(self):
        """Yield metric families for every target and runtime figure."""
        with self.ledger.session() as session:
            states = target_states(session)
            stats = runtime_stats(session)
            alerts = _alert_families(session)
            collectors = zone_collectors(session)
        yield from _target_families(states)
        yield from _runtime_families(stats)
        yield from alerts
        yield from _zone_families(collectors)


def _alert_families(session):
    """Alerts by state and notifications by delivery state (no labels of the alerts, so no
    department appears here)."""
    from sqlalchemy import func, select

    from ledger.alert_tables import alert, alert_outbox
    alerts = GaugeMetricFamily(PREFIX + "alerts", "Alerts by state.", labels=["state"])
    for state, count in session.execute(select(alert.c.state, func.count())
                                        .group_by(alert.c.state)):
        alerts.add_metric([state], count)
    outbox = GaugeMetricFamily(PREFIX + "alert_notifications",
                               "Alert notifications by delivery state.", labels=["status"])
    for status, count in session.execute(select(alert_outbox.c.status, func.count())
                                         .group_by(alert_outbox.c.status)):
        outbox.add_metric([status], count)
    return [alerts, outbox]


def _target_families(states):
    labels = ["target", "kind"]
    up = GaugeMetricFamily(PREFIX + "target_up", "1 if the last poll succeeded.", labels=labels)
    last = GaugeMetricFamily(PREFIX + "poll_last_duration_seconds",
                             "Duration of the last poll.", labels=labels)
    when = GaugeMetricFamily(PREFIX + "poll_last_timestamp_seconds",
                             "When the target was last polled.", labels=labels)
    duration = SummaryMetricFamily(PREFIX + "poll_duration_seconds", "Poll durations.",
                                   labels=labels)
    polls = CounterMetricFamily(PREFIX + "polls", "Polls run.", labels=labels)
    failures = CounterMetricFamily(PREFIX + "poll_failures", "Polls that failed or timed out.",
                                   labels=labels)
    samples = CounterMetricFamily(PREFIX + "samples", "Samples produced by polls.", labels=labels)
    for s in states:
        values = [s.name, s.kind]
        if s.up is not None:
            up.add_metric(values, 1.0 if s.up else 0.0)
        if s.duration_seconds is not None:
            last.add_metric(values, s.duration_seconds)
        if s.last_poll is not None:
            when.add_metric(values, s.last_poll.timestamp())
        duration.add_metric(values, count_value=s.polls_total, sum_value=s.duration_seconds_total)
        polls.add_metric(values, s.polls_total)
        failures.add_metric(values, s.failures_total)
        samples.add_metric(values, s.samples_total)
    return [up, last, when, duration, polls, failures, samples]


def _zone_families(collectors):
    """Each zone collector's last contact and backlog, to alert on a silent zone."""
    labels = ["zone", "member"]
    contact = GaugeMetricFamily(PREFIX + "zone_collector_last_contact_timestamp_seconds",
                                "When a zone collector last reached the center.", labels=labels)
    samples = GaugeMetricFamily(PREFIX + "zone_collector_backlog_samples",
                                "Samples a zone collector holds for the store.", labels=labels)
    records = GaugeMetricFamily(PREFIX + "zone_collector_backlog_records",
                                "Poll outcomes and facts a zone collector holds for the center.",
                                labels=labels)
    owned = GaugeMetricFamily(PREFIX + "zone_collector_targets", "Targets it polls.",
                              labels=labels)
    for row in collectors:
        values = [row.zone, row.member]
        contact.add_metric(values, row.last_contact.timestamp())
        samples.add_metric(values, row.backlog_samples)
        records.add_metric(values, row.backlog_records)
        owned.add_metric(values, row.targets_owned)
    return [contact, samples, records, owned]


def _runtime_families(stats):
    families = []
    for name, (kind, doc) in RUNTIME.items():
        if name not in stats:
            continue
        if kind == "counter":
            family = CounterMetricFamily(PREFIX + name.removesuffix("_total"), doc)
        else:
            family = GaugeMetricFamily(PREFIX + name, doc)
        family.add_metric([], stats[name].value)
        families.append(family)
    if "store_write_seconds_count" in stats:
        write = SummaryMetricFamily(PREFIX + "store_write_duration_seconds",
                                    "Time-series store write latency.")
        write.add_metric([], count_value=stats["store_write_seconds_count"].value,
                         sum_value=stats["store_write_seconds_sum"].value)
        families.append(write)
    return families


@bp.get("/metrics")
@open_per("metrics")
@requires(METRICS_READ)
def metrics():
    """Prometheus exposition of poll, store and scheduler figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerMetrics(get_ledger()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/healthz")
@open_per("healthz")
@requires(METRICS_READ)
def healthz():
    """200 when the ledger answers and nothing is being lost; 503 otherwise.

    Unhealthy: the ledger does not answer, the spool cannot append (samples are
    being dropped, e.g. a full disk), or a scheduler that reported stopped doing so.
    """
    try:
        with get_ledger().session() as session:
            session.execute(text("SELECT 1"))
            stats = runtime_stats(session)
    except Exception as exc:  # noqa: BLE001 - report, do not raise, on a health check
        return jsonify({"status": "error", "ledger": f"{type(exc).__name__}: {exc}"}), 503
    beat = stats.get("scheduler_heartbeat_timestamp_seconds")
    age = None if beat is None else round(time.time() - beat.value, 1)
    scheduler = "not reporting" if age is None or age > HEARTBEAT_STALE_SECONDS else "running"
    failing = stats.get("spool_write_failing")
    spool = "write failing" if failing is not None and failing.value else "ok"
    healthy = spool == "ok" and (age is None or scheduler == "running")
    return jsonify({"status": "ok" if healthy else "error", "ledger": "ok",
                    "scheduler": scheduler, "scheduler_heartbeat_age_seconds": age,
                    "spool": spool}), 200 if healthy else 503
