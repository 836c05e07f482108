"""``python -m monitor report …``: finance and audit reports as files, or mailed now.

- ``report utilization|idle|findings|compute --format xlsx|pdf|csv --out FILE
  [--month YYYY-MM] [--department D] [--lang en]``: write one report;
- ``report send NAME``: build and mail the configured schedule ``NAME`` now (as its job
  in the scheduler does).

Reports are in Chinese unless ``--lang en`` (or ``web.language: en``) says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.config import Settings

EXIT_USAGE = 2


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Add ``report`` to the command parser."""
    from ledger.reports import FORMATS, KINDS

    parser = sub.add_parser("report", parents=[common],
                            help="finance and audit reports (XLSX, PDF, CSV)")
    parser.add_argument("kind", choices=KINDS + ("send",),
                        help="which report, or 'send NAME' to mail a configured schedule")
    parser.add_argument("name", nargs="?", help="schedule name (report send)")
    parser.add_argument("--format", choices=FORMATS, default="xlsx")
    parser.add_argument("--out", metavar="FILE", help="where to write the report")
    parser.add_argument("--month", metavar="YYYY-MM",
                        help="utilization of this month (default: the last twelve months)")
    parser.add_argument("--department", metavar="CODE",
                        help="only this department and its sub-departments")
    parser.add_argument("--lang", choices=["zh", "en"], help="language of the report")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report, or mail a schedule."""
    from ledger.census.snapshot import Scope, ScopeError
    from ledger.db import Ledger
    from ledger.reports import ReportError, build
    from ledger.reports.export import render

    language = args.lang or settings.language
    if args.kind == "send":
        return _send(args, settings, language)
    if not args.out:
        print("错误 (error): --out FILE is required", file=sys.stderr)
        return EXIT_USAGE
    ledger = Ledger(settings.ledger_url)
    try:
        with ledger.engine.connect() as conn:
            scope = Scope.for_department(conn, args.department) if args.department \
                else Scope.everything()
        report = build(ledger.engine, settings.analysis, args.kind, scope, month=args.month)
        data = render(report, args.format, language, font=settings.reports.pdf_font)
    except ScopeError as exc:
        print(exc.text(language), file=sys.stderr)
        return EXIT_USAGE
    except ReportError as exc:
        print(f"错误 (error): {exc.text(language)}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    try:
        Path(args.out).write_bytes(data)
    except OSError as exc:
        print(f"错误 (error): {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    rows = len(report.sections[0].rows)
    print(f"{report.title(language)}: {args.out} ({len(data)} bytes, {rows} "
          f"{'行' if language == 'zh' else 'rows'})")
    return 0


def _send(args: argparse.Namespace, settings: Settings, language: str) -> int:
    from ledger.db import Ledger
    from ledger.reports import ReportError
    from monitor.report_mail import MailError, send_schedule

    schedules = {s.name: s for s in settings.reports.schedules}
    if args.name not in schedules:
        known = ", ".join(schedules) or "(none)"
        print(f"错误 (error): no report schedule named {args.name!r} in {settings.source}; "
              f"configured: {known}", file=sys.stderr)
        return EXIT_USAGE
    ledger = Ledger(settings.ledger_url)
    try:
        sent = send_schedule(settings, ledger, schedules[args.name])
    except ReportError as exc:
        print(f"错误 (error): {exc.text(language)}", file=sys.stderr)
        return 1
    except MailError as exc:
        print(exc.text(language), file=sys.stderr)
        return 1
    finally:
        ledger.close()
    print(f"sent {sent['subject']!r} to {', '.join(sent['recipients'])} "
          f"({', '.join(sent['attachments'])})")
    return 0
