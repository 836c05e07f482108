"""Command line: ``python -m monitor <command>``.

- ``run``: scheduler and web UI in one process (the single-machine default).
- ``scheduler``: the scheduler alone (the web tier then runs from ``wsgi.py``).
- ``collect KIND [options] --once``: poll one target and print JSON lines.
- ``check-config``: validate a configuration and print what it resolves to.
- ``db upgrade``: bring the ledger schema up to date.
- ``census template|export|import`` and ``audit verify``: see :mod:`monitor.census_cli`.
- ``discover CIDR...``: sweep for SNMP agents and print proposed targets (YAML).
- ``report KIND --format F --out FILE``, ``report send NAME``: see :mod:`monitor.report_cli`.
- ``user ...``: accounts, roles and API tokens; see :mod:`monitor.user_cli`.
- ``demo``: a demo estate, filled and served on loopback; see :mod:`monitor.demo_cli`.

Every command accepts ``--config FILE`` and ``--data-dir DIR`` (else ``INFRA_LEDGER_CONFIG``
and ``INFRA_LEDGER_DATA_DIR``, as the web application reads); ``python -m monitor --lang en
...`` (or a command's own ``--lang``) picks the language of messages (:mod:`ledger.i18n`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from sqlalchemy.exc import OperationalError

from collectors import get_collector, kinds
from collectors.base import Collector, Option
from collectors.secrets import redact
from ledger import i18n
from monitor import (alerts_cli, analysis_cli, census_cli, demo_cli, ledger_cli, report_cli,
                     user_cli)
from monitor.config import ConfigError, Settings, load_settings
from monitor.config_ledger import LedgerUnreachable, unreachable_line

EXIT_CONFIG = 2
EXIT_LEDGER = 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    common.add_argument("--data-dir", metavar="DIR", help="where the ledger and store live")
    common.add_argument("--store", metavar="URL",
                        help="time-series store: embedded, influxdb://[user@]host:port/db[?rp=RP]"
                             ", influxdb2://host:port?org=O&bucket=B or "
                             "victoriametrics://host:port")
    common.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser = argparse.ArgumentParser(prog="python -m monitor",
                                     description="Infra Ledger (政务云网算力一本账)")
    parser.add_argument("--lang", dest="global_lang", choices=list(i18n.LANGUAGES),
                        help="language of messages (default: the configured one, zh)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="run scheduler and web UI")
    run.add_argument("--host", help="web listen address (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="web listen port (default 8080)")
    scheduler = sub.add_parser("scheduler", parents=[common], help="run the scheduler alone")
    scheduler.add_argument("--zone", metavar="ZONE",
                           help="poll only this zone's targets (central writes the ledger; "
                                "any other zone reports to zone.center_url)")
    sub.add_parser("check-config", parents=[common], help="validate the configuration")
    db = sub.add_parser("db", parents=[common], help="ledger database")
    db.add_argument("action", choices=["upgrade"])
    collect = sub.add_parser("collect", parents=[common], help="poll one target, print JSON")
    kind_parsers = collect.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in kinds():
        _add_collect_parser(kind_parsers, get_collector(kind), common)
    census_cli.add_parsers(sub, common)
    analysis_cli.add_parsers(sub, common)
    ledger_cli.add_parser(sub, common)
    report_cli.add_parser(sub, common)
    user_cli.add_parsers(sub, common)
    alerts_cli.add_parsers(sub, common)
    demo_cli.add_parser(sub)
    discover = sub.add_parser("discover", parents=[common],
                              help="sweep CIDR ranges for SNMP agents, propose targets")
    discover.add_argument("cidr", nargs="+", help="ranges such as 10.1.0.0/24")
    discover.add_argument("--max-hosts", type=int, default=4096,
                          help="refuse larger ranges (default 4096 addresses each)")
    discover.add_argument("--concurrency", type=int, default=256)
    discover.add_argument("--timeout", type=float, default=1.0, help="seconds per address")
    discover.add_argument("--retries", type=int, default=0)
    for option in get_collector("snmp").options:
        if option.name in ("port", "version", "community", "user", "auth_protocol",
                           "auth_key", "priv_protocol", "priv_key", "context",
                           "profile_dirs"):
            _add_option(discover, option)
    return parser


def _add_collect_parser(sub, collector: type[Collector], common) -> None:
    parser = sub.add_parser(collector.kind, parents=[common], help=collector.description)
    parser.add_argument("--once", action="store_true", help="poll once and exit")
    parser.add_argument("--interval", type=float, default=15.0,
                        help="seconds between polls without --once")
    parser.add_argument("--timeout", type=float, default=10.0, help="poll timeout in seconds")
    parser.add_argument("--target", metavar="NAME",
                        help="take options and tags from this target in --config")
    for option in collector.options:
        _add_option(parser, option)


def _add_option(parser: argparse.ArgumentParser, option: Option) -> None:
    flag = "--" + option.name.replace("_", "-")
    help_text = option.help + ("" if option.secret else f" (default: {option.default!r})")
    if option.type is bool:
        parser.add_argument(flag, dest=f"opt_{option.name}", default=None,
                            action=argparse.BooleanOptionalAction, help=help_text)
    elif option.type is list:
        parser.add_argument(flag, dest=f"opt_{option.name}", default=None,
                            type=lambda text: [p for p in text.split(",") if p],
                            help=help_text + "; comma-separated")
    elif option.type is dict:
        parser.add_argument(flag, dest=f"opt_{option.name}", default=None, type=_pairs,
                            help=help_text + "; KEY=VALUE,KEY=VALUE")
    else:
        parser.add_argument(flag, dest=f"opt_{option.name}", default=None, type=option.type,
                            help=help_text)


def _pairs(text: str) -> dict[str, str]:
    """``a=b,c=d`` as a mapping (a dict option on the command line)."""
    pairs = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{part!r} is not KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    _environment_defaults(args)
    install_logging(args.log_level)
    if args.command == "demo":
        return demo_cli.run(args)
    alert_settings = None
    try:
        settings = load_settings(args.config, data_dir=args.data_dir, store_url=args.store,
                                 host=getattr(args, "host", None), port=getattr(args, "port", None),
                                 unreadable_secrets="warn" if args.command == "check-config"
                                 else "error")
        if args.command in ("run", "scheduler", "check-config", "alerts"):
            alert_settings = _alert_settings(settings)
    except ConfigError as exc:
        _print_config_errors(exc)
        return EXIT_CONFIG
    # One language for every message of this run: a command's own --lang, the global one,
    # then the configuration's.
    args.lang = getattr(args, "lang", None) or args.global_lang or settings.language
    # For this run only: a caller in the same process (a test, an embedding script) keeps
    # its own language afterwards.
    token = i18n.push(args.lang)
    try:
        return _dispatch(args, settings, alert_settings)
    except OperationalError as exc:
        # The ledger's database does not answer (refused, unknown host or database, bad
        # credentials, a SQLite file that cannot be opened): say so in one line.
        print(unreachable_line(settings.source, settings.ledger_url, exc), file=sys.stderr)
        return EXIT_LEDGER
    except LedgerUnreachable as exc:     # the web app's factory said it already
        print(exc, file=sys.stderr)
        return EXIT_LEDGER
    finally:
        i18n.pop(token)


def _environment_defaults(args: argparse.Namespace) -> None:
    """``INFRA_LEDGER_CONFIG`` and ``INFRA_LEDGER_DATA_DIR`` stand in for an absent
    ``--config`` / ``--data-dir``, as they do for the web application, so the CLI and the
    web read the same ledger."""
    if getattr(args, "config", None) is None:
        args.config = os.environ.get("INFRA_LEDGER_CONFIG") or None
    if getattr(args, "data_dir", None) is None:
        args.data_dir = os.environ.get("INFRA_LEDGER_DATA_DIR") or None


def _dispatch(args: argparse.Namespace, settings: Settings, alert_settings) -> int:
    if args.command == "alerts":
        return alerts_cli.run(args, settings)
    if args.command == "collect":
        return _collect(args, settings)
    if args.command == "check-config":
        return _check_config(settings, alert_settings)
    if args.command in ("census", "audit"):
        return census_cli.run(args, settings)
    if args.command in ("poll", "reconcile", "findings"):
        return analysis_cli.run(args, settings)
    if args.command == "ledger":
        return ledger_cli.run(args, settings)
    if args.command == "report":
        return report_cli.run(args, settings)
    if args.command == "user":
        return user_cli.run(args, settings)
    if args.command == "discover":
        from monitor.discover_cli import run_discover
        return run_discover(args)
    from monitor import service
    if args.command == "db":
        return service.upgrade_ledger(settings)
    if args.command == "scheduler":
        def reload():
            return load_settings(args.config, data_dir=args.data_dir, store_url=args.store)
        return service.run_scheduler(settings, args.zone, reload)
    return service.run_all(settings)


def _alert_settings(settings: Settings):
    """The validated ``alerts`` section (the alert package sits above this entry point's
    other layers, so it is imported only here and in the process wiring)."""
    from alerts.config import parse_alerts
    return parse_alerts(settings)


def _print_config_errors(exc: ConfigError) -> None:
    problems = exc.problems
    if len(problems) == 1:
        print(f"配置错误 (configuration error): {redact(str(problems[0]))}", file=sys.stderr)
        return
    print(f"{len(problems)} 个配置错误 ({len(problems)} configuration errors):", file=sys.stderr)
    for problem in problems:
        print(f"  {redact(str(problem))}", file=sys.stderr)


class RedactFilter(logging.Filter):
    """Hides URL credentials in every record a handler writes (libraries log URLs too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # A traceback repeats the exception's message, URL and all.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FORMATTER = logging.Formatter()


def redact_handlers(*loggers: str) -> None:
    """Add :class:`RedactFilter` to the handlers of the root logger and of ``loggers``."""
    for name in (None, *loggers):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                handler.addFilter(RedactFilter())


def install_logging(level: str) -> None:
    """Log to stderr at ``level``, without library chatter and without URL credentials."""
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_handlers()
    # Library chatter (every job run, every migration plugin) hides what matters.
    for noisy in ("apscheduler", "alembic", "redfish", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _check_config(settings: Settings, alerts) -> int:
    print(f"OK: {settings.source}")
    print(f"data_dir: {settings.data_dir}")
    print(f"web: http://{settings.web_host}:{settings.web_port} ({settings.language})")
    print(f"store: {redact(settings.store_backend)}; spool: {settings.spool_path}; "
          f"ledger: {redact(settings.ledger_url)}")
    for target in settings.targets:
        print(f"target {target.name}: {target.kind} every {target.interval:g}s "
              f"(timeout {target.timeout:g}s) zone={target.zone} tags={target.tags}")
    for rule in alerts.rules:
        print(f"alert rule {rule.name}: {rule.kind} severity={rule.severity} "
              f"for={rule.for_seconds:g}s")
    for name, integrations in sorted(alerts.routing.receivers.items()):
        # Kinds only: URLs, tokens and passwords are never printed.
        print(f"alert receiver {name}: {', '.join(i.kind for i in integrations) or 'none'}")
    from monitor.config_check import alert_warnings, census_warnings, report_lines
    for line in report_lines(settings):
        print(line)
    for line in (*settings.warnings, *census_warnings(settings), *alert_warnings(alerts)):
        print(f"警告 (warning): {redact(line)}")
    return 0


def _collect(args: argparse.Namespace, settings: Settings) -> int:
    from monitor import service
    collector_cls = get_collector(args.kind)
    options, tags, name = {}, {}, args.kind
    if args.target:
        match = [t for t in settings.targets if t.name == args.target]
        if not match or match[0].kind != args.kind:
            print(f"错误 (error): no {args.kind} target named {args.target!r} in "
                  f"{settings.source}", file=sys.stderr)
            return EXIT_CONFIG
        options, tags, name = dict(match[0].options), dict(match[0].tags), match[0].name
    for option in collector_cls.options:
        value = getattr(args, f"opt_{option.name}")
        if value is not None:
            options[option.name] = value
    try:
        collector = collector_cls(name, options, args.timeout)
    except ValueError as exc:
        print(f"参数错误 (option error): {exc}", file=sys.stderr)
        return EXIT_CONFIG
    ok = service.collect_to_stream(collector, tags, sys.stdout, once=args.once,
                                   interval=args.interval, timeout=args.timeout)
    return 0 if ok else 1

