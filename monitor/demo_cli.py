"""``python -m monitor demo``: the demo estate, filled and served, in one command.

Starts snmpsim on a loopback port with the demo's recordings, builds the demo ledger
(:mod:`monitor.demo`), prints one account per audience with its generated password, then
runs the real scheduler against the agents and serves the web UI until Ctrl-C, which stops
the web server, the scheduler and snmpsim (only the processes the demo started). The
demo listens on loopback only; ``monitor run`` stays the production entry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import logging
import os
import signal
import sys
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
EXIT_REFUSED = 2
TEXT = {
    "zh": {"refused": "错误：演示只在本机回环地址上监听，拒绝 {host}（使用 127.0.0.1 或 ::1）",
           "building": "正在构建演示环境（数据目录 {dir}）……",
           "census": {True: "已导入演示普查表", False: "普查表已在台账中，未重复导入"},
           "polled": "已采集模拟设备 {ok}/{total} 台（其中一台 UPS 按设计不应答）",
           "history": "已写入 30 天演示历史：{samples} 个样本，{days} 天日汇总",
           "analyses": "对账：一致 {matched}，不一致 {mismatch}，漏报 {undeclared}，未发现 {missing}，"
                       "疑似失联 {suspect}，待核对 {conflict}",
           "accounts": "演示账户（仅限演示数据，每次启动重新生成口令）：",
           "head": ("账户", "角色", "口令", "动态口令密钥"),
           "totp": "管理员须输入动态口令：用上列密钥添加到身份验证器应用（或 oathtool --totp -b 密钥）。",
           "ready": "演示已就绪：{url}  （Ctrl-C 停止）",
           "stopped": "演示已停止。",
           "busy": "错误：{error}"},
    "en": {"refused": "error: the demo listens on loopback only; refusing {host} (use 127.0.0.1 "
                      "or ::1)",
           "building": "Building the demo estate (data directory {dir}) ...",
           "census": {True: "Demo census imported",
                      False: "The census is in the ledger already; not imported again"},
           "polled": "Polled {ok}/{total} simulated devices (one UPS is silent by design)",
           "history": "Wrote 30 days of demo history: {samples} samples, {days} daily summaries",
           "analyses": "Reconciled: matched {matched}, mismatch {mismatch}, undeclared "
                       "{undeclared}, missing {missing}, suspect {suspect}, conflict {conflict}",
           "accounts": "Demo accounts (demo data only; new passwords at every start):",
           "head": ("account", "role", "password", "TOTP key"),
           "totp": "Administrators need a one-time code: add the key above to an authenticator "
                   "app (or oathtool --totp -b KEY).",
           "ready": "Demo ready: {url}  (Ctrl-C stops it)",
           "stopped": "Demo stopped.",
           "busy": "error: {error}"},
}


def add_parser(sub) -> None:
    """Add ``demo`` to the command parser."""
    demo = sub.add_parser("demo", help="a demo estate with every page filled (loopback only)")
    demo.add_argument("--port", type=int, default=8080, help="web port (default 8080; 0: any)")
    demo.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    demo.add_argument("--data-dir", metavar="DIR",
                      help="demo data (default ~/.local/share/infra-ledger-demo)")
    demo.add_argument("--lang", choices=["zh", "en"], default="zh")
    demo.add_argument("--log-level", default="INFO",
                      choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    """The demo's own data directory, apart from the production default."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "infra-ledger-demo"


def run(args: argparse.Namespace) -> int:
    """Build and serve the demo until interrupted."""
    text = TEXT[args.lang]
    if not is_loopback(args.host):
        print(text["refused"].format(host=args.host), file=sys.stderr)
        return EXIT_REFUSED
    from monitor.demo.agents import AgentError
    from monitor.service import AlreadyRunning, _stop_on_sigterm, data_dir_lock
    _stop_on_sigterm()
    # A shell starts background jobs with SIGINT ignored; the demo promises Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    print(text["building"].format(dir=data_dir), flush=True)
    try:
        with data_dir_lock(data_dir):
            return _serve(args, data_dir, text)
    except (AlreadyRunning, AgentError, OSError) as exc:
        print(text["busy"].format(error=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(text["stopped"], flush=True)
        return 0


def _serve(args: argparse.Namespace, data_dir: Path, text: dict) -> int:
    import waitress

    from dashboards import create_app
    from ledger.db import Ledger
    from monitor.demo import demo_settings, fill
    from monitor.demo.agents import DemoAgents
    from monitor.scheduler import Monitor
    from monitor.service import attach_alerts
    from monitor.store import open_configured_store
    with DemoAgents(data_dir / "demo-agents") as agents:
        settings = demo_settings(data_dir, agent_port=agents.port, web_port=args.port)
        settings = _on_host(settings, args.host)
        ledger = Ledger(settings.ledger_url)
        store = open_configured_store(settings)
        try:
            result = fill(settings, ledger, store, progress=lambda step, **figures: print(
                _step(text, step, figures), flush=True))
            raise_alerts(ledger, store, settings, first_time=result.census_imported)
            print_accounts(result.accounts, args.lang, text)
            app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": store})
            server = waitress.create_server(app, host=args.host, port=args.port, threads=8)
            monitor = Monitor(settings, ledger, store)
            attach_alerts(monitor, settings, ledger, store)
            monitor.start()
            try:
                host = f"[{args.host}]" if ":" in args.host else args.host
                print(text["ready"].format(url=f"http://{host}:{server.effective_port}/"),
                      flush=True)
                server.run()
            except KeyboardInterrupt:
                pass
            finally:
                server.close()
                monitor.stop()
        finally:
            store.close()
            ledger.close()
    print(text["stopped"], flush=True)
    return 0


def _step(text: dict, step: str, figures: dict) -> str:
    """One line of progress: the step's sentence with its figures."""
    if step == "census":
        return "  " + text["census"][figures["imported"]]
    return "  " + text[step].format(**figures)


def _on_host(settings, host: str):
    import dataclasses
    return dataclasses.replace(settings, web_host=host)


def print_accounts(accounts, language: str, text: dict) -> None:
    """The demo accounts as a table on standard output."""
    print(text["accounts"])
    head = text["head"]
    print(f"  {head[0]:<15} {head[1]:<16} {head[2]:<22} {head[3]}")
    for account in accounts:
        label = account.label_zh if language == "zh" else account.label_en
        role = f"{account.role}{'@' + account.department if account.department else ''}"
        print(f"  {account.username:<15} {role:<16} {account.password:<22} "
              f"{account.totp_secret or '-'}    # {label}")
    print(text["totp"], flush=True)


def raise_alerts(ledger, store, settings, *, first_time: bool) -> dict:
    """Evaluate the demo's alert rules once, so alerts exist before the scheduler runs them;
    the first time, a maintenance silence on the core switch's CPU alert too."""
    from alerts import silences
    from alerts.config import parse_alerts
    from alerts.engine import AlertEngine
    evaluation = AlertEngine(settings, parse_alerts(settings), ledger.engine, store).evaluate()
    if first_time:
        now = dt.datetime.now(dt.timezone.utc)
        silences.create(ledger.engine, matchers=['alertname="cpu_busy"',
                                                 'target="sw-core-01"'],
                        starts_at=now, ends_at=now + dt.timedelta(days=7), created_by="demo",
                        comment="核心交换机扩容割接（演示）")
    return {"firing": evaluation.changes.firing, "failed": evaluation.failed}
