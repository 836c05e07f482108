"""``alerts …``: alerts from the command line.

- ``alerts list [--state S]... [--severity S] [--department D] [--json]``: alerts (default:
  firing, pending and silenced).
- ``alerts silence add --matcher 'severity="critical"'... --duration 2h|--until TIME
  --comment TEXT [--author NAME]``, ``alerts silence list``, ``alerts silence expire ID``.
- ``alerts test-notify RECEIVER``: send a test message through every integration of a
  receiver now and print, per integration, sent or why not (secrets are never printed).
- ``alerts run``: one evaluation, dispatch and delivery round, then exit (for cron, or to
  finish delivering after a stop).

Text in the configured language (``--lang`` overrides). The alert package sits above this
one, so it is imported only when these commands run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys

from monitor.config import Settings
from monitor.timetext import local_time
from monitor.units import parse_duration

UTC = dt.timezone.utc
WORDS = {
    "zh": {"none": "没有符合条件的告警。", "silenced": "已创建静默 #{id}，至 {end}",
           "expired": "静默 #{id} 已结束", "no_silence": "没有静默 #{id}",
           "sent": "已发送", "failed": "发送失败", "no_receiver": "没有名为 {name} 的接收者；已配置：{names}",
           "round": "评估 {rules} 条规则：新待触发 {pending}，新告警 {firing}，已恢复 {resolved}；"
                    "发送 {sent}，失败 {failed}，待重试 {retried}",
           "silences_none": "没有静默。"},
    "en": {"none": "No alerts match.", "silenced": "Silence #{id} created, until {end}",
           "expired": "Silence #{id} expired", "no_silence": "No silence #{id}",
           "sent": "sent", "failed": "failed", "no_receiver": "no receiver named {name}; "
           "configured: {names}",
           "round": "evaluated {rules} rules: {pending} new pending, {firing} new firing, "
                    "{resolved} resolved; sent {sent}, failed {failed}, to retry {retried}",
           "silences_none": "No silences."},
}


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add ``alerts`` to the command parser."""
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", choices=["zh", "en"], help="language of the output")
    lang.add_argument("--json", action="store_true", help="JSON on stdout")
    alerts = sub.add_parser("alerts", parents=[common], help="alerts, silences, notifications")
    actions = alerts.add_subparsers(dest="alerts_action", required=True)
    listing = actions.add_parser("list", parents=[common, lang], help="list alerts")
    listing.add_argument("--state", action="append",
                         choices=["firing", "pending", "silenced", "resolved", "inactive"])
    listing.add_argument("--severity", choices=["critical", "warning", "info"])
    listing.add_argument("--department", metavar="CODE")
    listing.add_argument("--data-center", metavar="CODE")
    silence = actions.add_parser("silence", parents=[common, lang], help="silences")
    silence.add_argument("silence_action", choices=["add", "list", "expire"])
    silence.add_argument("id", nargs="?", type=int, help="silence id (expire)")
    silence.add_argument("--matcher", action="append", default=[],
                         help='label matcher such as severity="critical" (repeatable)')
    silence.add_argument("--duration", help="how long, such as 2h (default 2h)")
    silence.add_argument("--until", help="end time (ISO 8601, local time zone if none)")
    silence.add_argument("--comment", help="why (required)")
    silence.add_argument("--author", help="who (default: the login name)")
    notify = actions.add_parser("test-notify", parents=[common, lang],
                                help="send a test message through a receiver")
    notify.add_argument("receiver")
    actions.add_parser("run", parents=[common, lang],
                       help="evaluate, dispatch and deliver once")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``alerts`` command."""
    from alerts.config import parse_alerts
    from ledger.db import Ledger

    config = parse_alerts(settings)
    language = args.lang or settings.language
    words = WORDS[language]
    ledger = Ledger(settings.ledger_url)
    try:
        if args.alerts_action == "list":
            return _list(args, ledger, language, words, settings.timezone)
        if args.alerts_action == "silence":
            return _silence(args, ledger, settings, words)
        if args.alerts_action == "test-notify":
            return _test_notify(args, config, language, words)
        return _run_once(settings, config, ledger, words, args.json)
    finally:
        ledger.close()


def _list(args, ledger, language: str, words: dict, timezone: str) -> int:
    from alerts import queries
    states = args.state or ["firing", "pending", "silenced"]
    with ledger.engine.connect() as conn:
        items, total = queries.page(conn, queries.View(), language, per_page=1000,
                                    states=states, severity=args.severity,
                                    department=args.department, data_center=args.data_center)
    if args.json:
        print(json.dumps({"items": items, "total": total}, ensure_ascii=False, indent=1))
        return 0
    if not items:
        print(words["none"])
    for item in items:
        since = local_time(item["fired_at"] or item["active_at"], timezone)
        muted = f" ({item['muted_by']})" if item["muted_by"] else ""
        print(f"#{item['id']} {item['state_label']}{muted} [{item['severity_label']}] "
              f"{item['summary']} — {item['rule']} {since}")
    return 0


def _silence(args, ledger, settings: Settings, words: dict) -> int:
    from alerts import silences
    now = dt.datetime.now(UTC)
    if args.silence_action == "list":
        with ledger.engine.connect() as conn:
            items = silences.listing(conn, now)
        if args.json:
            print(json.dumps(items, ensure_ascii=False, indent=1))
        for item in [] if args.json else items:
            print(f"#{item['id']} {item['status']} {' '.join(item['matchers'])} "
                  f"{local_time(item['starts_at'], settings.timezone)} → "
                  f"{local_time(item['ends_at'], settings.timezone)} {item['created_by']}: "
                  f"{item['comment']}")
        if not items and not args.json:
            print(words["silences_none"])
        return 0
    if args.silence_action == "expire":
        item = silences.expire(ledger.engine, args.id or 0, actor=args.author or
                               getpass.getuser())
        if item is None:
            print(words["no_silence"].format(id=args.id), file=sys.stderr)
            return 1
        print(words["expired"].format(id=args.id))
        return 0
    try:
        end = _end(args, settings, now)
        item = silences.create(ledger.engine, matchers=args.matcher, starts_at=now,
                               ends_at=end, created_by=args.author or getpass.getuser(),
                               comment=args.comment or "", now=now)
    except (ValueError, silences.SilenceError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    print(json.dumps(item, ensure_ascii=False) if args.json else
          words["silenced"].format(id=item["id"],
                                   end=local_time(item["ends_at"], settings.timezone)))
    return 0


def _end(args, settings: Settings, now: dt.datetime) -> dt.datetime:
    from zoneinfo import ZoneInfo
    if args.until:
        end = dt.datetime.fromisoformat(args.until)
        return end if end.tzinfo else end.replace(tzinfo=ZoneInfo(settings.timezone))
    return now + dt.timedelta(seconds=parse_duration(args.duration or "2h"))


def _test_notify(args, config, language: str, words: dict) -> int:
    from alerts.testnotify import send_test
    integrations = config.routing.receivers.get(args.receiver)
    if integrations is None:
        print(words["no_receiver"].format(name=args.receiver, names=", ".join(
            sorted(config.routing.receivers)) or "-"), file=sys.stderr)
        return 2
    failed = 0
    for key, error in send_test(config, integrations, language):
        failed += error is not None
        print(f"{key}: {words['sent'] if error is None else words['failed'] + ': ' + error}")
    return 1 if failed else 0


def _run_once(settings: Settings, config, ledger, words: dict, as_json: bool) -> int:
    from alerts.engine import AlertEngine
    from monitor.store import open_configured_store
    store = open_configured_store(settings, writer=False)
    try:
        engine = AlertEngine(settings, config, ledger.engine, store)
        engine.start()
        evaluation = engine.evaluate()
        engine.dispatch()
        delivered = engine.deliver()
    finally:
        store.close()
    figures = {"rules": evaluation.rules, **vars(evaluation.changes), **vars(delivered)}
    print(json.dumps(figures) if as_json else words["round"].format(**figures))
    return 1 if evaluation.failed else 0
