"""The demo estate: ``python -m monitor demo`` and :func:`build_demo` for test suites.

What a build does, in order (each step idempotent, so a second run on the same data
directory changes nothing it need not):

1. imports the sample census (:mod:`monitor.demo.estate`) through the census service,
   once: a ledger that already holds the demo's departments keeps what it has;
2. records the generated cloud inventory (two platforms on Kunpeng, Hygon, Phytium and
   Intel hosts) and the history of a UPS that stopped answering two hours ago;
3. polls every SNMP target once through the scheduler's own code (real collectors
   against snmpsim serving :mod:`monitor.demo.recordings`);
4. writes 30 days of generated history (tagged ``demo=true``) into the store, rolls it up
   and writes the daily summaries as demo rows;
5. runs reconciliation, idle detection and migration progress; the first time, the
   finance department then retires its idle spare server (idle investment reclaimed);
6. creates one account per audience with a new password (printed by the command).

The demo's alert rules are in its settings (:data:`ALERTS`); the command, which sits above
the alert engine, evaluates them once after the build (``monitor.demo_cli.raise_alerts``).

The SNMP agents must be answering at ``settings``' targets during :func:`fill`;
:func:`build_demo` starts and stops them around it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.tables import TABLES
from ledger.census.template import write_workbook
from ledger.db import Ledger
from ledger.observed import record_facts
from ledger.status import PollRecord, record_poll
from monitor.config import Settings, parse_settings
from monitor.demo import history
from monitor.demo.accounts import Account, ensure_accounts, identity_service
from monitor.demo.agents import DemoAgents
from monitor.demo.estate import PLATFORMS, SILENT_UPS, census, platform_facts
from monitor.demo.recordings import DEVICES
from monitor.store import open_configured_store

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
ZONE = "Asia/Shanghai"
ACTOR = "demo"
#: SNMP target -> (recording's community, tags). The Kehua UPS has no recording: silent.
TARGETS = {
    "sw-core-01": ("huawei-s6730", {"department": "D01", "datacenter": "DC01"}),
    "sw-agg-02": ("h3c-s6520x", {"department": "D01", "datacenter": "DC01"}),
    "sw-net01": ("zte-zxr10", {"department": "D03", "network": "NET01"}),
    "fw-dc02": ("hillstone-sg6000", {"department": "D02", "datacenter": "DC02"}),
    # Tagged with the finance department's old code, which the census does not know.
    "sw-ruijie": ("ruijie-s6000", {"department": "CZT"}),
    "ups-dc01": ("huawei-ups5000", {"department": "D01", "datacenter": "DC01"}),
    "bmc-rs-db01": ("huawei-ibmc", {"department": "D03", "datacenter": "DC03"}),
    "ups-dc03": ("kehua-ups", {"department": "D03", "datacenter": "DC03"}),
}
SILENT_TARGET = "ups-dc03"
POLL_SECONDS = 60
#: The demo's alert rules; its one receiver has no integration, so nothing is ever sent.
ALERTS = {
    "rules": [
        {"name": "target_down", "kind": "target_state", "state": "down", "for": "1m",
         "severity": "critical",
         "summary": {"zh": "采集目标 {target} 无响应：{status}",
                     "en": "Target {target} is down: {status}"}},
        {"name": "cpu_busy", "kind": "threshold", "measurement": "cpu", "field": "usage_percent",
         "agg": "mean", "window": "30m", "op": ">", "value": 20, "severity": "warning"},
        {"name": "ledger_findings", "kind": "ledger_event", "severity": "info",
         "findings": ["undeclared", "missing", "suspect", "conflict", "migration_overdue",
                      "network_overdue", "dc_still_active"]}],
    "route": {"receiver": "demo", "group_by": ["alertname", "department"]},
    "receivers": [{"name": "demo"}],
}


@dataclasses.dataclass
class DemoResult:
    """What a build did and the accounts it made."""

    settings: Settings
    accounts: list[Account]
    census_imported: bool
    polled: dict[str, str]
    samples: int
    summary_days: int
    analyses: dict[str, Any]


def demo_settings(data_dir: str | Path, *, agent_port: int, web_port: int = 8080,
                  ledger_url: str | None = None) -> Settings:
    """The demo's settings: its SNMP targets on ``agent_port``, loopback web, Shanghai time."""
    targets = []
    for name, (community, tags) in TARGETS.items():
        silent = name == SILENT_TARGET
        targets.append({"name": name, "kind": "snmp", "interval": POLL_SECONDS,
                        "timeout": 8 if silent else 30, "tags": tags,
                        "options": {"host": "127.0.0.1", "port": agent_port,
                                    "community": community, "retries": 0 if silent else 1,
                                    "request_timeout": 2 if silent else 10}})
    raw: dict[str, Any] = {"web": {"host": "127.0.0.1", "port": web_port, "timezone": ZONE},
                           "scheduler": {"jitter": 0}, "targets": targets, "alerts": ALERTS}
    if ledger_url:
        raw["ledger"] = {"url": ledger_url}
    return parse_settings(raw, "(demo)", data_dir=str(data_dir))


def build_demo(data_dir: str | Path, *, ledger_url: str | None = None,
               now: dt.datetime | None = None, hasher=None) -> DemoResult:
    """Fill a ledger and store in ``data_dir`` with the demo estate (agents started and
    stopped here). For test suites: ``ledger_url`` puts the ledger elsewhere (PostgreSQL)."""
    data_dir = Path(data_dir)
    with DemoAgents(data_dir / "demo-agents") as agents:
        settings = demo_settings(data_dir, agent_port=agents.port, ledger_url=ledger_url)
        ledger = Ledger(settings.ledger_url)
        store = open_configured_store(settings)
        try:
            return fill(settings, ledger, store, now=now, hasher=hasher)
        finally:
            store.close()
            ledger.close()


