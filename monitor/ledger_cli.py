"""``python -m monitor ledger …``: daily summaries and the analyses over them.

- ``ledger summarize [--redo YYYY-MM-DD]...``: write the daily utilization summaries of the
  finished days still missing (the scheduler does this after each day).
- ``ledger idle``: judge idle resources and rightsizing now; list the idle findings.
- ``ledger migration``: migration and consolidation progress with evidence, overdue items.
- ``ledger compute [--by region|department|dc|platform|arch]``: the compute ledger.
- ``ledger kpi``: the KPIs against their targets.
- ``ledger run``: reconciliation, idle and migration in order, as after each day.

``--department CODE`` narrows what is shown to that department's subtree, ``--json``
prints one JSON object, ``--lang`` picks the language of the text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys

from monitor.config import Settings

ACTIONS = ("summarize", "idle", "migration", "compute", "kpi", "run")


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Add ``ledger`` to the command parser."""
    from ledger.compute import DIMENSIONS

    parser = sub.add_parser("ledger", parents=[common], help="daily summaries and analyses")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--by", choices=DIMENSIONS, default="department",
                        help="group the compute ledger by (default department)")
    parser.add_argument("--department", metavar="CODE",
                        help="only this department and its sub-departments")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--lang", choices=["zh", "en"], help="language of the output")
    parser.add_argument("--redo", metavar="YYYY-MM-DD", action="append", default=[],
                        type=dt.date.fromisoformat, help="summarize this day again")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``ledger`` action."""
    from ledger.census.snapshot import Scope, ScopeError
    from ledger.db import Ledger

    ledger = Ledger(settings.ledger_url)
    try:
        try:
            with ledger.engine.connect() as conn:
                scope = Scope.for_department(conn, args.department) if args.department \
                    else Scope.everything()
        except ScopeError as exc:
            print(exc.text(args.lang or settings.language), file=sys.stderr)
            return 2
        result = _act(args, settings, ledger, scope)
    finally:
        ledger.close()
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        from monitor.ledger_text import render
        sys.stdout.write(render(args.action, result, args.lang or settings.language))
    return 0


def _act(args, settings: Settings, ledger, scope) -> dict:
    from ledger import analyses, findings

    policy = settings.analysis
    actor = f"cli:{getpass.getuser()}"
    common = {"actor": actor, "algorithm": settings.audit_chain}
    if args.action == "summarize":
        return {"days": [d.isoformat() for d in _summarize(settings, ledger, args.redo)]}
    if args.action == "run":
        return analyses.run_daily(ledger.engine, policy, **common)
    if args.action == "idle":
        run = analyses.run_idle(ledger.engine, policy, **common)
        with ledger.engine.connect() as conn:
            items = findings.listing(conn, scope, kind="idle") + \
                findings.listing(conn, scope, kind="oversized")
        from ledger.reports.idle import summary
        # The summary of what is listed (the scope), each resource counted once; the run's
        # own summary covers the whole estate.
        return {"summary": summary(items), "run": run, "findings": items}
    if args.action == "migration":
        analyses.run_migration(ledger.engine, policy, **common)
        return analyses.migration_progress(ledger.engine, policy, scope)
    if args.action == "compute":
        return analyses.compute_ledger(ledger.engine, policy, scope, by=args.by)
    return analyses.kpis(ledger.engine, policy, scope)


def _summarize(settings: Settings, ledger, redo: list[dt.date]) -> list[dt.date]:
    from monitor.store import open_configured_store
    from monitor.summaries import summarize

    store = open_configured_store(settings, writer=False)
    try:
        return summarize(ledger, store, timezone=settings.timezone,
                         min_coverage=settings.analysis.min_coverage, redo=redo)
    finally:
        store.close()
