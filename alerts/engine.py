"""The alert engine of one process: evaluate, dispatch (or forward), deliver.

The scheduler runs :meth:`AlertEngine.evaluate` every ``evaluation_interval`` and
:meth:`AlertEngine.tick` (dispatch + delivery) every ``dispatch_interval`` as APScheduler
jobs (``python -m monitor run|scheduler``); tests and the command line call them directly.
Everything the engine knows lives in the ledger, so any number of restarts continue the
same alerts, groups and outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from typing import Callable

from sqlalchemy import Connection, Engine, delete, select, text

from alerts.config import AlertSettings
from alerts.delivery import Deliverer, Delivered
from alerts.dispatch import Tick, dispatch
from alerts.evaluate import Cycle, evaluate
from alerts.state import Changes, record
from ledger.alert_tables import alert, alert_event, alert_outbox
from monitor.config import Settings
from monitor.store.base import TimeSeriesStore

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
#: Resolved alerts, their history and delivered notifications are kept this long.
KEEP_DAYS = 90
PRUNE_SECONDS = 3600
#: PostgreSQL advisory lock taken by the one process recording or dispatching ("ILAL").
ADVISORY_KEY = 0x494C414C


@dataclasses.dataclass
class Evaluation:
    """What one evaluation did and how long it took."""

    changes: Changes
    rules: int
    failed: list[str]
    seconds: float


def exclusive(conn: Connection) -> bool:
    """Whether this transaction may record or dispatch: on PostgreSQL one process at a time
    (several central schedulers may run the engine); SQLite serialises writers itself, and a
    loser's duplicate insert fails on the unique keys and is tried again at the next tick."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                             {"key": ADVISORY_KEY}).scalar())


class AlertEngine:
    """Rules, state, routing and delivery over one ledger and one store."""

    def __init__(self, settings: Settings, config: AlertSettings, engine: Engine,
                 store: TimeSeriesStore, *, clock: Callable[[], dt.datetime] | None = None,
                 deliverer: Deliverer | None = None) -> None:
        self.settings, self.config, self.engine, self.store = settings, config, engine, store
        self.clock = clock or (lambda: dt.datetime.now(UTC))
        self.deliverer = deliverer or Deliverer(engine, config, clock=self.clock)
        self._failing: set[str] = set()
        self._forwarded: dict = {}
        self._lock = threading.Lock()
        self.last: Evaluation | None = None
        self._pruned: dt.datetime | None = None

    def start(self) -> None:
        """Settle what a stopped process left mid-delivery."""
        self.deliverer.recover()

    def evaluate(self, now: dt.datetime | None = None) -> Evaluation:
        """Evaluate every rule once and record the alerts' states."""
        started = time.perf_counter()
        now = now or self.clock()
        cycle = Cycle(self.settings, self.engine, self.store, now)
        results, failed = {}, []
        for rule in self.config.rules:
            try:
                results[rule.name] = (rule, evaluate(rule, cycle))
            except Exception as exc:  # noqa: BLE001 - one bad source must not stop the rest
                failed.append(rule.name)
                if rule.name not in self._failing:
                    _LOGGER.warning("Alert rule %s cannot be evaluated (its alerts keep their "
                                    "state): %s", rule.name, exc)
        for name in self._failing - set(failed):
            _LOGGER.info("Alert rule %s evaluates again", name)
        self._failing = set(failed)
        with self._lock, self.engine.begin() as conn:
            if not exclusive(conn):
                _LOGGER.info("Another scheduler records alerts right now; this cycle is skipped")
                changes = Changes()
            else:
                changes = record(conn, results, now, retired=self._retired(conn))
        self.last = Evaluation(changes, len(self.config.rules), failed,
                               time.perf_counter() - started)
        return self.last

    def _retired(self, conn) -> list[str]:
        configured = {rule.name for rule in self.config.rules}
        names = conn.execute(select(alert.c.rule).where(
            alert.c.state.in_(("pending", "firing"))).distinct()).scalars()
        return [name for name in names if name not in configured]

    def dispatch(self, now: dt.datetime | None = None) -> Tick | int:
        """Group and queue notifications (or forward to Alertmanager)."""
        now = now or self.clock()
        if self.config.forward_url:
            from alerts.forward import forward
            return forward(self.engine, self.config, now, self._forwarded)
        with self._lock, self.engine.begin() as conn:
            return dispatch(conn, self.config, now) if exclusive(conn) else Tick()

    def deliver(self, now: dt.datetime | None = None) -> Delivered:
        """Send what the outbox holds."""
        return self.deliverer.run(now)

    def tick(self) -> None:
        """One dispatch and delivery round (the scheduler's job)."""
        try:
            self.dispatch()
            self.deliver()
        except Exception:  # noqa: BLE001 - retried on the next tick
            _LOGGER.exception("Alert dispatch failed")

    def evaluate_job(self) -> None:
        """The scheduler's evaluation job."""
        try:
            result = self.evaluate()
            self._publish(result)
            if self._pruned is None or \
                    (self.clock() - self._pruned).total_seconds() >= PRUNE_SECONDS:
                self.prune()
            if result.seconds > self.config.evaluation_interval * 0.5:
                _LOGGER.warning("Alert evaluation took %.1fs of a %.0fs interval",
                                result.seconds, self.config.evaluation_interval)
        except Exception:  # noqa: BLE001 - retried at the next interval
            _LOGGER.exception("Alert evaluation failed")

    def prune(self, now: dt.datetime | None = None, keep_days: float = KEEP_DAYS) -> int:
        """Delete alerts resolved (or dropped) more than ``keep_days`` ago with their history,
        and notifications settled that long ago; returns the rows deleted."""
        now = now or self.clock()
        cutoff = now - dt.timedelta(days=keep_days)
        with self._lock, self.engine.begin() as conn:
            old = select(alert.c.id).where(alert.c.state.in_(("resolved", "inactive")),
                                           alert.c.last_eval_at < cutoff)
            events = conn.execute(delete(alert_event).where(
                alert_event.c.alert_id.in_(old))).rowcount
            alerts = conn.execute(delete(alert).where(
                alert.c.state.in_(("resolved", "inactive")),
                alert.c.last_eval_at < cutoff)).rowcount
            sent = conn.execute(delete(alert_outbox).where(
                alert_outbox.c.status.in_(("sent", "failed", "merged")),
                alert_outbox.c.created_at < cutoff)).rowcount
        self._pruned = now
        return events + alerts + sent

    def _publish(self, result: Evaluation) -> None:
        """The evaluation's figures for /metrics (beside the scheduler's own)."""
        from sqlalchemy.orm import Session

        from ledger.status import set_runtime_stats
        with Session(self.engine) as session:
            set_runtime_stats(session, {"alerts_rules": result.rules,
                                        "alerts_rules_failing": len(result.failed),
                                        "alerts_evaluation_seconds": result.seconds},
                              self.clock())
            session.commit()

    def jobs(self) -> list[tuple[str, Callable[[], None], float]]:
        """(id, function, seconds) of the scheduler jobs."""
        return [("alerts-evaluate", self.evaluate_job, self.config.evaluation_interval),
                ("alerts-dispatch", self.tick, self.config.dispatch_interval)]