def fill(settings: Settings, ledger: Ledger, store, *, now: dt.datetime | None = None,
         hasher=None, progress: Callable[..., None] | None = None) -> DemoResult:
    """Every build step on an open ledger and store (agents answering). ``progress`` is
    called after each step with its name and figures (see ``monitor.demo_cli.TEXT``)."""
    from monitor.scheduler import Monitor
    report = progress or (lambda step, **figures: None)
    now = now or dt.datetime.now(UTC)
    zone = ZoneInfo(settings.timezone)
    imported = import_census(ledger, settings, now.astimezone(zone).date())
    report("census", imported=imported)
    record_generated(ledger, now)
    polled = Monitor(settings, ledger, store).poll_once()
    report("polled", ok=sum(o.status in ("ok", "partial") for o in polled.values()),
           total=len(polled))
    samples = backfill(store, settings, now)
    days = summarize_history(ledger, store, settings, now)
    report("history", samples=samples, days=days)
    analyses = run_analyses(ledger, settings, first_time=imported)
    report("analyses", **analyses["reconcile"])
    accounts = ensure_accounts(identity_service(ledger.engine, settings, hasher))
    return DemoResult(settings, accounts, imported, {n: o.status for n, o in polled.items()},
                      samples, days, analyses)


def import_census(ledger: Ledger, settings: Settings, today: dt.date) -> bool:
    """Import the sample census workbook unless the demo's departments are there already."""
    table = TABLES["department"]
    with ledger.engine.connect() as conn:
        if conn.execute(select(table.c.id).where(table.c.code == "D01")).first():
            return False
    path = settings.data_dir / "demo-census.xlsx"
    write_workbook(path, census(today))
    result = CensusService(ledger.engine, actor=ACTOR,
                           algorithm=settings.audit_chain).apply(read_file(path))
    _LOGGER.info("Demo census imported from %s: %s", path, import_summary(result))
    return True


def import_summary(result) -> str:
    """One line of what a census import did (the whole result is tens of KB of repr)."""
    diffs = result.plan.diffs.values()
    return (f"batch {result.batch_id}, applied={result.applied}, "
            f"{sum(len(d.new) for d in diffs)} new, {sum(len(d.changed) for d in diffs)} "
            f"changed, {sum(d.unchanged for d in diffs)} unchanged, "
            f"{len(result.plan.errors)} error(s)")


def record_generated(ledger: Ledger, now: dt.datetime) -> None:
    """The generated cloud inventory (seen now) and the silent UPS (last seen 2 h ago)."""
    then = now - dt.timedelta(hours=2)
    with ledger.session() as session:
        for platform in PLATFORMS:
            record_facts(session, source=platform.source, collector="vsphere",
                         facts=platform_facts(platform), seen_at=now,
                         tags={"department": platform.department, "platform": platform.code,
                               "datacenter": platform.data_center})
        _community, tags = TARGETS[SILENT_TARGET]
        record_facts(session, source=SILENT_TARGET, collector="snmp", facts=[SILENT_UPS],
                     seen_at=then, tags=tags)
        record_poll(session, PollRecord(SILENT_TARGET, "snmp", "ok", 0.4, None, 12, then,
                                        POLL_SECONDS))
        session.commit()


def backfill(store, settings: Settings, now: dt.datetime) -> int:
    """Thirty days of demo history for every target and platform; roll it up."""
    zone = ZoneInfo(settings.timezone)
    times = history.timestamps(now)
    devices = {d.community: d for d in DEVICES}
    written = 0
    for target in settings.targets:
        device = devices.get(target.options["community"])
        if device is not None:
            written += history.write(store, history.device_samples(
                device, target.name, dict(target.tags), times))
    written += history.write(store, history.platform_samples(times, zone))
    # Rolling a month up drops a raw partition a day: one line each is noise here.
    quiet = logging.getLogger("monitor.store.embedded")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        store.maintain()
    finally:
        quiet.setLevel(level)
    _LOGGER.info("Demo history: %s samples over %s days", written, history.DAYS)
    return written


def summarize_history(ledger: Ledger, store, settings: Settings, now: dt.datetime) -> int:
    """The daily summaries of the generated days, as demo rows."""
    from monitor.summaries import summarize
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    days = [today - dt.timedelta(days=n) for n in range(1, history.DAYS + 1)]
    sources = {t.name: history.STEP for t in settings.targets}
    sources.update({p.source: history.STEP for p in PLATFORMS})
    written = summarize(ledger, store, timezone=settings.timezone,
                        min_coverage=settings.analysis.min_coverage, now=now,
                        days_back=history.DAYS + 1, redo=days, demo=True, intervals=sources)
    return len(written)


def run_analyses(ledger: Ledger, settings: Settings, *, first_time: bool) -> dict[str, Any]:
    """Reconciliation, idle and migration; the first time, one idle server is reclaimed."""
    from ledger.analyses import run_daily
    policy, algorithm = settings.analysis, settings.audit_chain
    result = run_daily(ledger.engine, policy, algorithm=algorithm)
    if first_time:
        CensusService(ledger.engine, actor="财政厅数据专员（演示）", algorithm=algorithm).update(
            "device", "DEV-SPARE-01", {"status": "retired", "remarks": "已回收（演示）"}, partial=True)
        result = run_daily(ledger.engine, policy, algorithm=algorithm)
    return result


__all__ = ["DemoResult", "build_demo", "demo_settings", "fill"]
