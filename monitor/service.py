"""Process wiring: what ``run``, ``scheduler``, ``collect`` and ``db`` start and stop."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable, Iterator

from sqlalchemy.exc import SQLAlchemyError

from collectors.base import Collector
from core.secrets import redact
from core.observation import STATUS_OK, STATUS_PARTIAL, Observation
from ledger.census.anchor import AuditKeyError
from ledger.census.audit import check_writer
from ledger.db import Ledger
from monitor.config import Settings, TargetConfig
from monitor.config_zone import DEFAULT_ZONE
from monitor.poller import RunningTarget
from monitor.scheduler import Monitor
from monitor.store import open_configured_store

_LOGGER = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    """Another scheduler holds the data directory."""


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data directory so two schedulers never share it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "scheduler.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another Infra Ledger scheduler is using {data_dir}") from None
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def _stop_on_sigterm() -> None:
    def _handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _handler)


@contextlib.contextmanager
def _opened(settings: Settings, with_ledger: bool = True) -> Iterator[tuple[Ledger | None,
                                                                            object]]:
    """Hold the data directory and open the ledger (unless a zone scheduler, which reaches
    the center over HTTP) and the store; close both on the way out."""
    with data_dir_lock(settings.data_dir):
        ledger = Ledger(settings.ledger_url) if with_ledger else None
        try:
            if ledger is not None:   # a key that cannot extend the change log stops the start
                check_writer(ledger.engine, settings.audit_chain)
            store = open_configured_store(settings)
        except BaseException:
            if ledger is not None:
                ledger.close()
            raise
        try:
            yield ledger, store
        finally:
            store.close()
            if ledger is not None:
                ledger.close()


def run_all(settings: Settings) -> int:
    """Run the scheduler and the web UI in this process until interrupted."""
    import waitress

    from dashboards import create_app
    try:
        with _opened(settings) as (ledger, store):
            app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": store})
            try:
                server = waitress.create_server(app, host=settings.web_host,
                                                port=settings.web_port, threads=8)
            except OSError as exc:
                print(f"错误 (error): cannot listen on {settings.web_host}:{settings.web_port}: "
                      f"{exc}", file=sys.stderr)
                return 1
            monitor = Monitor(settings, ledger, store)
            attach_alerts(monitor, settings, ledger, store)
            monitor.start()
            _stop_on_sigterm()
            _LOGGER.info("Infra Ledger: data in %s; web UI on http://%s:%s/", settings.data_dir,
                         settings.web_host, server.effective_port)
            try:
                server.run()
            except KeyboardInterrupt:
                _LOGGER.info("Stopping")
            finally:
                server.close()
                monitor.stop()
    except (AlreadyRunning, AuditKeyError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 1
    return 0


def run_scheduler(settings: Settings, zone: str | None = None,
                  reload: Callable[[], Settings] | None = None) -> int:
    """Run the scheduler alone until interrupted (the web tier runs from wsgi.py).

    With ``zone`` it polls only that zone's targets (see :mod:`monitor.coordination`);
    SIGHUP reloads the configuration through ``reload``.
    """
    problem = zone_problem(settings, zone)
    if problem:
        print(f"配置错误 (configuration error): {problem}", file=sys.stderr)
        return 2
    stop = threading.Event()
    central = zone in (None, DEFAULT_ZONE)
    try:
        with _opened(settings, with_ledger=central) as (ledger, store):
            monitor = _zone_monitor(settings, ledger, store, zone)
            if ledger is not None:
                attach_alerts(monitor, settings, ledger, store)
            if monitor.assignment is not None:
                try:
                    monitor.assignment.join()
                except SQLAlchemyError as exc:
                    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                    print(f"协调数据库无法连接 (coordination database unreachable): "
                          f"{settings.source}: zone.coordination_url: "
                          f"{redact(settings.zone.coordination_url)}: {redact(reason)}",
                          file=sys.stderr)
                    return 3
            monitor.start()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            if reload is not None:
                signal.signal(signal.SIGHUP, lambda *_: _reload(monitor, reload))
            _LOGGER.info("Infra Ledger scheduler%s: data in %s",
                         f" of zone {zone}" if zone else "", settings.data_dir)
            stop.wait()
            monitor.stop()
            if monitor.assignment is not None:
                monitor.assignment.leave()
    except (AlreadyRunning, AuditKeyError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 1
    return 0


def attach_alerts(monitor: Monitor, settings: Settings, ledger: Ledger, store) -> None:
    """Give the scheduler the alert engine's jobs when rules are configured. The engine sits
    above the scheduler (it reads what the scheduler writes), so this process wiring, not
    the scheduler, brings them together."""
    from alerts.config import parse_alerts
    from alerts.engine import AlertEngine

    config = parse_alerts(settings)
    if not config.enabled:
        return
    engine = AlertEngine(settings, config, ledger.engine, store)
    engine.start()
    for job_id, func, seconds in engine.jobs():
        monitor.add_job(job_id, func, seconds)
    _LOGGER.info("Alerts: %s rules every %.0fs", len(config.rules), config.evaluation_interval)


def zone_problem(settings: Settings, zone: str | None) -> str | None:
    """Why a scheduler of ``zone`` cannot run with these settings (None if it can)."""
    if zone is None or zone == DEFAULT_ZONE:
        return None
    if not any(t.zone == zone for t in settings.targets):
        zones = sorted({t.zone for t in settings.targets})
        return f"{settings.source}: no target has zone {zone!r}; zones: {', '.join(zones)}"
    if not settings.zone.center_url:
        return (f"{settings.source}: zone.center_url: required for a zone scheduler "
                "(the center's address for poll outcomes and facts)")
    if settings.store_backend == "embedded":
        return (f"{settings.source}: store.backend: a zone scheduler writes to the central "
                "store over HTTP(S); embedded cannot be read by the center")
    if not os.environ.get(settings.zone.token_env, "").strip():
        return (f"{settings.source}: zone.token_env: the variable {settings.zone.token_env} "
                "holds no API token (at the center: python -m monitor user token create "
                "NAME --role zone_collector)")
    return None


def _zone_monitor(settings: Settings, ledger, store, zone: str | None) -> Monitor:
    assignment = None
    if zone is not None and settings.zone.coordination_url:
        from monitor.coordination.leases import LeaseAssignment
        from monitor.coordination.zone import member_id
        assignment = LeaseAssignment(settings.zone.coordination_url, zone,
                                     member_id(settings.data_dir, zone), socket.gethostname(),
                                     lease_seconds=settings.zone.lease_seconds)
    if zone in (None, DEFAULT_ZONE):
        monitor = Monitor(settings, ledger, store, zone=zone)
        monitor.assignment = assignment
        return monitor
    from monitor.coordination.zone import ZoneMonitor
    return ZoneMonitor(settings, store, zone, assignment=assignment)


def _reload(monitor: Monitor, reload: Callable[[], Settings]) -> None:
    try:
        monitor.reload(reload())
    except Exception:  # noqa: BLE001 - a bad new configuration keeps the running one
        _LOGGER.exception("Configuration not reloaded; the running one stays")


def poll_targets(settings: Settings, names: list[str], stream: IO[str] = sys.stdout) -> int:
    """Poll the configured targets (or the named ones) once and record everything; 0 when
    every poll succeeded (fully or partly), 1 otherwise, 2 for an unknown target name."""
    configured = {t.name: t.zone for t in settings.targets}
    unknown = [name for name in names if name not in configured]
    if unknown:
        print(f"错误 (error): {settings.source}: no target named {', '.join(unknown)}; "
              f"configured: {', '.join(sorted(configured)) or 'none'}", file=sys.stderr)
        return 2
    elsewhere = [f"{name} ({configured[name]})" for name in names
                 if configured[name] != DEFAULT_ZONE]
    if elsewhere:
        print(f"错误 (error): {', '.join(elsewhere)}: 属于其他分区，由该分区的调度进程采集 "
              "(polled by its zone's schedulers, not from here)", file=sys.stderr)
        return 2
    try:
        with _opened(settings) as (ledger, store):
            # Only the central zone's targets can be reached from here.
            monitor = Monitor(settings, ledger, store, zone=DEFAULT_ZONE)
            polled = monitor.poll_once(names or None)
    except AlreadyRunning as exc:
        print(f"错误 (error): {exc}; the running scheduler polls on schedule, or stop it to "
              "poll now", file=sys.stderr)
        return 1
    except AuditKeyError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 1
    failed = 0
    for name, obs in polled.items():
        ok = obs.status in (STATUS_OK, STATUS_PARTIAL)
        failed += not ok
        detail = "" if ok else f" error={obs.error}"
        stream.write(f"{name}: status={obs.status} duration={obs.duration_seconds:.3f}s "
                     f"samples={len(obs.samples)} facts={len(obs.facts)}{detail}\n")
    return 1 if failed else 0


def upgrade_ledger(settings: Settings) -> int:
    """Bring the ledger schema to the newest revision."""
    Ledger(settings.ledger_url).close()
    print(f"ledger is at the newest schema: {settings.ledger_url}")
    return 0


def collect_to_stream(collector: Collector, tags: dict[str, str], stream: IO[str], *,
                      once: bool, interval: float, timeout: float) -> bool:
    """Poll through the framework and print JSON lines; return whether the last poll was ok."""
    target = TargetConfig(collector.name, collector.kind, interval, timeout, 0.0, tags,
                          collector.config)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = RunningTarget(target, collector, pool)
        try:
            while True:
                started = time.monotonic()
                obs = running.poll()
                write_observation(obs, stream)
                if once:
                    return obs.status in (STATUS_OK, STATUS_PARTIAL)
                time.sleep(max(interval - (time.monotonic() - started), 0))
        except KeyboardInterrupt:
            return True
        finally:
            running.close()


def write_observation(obs: Observation, stream: IO[str]) -> None:
    """Write one observation as JSON lines (one per sample, one per fact); status to stderr."""
    for item in (*obs.samples, *obs.facts):
        stream.write(json.dumps(item.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    stream.flush()
    detail = "" if obs.status in (STATUS_OK, STATUS_PARTIAL) else f" error={obs.error}"
    print(f"status={obs.status} duration={obs.duration_seconds:.3f}s samples={len(obs.samples)} "
          f"facts={len(obs.facts)}{detail}", file=sys.stderr)
