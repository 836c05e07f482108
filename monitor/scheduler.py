"""The scheduler: polls every target on its interval and routes what it sees.

Each target is an APScheduler interval job with jitter; a job polls through its
:class:`~monitor.poller.RunningTarget` and hands the observation on: samples to
the store writer, facts to the ledger's observed assets, and the poll's outcome
to the ledger's target state. Facts the ledger could not take wait in a
:class:`~monitor.backlog.FactBacklog` and are retried. Housekeeping jobs roll up
the embedded store, retry pending facts and publish runtime figures for ``/metrics``.

The scheduler is started by ``python -m monitor run`` or ``python -m monitor
scheduler``, never inside web workers and never by tests of the web app.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import random
import threading
import time
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DataError

from collectors import Collector, get_collector
from core.observation import STATUS_OK, STATUS_PARTIAL, TARGET_TAG, Observation, Sample
from ledger.analyses import run_daily
from ledger.db import Ledger
from ledger.reconcile import store as reconcile_store
from ledger.observed import record_facts
from ledger.status import PollRecord, record_poll, register_targets, set_runtime_stats
from monitor.backlog import FactBacklog, PendingFacts
from monitor.config import Settings, TargetConfig
from monitor.config_reports import cron_trigger
from monitor.poller import RunningTarget
from monitor.spool import Spool
from monitor.store.base import TimeSeriesStore
from monitor.summaries import summarize
from monitor.writer import StoreWriter

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
STATS_SECONDS = 5
MAINTAIN_SECONDS = 60
#: First analyses a little after the start, once the first polls have landed.
ANALYSIS_DELAY_SECONDS = 60


#: The measurement of each poll's outcome (fields up, duration_seconds, samples).
POLL_MEASUREMENT = "poll"


class Monitor:
    """Owns the targets, the scheduler and the store writer of one process."""

    def __init__(self, settings: Settings, ledger: Ledger | None, store: TimeSeriesStore,
                 collector_factory: Callable[[TargetConfig], Collector] | None = None, *,
                 zone: str | None = None) -> None:
        self.settings = settings
        #: The zone whose targets this process polls (None: every configured target).
        self.zone = zone
        self.ledger = ledger
        self.store = store
        self.writer = StoreWriter(store, Spool(settings.spool_path, **settings.spool))
        workers = max(settings.max_workers, 4)
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="collect")
        factory = collector_factory or _make_collector
        self._factory = factory
        #: Who polls which slot when several schedulers share a zone (None: poll everything).
        self.assignment = None
        self.targets = {t.name: RunningTarget(t, factory(t), self._pool)
                        for t in self.polled_targets(settings)}
        self._scheduler = BackgroundScheduler(
            executors={"default": APThreadPool(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC)
        self._started = time.time()
        self._stats_lock = threading.Lock()
        self.backlog = FactBacklog()
        # A retry of a source's pending facts never runs beside a poll of that source,
        # so older facts cannot overwrite newer ones.
        self._fact_locks = {name: threading.Lock() for name in self.targets}
        self._ledger_failing = False
        self._extra_jobs: list[tuple[str, Callable[[], None], float]] = []

    def add_job(self, job_id: str, func: Callable[[], None], seconds: float) -> None:
        """Run ``func`` every ``seconds`` once started (the alert engine's jobs: the layer
        above hands them in, so the scheduler never imports it)."""
        self._extra_jobs.append((job_id, func, seconds))

    def polled_targets(self, settings: Settings) -> tuple[TargetConfig, ...]:
        """The targets this process polls: those of its zone, or every configured one."""
        if self.zone is None:
            return settings.targets
        return tuple(t for t in settings.targets if t.zone == self.zone)

    def start(self) -> None:
        """Register targets in the ledger and start polling."""
        self._register()
        self.writer.start()
        now = dt.datetime.now(UTC)
        for target in self.targets.values():
            self.add_target_job(target.target, now)
        self._scheduler.add_job(self.maintain_store, IntervalTrigger(seconds=MAINTAIN_SECONDS),
                                id="maintain-store")
        self._scheduler.add_job(self.publish_stats, IntervalTrigger(seconds=STATS_SECONDS),
                                id="publish-stats", next_run_time=now)
        self._scheduler.add_job(self.retry_facts, IntervalTrigger(seconds=STATS_SECONDS),
                                id="retry-facts")
        self._add_analysis_jobs(now)
        for job_id, func, seconds in self._extra_jobs:
            self._scheduler.add_job(func, IntervalTrigger(seconds=seconds), id=job_id,
                                    next_run_time=now + dt.timedelta(seconds=min(seconds, 5)))
        self._scheduler.start()
        _LOGGER.info("Scheduler started with %s targets", len(self.targets))

    def add_target_job(self, target: TargetConfig, now: dt.datetime) -> None:
        """Schedule ``target``'s polls: with jitter alone, or on the slots of its interval
        shared by every member of a zone when an assignment decides who polls."""
        if self.assignment is None:
            # Spread first polls over a second or two so targets do not start in lockstep.
            first = now + dt.timedelta(seconds=random.uniform(0, min(target.jitter, 2)))
            trigger = IntervalTrigger(seconds=target.interval, jitter=target.jitter or None)
            timing = {"next_run_time": first}
        else:
            # The trigger's own next slot (next_run_time=None would add the job paused).
            trigger = IntervalTrigger(seconds=target.interval,
                                      start_date=self.assignment.first_slot(target))
            timing = {}
        self._scheduler.add_job(self.scheduled_poll, trigger, args=[target.name],
                                id=f"target:{target.name}", replace_existing=True, **timing)

    def reload(self, settings: Settings) -> None:
        """Take a changed configuration: targets removed or changed stop, new ones start;
        every other target keeps its schedule (and, in a shared zone, its owner)."""
        wanted = {t.name: t for t in self.polled_targets(settings)}
        now = dt.datetime.now(UTC)
        for name, running in list(self.targets.items()):
            if wanted.get(name) != running.target:
                self._scheduler.remove_job(f"target:{name}")
                del self.targets[name]
                running.close()
        for name, target in wanted.items():
            if name not in self.targets:
                self.targets[name] = RunningTarget(target, self._factory(target), self._pool)
                self._fact_locks.setdefault(name, threading.Lock())
                self.add_target_job(target, now)
        if settings.zone.coordination_url != self.settings.zone.coordination_url or \
                settings.zone.lease_seconds != self.settings.zone.lease_seconds:
            _LOGGER.warning("zone.coordination_url and zone.lease take effect at a restart; "
                            "the running membership stays until then")
        self.settings = settings
        self._register()
        _LOGGER.info("Configuration reloaded: %s targets", len(self.targets))

    def scheduled_poll(self, name: str) -> Observation | None:
        """A scheduled poll: skipped when another member of the zone owns this slot."""
        if self.assignment is not None:
            running = self.targets.get(name)
            if running is None or not self.assignment.claim(running.target, time.time()):
                return None
        return self.poll_target(name)

    def _register(self) -> None:
        """Give every configured target a row of poll state in the ledger."""
        with self.ledger.session() as session:
            register_targets(session, {t.name: (t.kind, t.interval)
                                       for t in self.settings.targets})
            session.commit()

    def poll_once(self, names: list[str] | None = None) -> dict[str, Observation]:
        """Poll the named targets (default: all) once, concurrently, record everything as
        the scheduled polls do, deliver the samples to the store and close the targets."""
        self._register()
        self.writer.start()
        try:
            wanted = names or list(self.targets)
            with concurrent.futures.ThreadPoolExecutor(max(1, min(len(wanted), 32))) as pool:
                polled = dict(zip(wanted, pool.map(self.poll_target, wanted)))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.writer.stop()
            self.publish_stats()
            for target in self.targets.values():
                target.close()
        return polled

    def poll_target(self, name: str) -> Observation:
        """Poll one target and record what it returned."""
        running = self.targets[name]
        obs = running.poll()
        seen_at = dt.datetime.now(UTC)
        # The poll's own outcome is a series too, so pages draw a target's poll history.
        self.writer.submit([*obs.samples, Sample(POLL_MEASUREMENT, {TARGET_TAG: name}, {
            "up": 1.0 if obs.status in (STATUS_OK, STATUS_PARTIAL) else 0.0,
            "duration_seconds": float(obs.duration_seconds or 0.0),
            "samples": float(len(obs.samples))}, int(seen_at.timestamp() * 1e9))])
        if obs.facts:
            self._write_facts(name, PendingFacts(running.target.kind, tuple(obs.facts),
                                                 running.target.tags, seen_at))
        # Apart from the facts, so facts the ledger refuses never hide the poll's outcome.
        self._record_poll(PollRecord(
            name=name, kind=running.target.kind, status=obs.status,
            duration_seconds=obs.duration_seconds, error=obs.error,
            samples=len(obs.samples), at=seen_at, interval_seconds=running.target.interval))
        return obs

    def _record_poll(self, poll: PollRecord) -> None:
        try:
            with self.ledger.session() as session:
                record_poll(session, poll)
                session.commit()
        except Exception:  # noqa: BLE001 - a ledger hiccup must not stop other polls
            _LOGGER.exception("Recording the poll of %s in the ledger failed", poll.name)

    def _add_analysis_jobs(self, now: dt.datetime) -> None:
        """Reconcile every ``reconcile_every``; after each day (at ``daily_at`` local time)
        summarize it and run the daily analyses. A start also catches up on missed days."""
        schedule = self.settings.analysis_schedule
        first = now + dt.timedelta(seconds=ANALYSIS_DELAY_SECONDS)
        self._scheduler.add_job(self.reconcile, IntervalTrigger(
            seconds=schedule.reconcile_every), id="reconcile", next_run_time=first)
        self._scheduler.add_job(self.daily_analyses, CronTrigger(
            hour=schedule.daily_at.hour, minute=schedule.daily_at.minute,
            timezone=self.settings.timezone), id="daily-analyses")
        self._scheduler.add_job(self.summarize, id="summaries-catch-up", next_run_time=first)
        for schedule in self.settings.reports.schedules:
            self._scheduler.add_job(self.mail_report, cron_trigger(
                schedule.cron, self.settings.timezone), args=[schedule.name],
                id=f"report:{schedule.name}")

    def mail_report(self, name: str) -> None:
        """Build and mail the report schedule ``name``."""
        from monitor.report_mail import send_schedule
        schedule = next(s for s in self.settings.reports.schedules if s.name == name)
        try:
            sent = send_schedule(self.settings, self.ledger, schedule)
            _LOGGER.info("Mailed report %s to %s", name, ", ".join(sent["recipients"]))
        except Exception:  # noqa: BLE001 - logged; the next run tries again
            _LOGGER.exception("Mailing report %s failed", name)

    def summarize(self) -> None:
        """Write the daily summaries of finished days still missing."""
        try:
            summarize(self.ledger, self.store, timezone=self.settings.timezone,
                      min_coverage=self.settings.analysis.min_coverage)
        except Exception:  # noqa: BLE001 - retried at the next run
            _LOGGER.exception("Daily summaries failed")

    def reconcile(self) -> None:
        """Reconcile the census with what is observed."""
        try:
            result = reconcile_store.run(self.ledger.engine, self.settings.analysis.reconcile,
                                         algorithm=self.settings.audit_chain)
            _LOGGER.info("Reconciled: %s", result.summary)
        except Exception:  # noqa: BLE001 - retried at the next run
            _LOGGER.exception("Reconciliation failed")

    def daily_analyses(self) -> None:
        """Summaries of the day that ended, then reconciliation, idle and migration."""
        self.summarize()
        try:
            run_daily(self.ledger.engine, self.settings.analysis,
                      algorithm=self.settings.audit_chain)
        except Exception:  # noqa: BLE001 - retried the next day, or by hand
            _LOGGER.exception("Daily analyses failed")

    def _write_facts(self, name: str, pending: PendingFacts) -> None:
        with self._fact_locks[name]:
            try:
                self._record_facts(name, pending)
            except DataError as exc:  # these facts can never be written (a NUL byte in text)
                self.backlog.refused(name, pending)
                _LOGGER.error("The ledger refused %s facts of %s; they are dropped: %s",
                              len(pending.facts), name, exc)
            except Exception:  # noqa: BLE001 - kept and retried, see retry_facts
                _LOGGER.exception("Recording the facts of %s in the ledger failed", name)
                self.backlog.keep(name, pending)
                _LOGGER.warning("Kept %s facts of %s to write when the ledger answers",
                                len(pending.facts), name)
            else:
                self.backlog.superseded(name)

    def _record_facts(self, source: str, pending: PendingFacts) -> None:
        with self.ledger.session() as session:
            record_facts(session, source=source, collector=pending.collector,
                         facts=pending.facts, tags=pending.tags, seen_at=pending.seen_at)
            session.commit()

    def retry_facts(self) -> None:
        """Write facts that earlier polls could not, oldest source first."""
        for source, pending in self.backlog.snapshot():
            with self._fact_locks[source]:
                if not self.backlog.is_pending(source, pending):
                    continue  # a newer poll wrote (or kept) fresher facts meanwhile
                try:
                    self._record_facts(source, pending)
                except DataError as exc:
                    self.backlog.refused(source, pending)
                    _LOGGER.error("The ledger refused %s facts of %s; they are dropped: %s",
                                  len(pending.facts), source, exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - tried again on the next run
                    if not self._ledger_failing:
                        _LOGGER.warning("Pending facts still cannot be written: %s", exc)
                    self._ledger_failing = True
                    return
            self.backlog.written(source, pending)
            _LOGGER.info("Wrote %s pending facts of %s", len(pending.facts), source)
        self._ledger_failing = False

    def maintain_store(self) -> None:
        """Roll up and expire the time-series store."""
        try:
            self.store.maintain()
        except Exception:  # noqa: BLE001 - retried on the next run
            _LOGGER.exception("Store maintenance failed")

    def publish_stats(self) -> None:
        """Write the process's figures to the ledger for /metrics in any web process."""
        stats = dict(self.writer.stats())
        stats.update(self.backlog.stats())
        stats["scheduler_heartbeat_timestamp_seconds"] = time.time()
        stats["scheduler_start_timestamp_seconds"] = self._started
        stats["scheduler_targets"] = len(self.targets)
        stats.update({f"store_{k}": v for k, v in self.store.stats().items()})
        try:
            with self._stats_lock, self.ledger.session() as session:
                set_runtime_stats(session, stats, dt.datetime.now(UTC))
                session.commit()
        except Exception:  # noqa: BLE001 - retried on the next run
            _LOGGER.exception("Publishing runtime figures failed")

    def stop(self) -> None:
        """Stop polling, write what is queued, and close collectors."""
        self._scheduler.shutdown(wait=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.writer.stop()
        self.retry_facts()
        for source, pending in self.backlog.snapshot():
            _LOGGER.error("Stopping with %s facts of %s not written to the ledger",
                          len(pending.facts), source)
        self.publish_stats()
        for target in self.targets.values():
            target.close()
        _LOGGER.info("Scheduler stopped")


def _make_collector(target: TargetConfig) -> Collector:
    return get_collector(target.kind)(target.name, target.options, target.timeout)
