"""``python -m monitor census ...`` and ``audit verify``: the census from the command line.

- ``census template FILE.xlsx [--lang en]``: the blank workbook to fill in.
- ``census export FILE.xlsx|FILE.csv [--category C]``: what the ledger holds (a CSV holds
  one category; without ``--category`` one ``FILE.<category>.csv`` per category).
- ``census import FILE... [--dry-run] [--replace]``: check everything, then apply all of
  it or nothing; ``--dry-run`` prints the diff and writes nothing.
- ``audit verify``: recompute the change log's hash chain.

``--department CODE`` acts within that department's subtree (default: the whole ledger),
``--actor NAME`` is recorded in the change log (default: the login name).
"""

from __future__ import annotations

import argparse
import errno
import getpass
import sys
import time
from pathlib import Path
from typing import Callable

from monitor.config import Settings

EXIT_REJECTED = 1
EXIT_USAGE = 2


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add ``census`` and ``audit`` to the command parser."""
    from ledger.census.fields import CATEGORIES

    census = sub.add_parser("census", parents=[common], help="census workbook (普查表)")
    actions = census.add_subparsers(dest="action", required=True)
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--lang", choices=["zh", "en"], help="language of sheets and messages")
    scoped.add_argument("--department", metavar="CODE",
                        help="act within this department's subtree")
    template = actions.add_parser("template", parents=[common, scoped],
                                  help="write the blank census workbook")
    template.add_argument("file")
    export = actions.add_parser("export", parents=[common, scoped], help="export the census")
    export.add_argument("file")
    export.add_argument("--category", choices=list(CATEGORIES))
    imp = actions.add_parser("import", parents=[common, scoped], help="import census files")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    imp.add_argument("--replace", action="store_true",
                     help="remove rows of the imported categories that the files lack")
    imp.add_argument("--category", choices=list(CATEGORIES), help="category of CSV files")
    imp.add_argument("--actor", help="name recorded in the change log")
    audit = sub.add_parser("audit", parents=[common], help="census change log")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--lang", choices=["zh", "en"], help="language of the report")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``census`` or ``audit`` command."""
    from ledger.db import Ledger

    language = args.lang or settings.language
    if args.command == "census" and args.action == "template":
        # A blank workbook needs no ledger: opening one would create (and migrate) it.
        from ledger.census.template import write_workbook
        return _writing(lambda: (write_workbook(args.file, language=language),
                                 print(args.file)), args.file, language)
    ledger = Ledger(settings.ledger_url)
    try:
        if args.command == "audit":
            return _verify(ledger, settings, language)
        service = _service(ledger, args, settings, language)
        if service is None:
            return EXIT_USAGE
        if args.action == "export":
            return _writing(lambda: _export(service, args, language), args.file, language)
        return _import(service, args, language)
    finally:
        ledger.close()


def _writing(write: Callable[[], object], path: str, language: str) -> int:
    """Run ``write``; a file that cannot be written is one worded line, not a traceback."""
    from xlsxwriter.exceptions import FileCreateError

    from ledger.census.messages import file_reason

    try:
        folder = Path(path).resolve().parent
        if not folder.is_dir():   # before the writer opens its temporary files
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(folder))
        write()
        return 0
    except (OSError, FileCreateError) as exc:
        cause = exc if isinstance(exc, OSError) else exc.args[0]
        reason = file_reason(cause, language, writing=True) if isinstance(cause, OSError) \
            else str(cause)
        print(f"{'导出失败' if language == 'zh' else 'export failed'}: {path}: {reason}",
              file=sys.stderr)
        return EXIT_REJECTED


def _service(ledger, args, settings: Settings, language: str):
    from ledger.census.service import CensusService
    from ledger.census.snapshot import Scope, ScopeError

    if args.department:
        try:
            with ledger.engine.connect() as conn:
                Scope.for_department(conn, args.department)
        except ScopeError:
            from ledger.census.messages import message
            print(message("unknown_department", language, code=args.department),
                  file=sys.stderr)
            return None
    return CensusService(ledger.engine, department=args.department, language=language,
                         actor=getattr(args, "actor", None) or f"cli:{getpass.getuser()}",
                         algorithm=settings.audit_chain)


def _export(service, args, language: str) -> None:
    from ledger.census.template import csv_paths, write_csv, write_workbook

    data = service.export([args.category] if args.category else None)
    if not args.file.lower().endswith(".csv"):
        write_workbook(args.file, data, language=language)
        print(args.file)
    elif args.category:
        write_csv(args.file, args.category, data[args.category], language=language)
        print(args.file)
    else:
        for key, path in csv_paths(args.file, data).items():
            write_csv(path, key, data[key], language=language)
            print(path)


def _progress() -> Callable[[str], None]:
    started = time.monotonic()

    def report(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)
    return report


def _import(service, args, language: str) -> int:
    from ledger.census.anchor import AuditKeyError
    from ledger.census.files import FileRejected, read_file
    from ledger.census.messages import message
    from ledger.census.service import CensusRejected

    progress = _progress()
    sheets = []
    try:
        for path in args.files:
            read = read_file(path, category=args.category, language=language,
                             progress=progress, allow_empty=len(args.files) > 1)
            for sheet in read:
                if sheet.encoding:
                    progress(f"{path}: " + message("encoding_used", language,
                                                   encoding=sheet.encoding))
            sheets += read
            progress(message("progress_read", language, path=path))
        if not any(sheet.rows for sheet in sheets):
            raise FileRejected(", ".join(args.files), message("empty", language))
    except FileRejected as exc:
        print(f"{'导入失败' if language == 'zh' else 'import refused'}: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        result = service.apply(sheets, replace=args.replace, dry_run=args.dry_run,
                               progress=progress)
    except CensusRejected as exc:
        _print_errors(exc.errors, language)
        return EXIT_REJECTED
    except AuditKeyError as exc:   # nothing written: the change log could not be extended
        print(f"{'导入失败（审计链密钥）' if language == 'zh' else 'import refused (chain key)'}: "
              f"{exc}", file=sys.stderr)
        return EXIT_REJECTED
    from ledger.census.report import print_diff
    print_diff(result.plan, sys.stdout, language=language, details=args.dry_run)
    if result.applied:
        print(("已导入，批次 " if language == "zh" else "applied, batch ") + result.batch_id)
    elif args.dry_run:
        print("试运行：未写入任何数据" if language == "zh" else "dry run: nothing written")
    return 0


def _print_errors(errors, language: str) -> None:
    head = (f"发现 {len(errors)} 个错误，未导入任何数据：" if language == "zh"
            else f"{len(errors)} error(s); nothing was imported:")
    print(head, file=sys.stderr)
    for error in errors:
        print(f"  {error}", file=sys.stderr)


def _verify(ledger, settings: Settings, language: str) -> int:
    from ledger.census.audit import verify

    chain = settings.audit_chain
    with ledger.engine.connect() as conn:
        result = verify(conn, chain=chain, language=language)
    zh = language == "zh"
    for note in result.notes:
        print(f"{'注意' if zh else 'note'}: {note}")
    if result.problems:
        print(f"审计链校验失败：{len(result.problems)} 个问题" if zh else
              f"audit chain BROKEN: {len(result.problems)} problem(s)")
        for problem in result.problems:
            print(f"  {problem}")
        return EXIT_REJECTED
    print(f"审计链完整：{result.records} 条记录，与 {result.checkpoints} 个检查点一致，"
          f"链头 {result.head_hash}" if zh else
          f"audit chain intact: {result.records} records, {result.checkpoints} "
          f"checkpoint(s) agree, head {result.head_hash}")
    return 0
