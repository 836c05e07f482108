"""``poll``, ``reconcile``, ``findings`` and ``ledger …``: the analyses from the command line.

- ``poll [--target NAME]...``: poll every configured target (or the named ones) once and
  record samples, facts and poll state as the scheduler does; for cron or before a
  reconciliation.
- ``reconcile [--department D] [--json]``: reconcile the ledger and show the outcome
  (a readable summary, or one JSON object: ``summary`` and every ``pairs`` item).
- ``findings [--kind K] [--state S] [--department D] [--json]``; ``findings ack|resolve|reopen
  ID --reason TEXT``: the findings and their lifecycle.
- ``ledger summarize|idle|migration|compute|kpi``: daily summaries and the analyses over
  them (see :mod:`monitor.ledger_cli`).

Text output is in the configured language (``--lang`` overrides); JSON keys and values are
the stored keys, as in the REST API.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from monitor.config import Settings

EXIT_USAGE = 2
LIST_LIMIT = 20


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add ``poll``, ``reconcile`` and ``findings`` to the command parser."""
    from ledger.const import FINDING_KINDS, FINDING_STATES

    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--department", metavar="CODE",
                        help="only this department and its sub-departments")
    scoped.add_argument("--lang", choices=["zh", "en"], help="language of the output")
    scoped.add_argument("--json", action="store_true", help="one JSON object on stdout")
    poll = sub.add_parser("poll", parents=[common], help="poll targets once and record them")
    poll.add_argument("--target", metavar="NAME", action="append", default=[],
                      help="poll only this target (repeatable)")
    reconcile = sub.add_parser("reconcile", parents=[common, scoped],
                               help="reconcile the census with what was observed")
    reconcile.add_argument("--whole", action="store_true",
                           help="recompute every pair (by default only what changed since "
                                "the last run)")
    found = sub.add_parser("findings", parents=[common, scoped], help="findings and lifecycle")
    found.add_argument("action", nargs="?", default="list",
                       choices=["list", "ack", "resolve", "reopen"])
    found.add_argument("id", nargs="?", type=int, help="finding id (ack, resolve, reopen)")
    found.add_argument("--kind", choices=list(FINDING_KINDS))
    found.add_argument("--state", choices=list(FINDING_STATES))
    found.add_argument("--all", action="store_true", help="include findings no longer active")
    found.add_argument("--reason", help="why (required to resolve or reopen)")
    found.add_argument("--actor", help="name recorded in the change log")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``poll``, ``reconcile`` or ``findings``."""
    if args.command == "poll":
        from monitor import service
        return service.poll_targets(settings, args.target)
    from ledger.census.snapshot import ScopeError
    from ledger.db import Ledger

    ledger = Ledger(settings.ledger_url)
    try:
        language = args.lang or settings.language
        scope = _scope(ledger, args.department)
        if args.command == "reconcile":
            return _reconcile(ledger, settings, scope, language, args.json, args.whole)
        return _findings(ledger, settings, scope, language, args)
    except ScopeError as exc:
        print(exc.text(language), file=sys.stderr)
        return EXIT_USAGE
    finally:
        ledger.close()


def _scope(ledger, department: str | None):
    from ledger.census.snapshot import Scope

    if department is None:
        return Scope.everything()
    with ledger.engine.connect() as conn:
        return Scope.for_department(conn, department)


def _reconcile(ledger, settings: Settings, scope, language: str, as_json: bool,
               whole: bool = False) -> int:
    from ledger.reconcile import store

    result = store.run(ledger.engine, settings.analysis.reconcile,
                       actor=f"cli:{getpass.getuser()}", algorithm=settings.audit_chain,
                       whole=whole)
    with ledger.engine.connect() as conn:
        summary = store.summary(conn, scope)
        pairs = store.all_pairs(conn, scope)
    if as_json:
        json.dump({"summary": summary, "pairs": pairs, "recomputed": result.recomputed},
                  sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from monitor.analysis_text import reconcile_text
    sys.stdout.write(reconcile_text(summary, pairs, result, scope, language,
                                    settings.timezone))
    return 0


def _findings(ledger, settings: Settings, scope, language: str, args) -> int:
    from ledger import findings
    from monitor.analysis_text import findings_text

    if args.action != "list":
        if args.id is None:
            print("错误 (error): give the finding's id", file=sys.stderr)
            return EXIT_USAGE
        state = {"ack": "acknowledged", "resolve": "resolved", "reopen": "open"}[args.action]
        try:
            row = findings.transition(ledger.engine, args.id, state,
                                      actor=args.actor or f"cli:{getpass.getuser()}",
                                      reason=args.reason, scope=scope,
                                      algorithm=settings.audit_chain)
        except findings.FindingError as exc:
            print(f"错误 (error): {findings.message(exc, language)}", file=sys.stderr)
            return 1
        print(f"#{row['id']} {row['kind']} → {row['state']}")
        return 0
    with ledger.engine.connect() as conn:
        items = findings.listing(conn, scope, kind=args.kind, state=args.state,
                                 active_only=not args.all)
    if args.json:
        json.dump({"findings": items}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(findings_text(items, language, settings.timezone))
    return 0
