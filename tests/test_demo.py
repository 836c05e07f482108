"""``python -m monitor demo`` as a newcomer runs it: one command, a fresh data directory.

The demo runs as a subprocess on a free loopback port. Every account it prints signs in
over HTTP (administrators with their printed TOTP key); the reconciliation, findings,
compute, migration and KPI APIs show every discrepancy the demo plants; each audience
opens its pages in Debian's Chromium; Ctrl-C stops the demo and the snmpsim it started,
and a second run on the same data directory gives the same figures.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyotp
import pytest
import requests

from monitor.demo.estate import PLANTED
from tests.dashboards.users import field
from tests.servers import free_port

REPO = Path(__file__).resolve().parent.parent
READY = re.compile(r"http://127\.0\.0\.1:(\d+)/")
#: Domestic and foreign CPU vendors the generated platforms run on.
VENDORS = {"Huawei Kunpeng", "Hygon", "Phytium", "Intel"}


class Demo:
    """The demo command as a child process, its printed accounts and web address."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.accounts: dict[str, dict] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 600) -> "Demo":
        self.accounts, self.output = {}, []
        log = open(self.data_dir.parent / f"{self.data_dir.name}-stderr.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--port", str(self.port), "--data-dir",
             str(self.data_dir), "--log-level", "WARNING"], cwd=REPO, stdout=subprocess.PIPE,
            stderr=log, stdin=subprocess.DEVNULL, text=True, env={**os.environ})
        log.close()
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, f"demo exited: {self.output}"
                continue
            account = re.match(r"\s+(demo-\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+#", line)
            if account:
                name, role, password, totp = account.groups()
                self.accounts[name] = {"role": role.split("@")[0], "password": password,
                                       "totp": None if totp == "-" else totp}
            if READY.search(line):
                return self
        raise AssertionError(f"demo not ready in {seconds} s: {self.output}")

    def _read(self, stream) -> None:
        for line in stream:
            self.output.append(line)
            self.lines.put(line)

    def stop(self) -> int:
        """Ctrl-C, as a person at the terminal would; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(90)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(10)
            self.proc.stdout.close()


_USED_CODES: dict[str, str] = {}


def totp_code(secret: str) -> str:
    """A one-time code not used before (a code is accepted once)."""
    while True:
        code = pyotp.TOTP(secret).now()
        if _USED_CODES.get(secret) != code:
            _USED_CODES[secret] = code
            return code
        time.sleep(1)


def sign_in(demo: Demo, username: str) -> requests.Session:
    account = demo.accounts[username]
    session = requests.Session()
    page = session.get(f"{demo.base}/login", timeout=30).text
    response = session.post(f"{demo.base}/login", timeout=30, data={
        "username": username, "password": account["password"],
        "login_token": field(page, "login_token")})
    if response.url.endswith("/login/totp"):
        response = session.post(f"{demo.base}/login/totp", timeout=30, data={
            "code": totp_code(account["totp"]), "csrf_token": field(response.text, "csrf_token")})
    assert session.get(f"{demo.base}/account", timeout=30).status_code == 200, username
    return session


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("demo") / "data").start()
    yield demo
    if demo.proc.poll() is None:
        demo.stop()


def key(item: dict) -> str:
    """A finding's or pair's declared code, else its observed source."""
    return (item["declared"] or {}).get("code") or item["observed"]["source"]


def findings_of(session: requests.Session, demo: Demo) -> list[dict]:
    answer = session.get(f"{demo.base}/api/v1/findings?active=all&per_page=1000", timeout=60)
    assert answer.status_code == 200
    return answer.json()["items"]


def test_refuses_to_listen_beyond_loopback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "monitor", "demo", "--host", "0.0.0.0",
                           "--data-dir", str(tmp_path / "data")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "0.0.0.0" in done.stderr and "回环" in done.stderr
    assert not (tmp_path / "data").exists()


def test_one_account_per_audience_each_signs_in(demo):
    roles = {a["role"] for a in demo.accounts.values()}
    assert roles == {"data_officer", "operator", "finance", "leader", "system_admin",
                     "security_admin", "audit_admin"}
    assert all(len(a["password"]) >= 12 for a in demo.accounts.values())
    for name, account in demo.accounts.items():
        assert (account["totp"] is not None) == account["role"].endswith("_admin"), name
        sign_in(demo, name)
    assert any("仅限演示数据" in line for line in demo.output)
    assert any("已导入演示普查表" in line for line in demo.output)


def test_every_planted_discrepancy_shows_in_the_apis(demo):
    finance = sign_in(demo, "demo-finance")
    answer = finance.get(f"{demo.base}/api/v1/reconciliation?per_page=1000", timeout=60).json()
    assert all(answer["summary"][outcome] > 0 for outcome in (
        "matched", "mismatch", "undeclared", "missing", "suspect", "conflict")), answer["summary"]
    outcomes: dict[str, set[str]] = {}
    for pair in answer["pairs"]:
        outcomes.setdefault(pair["outcome"], set()).add(key(pair))
    for outcome in ("matched", "mismatch", "undeclared", "missing", "suspect", "conflict"):
        assert set(PLANTED[outcome]) <= outcomes.get(outcome, set()), outcome

    found = findings_of(finance, demo)
    active: dict[str, set[str]] = {}
    for item in found:
        if item["active"]:
            active.setdefault(item["kind"], set()).add(key(item))
    for kind in ("mismatch", "undeclared", "missing", "suspect", "conflict", "oversized",
                 "migration_overdue", "network_overdue", "dc_still_active",
                 "unknown_department"):
        assert set(PLANTED[kind]) <= active.get(kind, set()), (kind, active.get(kind))
    idle = {key(i): i for i in found if i["kind"] == "idle"}
    assert set(PLANTED["idle"]) <= set(idle)
    assert idle["VM-IS04-APP"]["amount"] == "48000.00"
    assert idle["VM-IS04-APP"]["details"]["basis"] == "observed"
    assert idle["IS04"]["amount"] == "5200000.00"
    assert idle["IS05"]["details"]["basis"] == "declared"
    reclaimed = idle["DEV-SPARE-01"]
    assert (reclaimed["active"], reclaimed["state"], reclaimed["amount"]) == (
        False, "resolved", "210000.00")

    leader = sign_in(demo, "demo-leader")
    compute = leader.get(f"{demo.base}/api/v1/compute?by=platform", timeout=60).json()
    assert VENDORS <= {c["vendor"] for c in compute["composition"]}
    assert {g["key"] for g in compute["groups"]} >= {"CP01", "CP02"}
    assert compute["totals"]["hosts"] >= 11 and compute["totals"]["vcpus"] > 0
    kpi = leader.get(f"{demo.base}/api/v1/kpi", timeout=60).json()
    assert 0 < kpi["ledger_accuracy"]["value"] < 1
    assert 0 < kpi["idle_investment_reclaimed"]["value"] < 1
    assert float(kpi["idle_investment"]["value"]) > 0
    migration = leader.get(f"{demo.base}/api/v1/migration", timeout=60).json()
    systems = {s["code"]: s for s in migration["systems"]}
    assert systems["IS02"]["status"] == "in_progress" and not systems["IS02"]["overdue"]
    assert systems["IS03"]["overdue"]
    networks = {n["code"]: n for n in migration["networks"]}
    assert networks["NET01"]["overdue"] and networks["NET01"]["evidence"]["devices_answering"]


def test_alerts_fire_from_the_demo_rules(demo):
    operator = sign_in(demo, "demo-operator")
    answer = operator.get(f"{demo.base}/api/v1/alerts?per_page=1000", timeout=60)
    assert answer.status_code == 200
    names = {item["labels"]["alertname"] for item in answer.json()["items"]}
    assert {"ledger_findings", "cpu_busy"} <= names, names
    silences = operator.get(f"{demo.base}/api/v1/silences", timeout=60).json()["items"]
    assert any("sw-core-01" in str(item["matchers"]) for item in silences)


def test_the_data_officer_sees_the_police_and_its_sub_departments_only(demo):
    officer = sign_in(demo, "demo-officer")
    found = findings_of(officer, demo)
    assert {i["department"] for i in found} <= {"D02", "D0201", "D0202"}
    codes = {key(i) for i in found}
    assert {"DEV-FW-A", "DC02", "IS03", "DEV-GHOST"} <= codes      # D02, D0201, D0202
    assert not codes & {"NET01", "IS05", "VM-IS04-APP", "DEV-DC01-AGG"}


#: What each audience must see on one of its pages: (path, text).
SEEN = {
    "demo-operator": ("/targets", "sw-core-01"),
    "demo-officer": ("/census?category=device", "DEV-FW-A"),
    "demo-finance": ("/census?category=information_system", "IS04"),
    "demo-leader": ("/overview", "D"),
    "demo-sysadmin": ("/admin/users", "demo-officer"),
    "demo-secadmin": ("/admin/users", "demo-auditor"),
    "demo-auditor": ("/audit", "demo"),
}


@pytest.mark.parametrize("username", sorted(SEEN))
def test_each_audience_opens_its_pages_in_chromium(demo, chromium, username):
    account = demo.accounts[username]
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{demo.base}/login")
        page.fill("#username", username)
        page.fill("#password", account["password"])
        page.click("#submit")
        if "/login/totp" in page.url:
            page.fill("#code", totp_code(account["totp"]))
            page.click("#submit")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.content()[:1000]
        links = page.eval_on_selector_all("#nav a", "links => links.map(a => a.href)")
        assert links, username
        for link in links:
            response = page.goto(link)
            assert response.status < 500, (username, link, response.status)
        path, text = SEEN[username]
        response = page.goto(f"{demo.base}{path}")
        assert response.status == 200 and text in page.content(), (username, path)
        if username == "demo-officer":
            assert "DEV-DC01-CORE" not in page.content()
        page.goto(f"{demo.base}{path}{'&' if '?' in path else '?'}lang=en")
        assert page.locator("html").get_attribute("lang").startswith("en"), username
        assert errors == []
    finally:
        context.close()


def test_ctrl_c_stops_what_it_started_and_a_rerun_gives_the_same_estate(demo):
    finance = sign_in(demo, "demo-finance")
    before = finance.get(f"{demo.base}/api/v1/reconciliation", timeout=60).json()["summary"]
    kinds_before = sorted((i["kind"], key(i), i["state"]) for i in findings_of(finance, demo))
    children = psutil.Process(demo.proc.pid).children(recursive=True)
    assert any("snmpsim" in " ".join(c.cmdline()) for c in children)
    assert demo.stop() == 0
    assert any("演示已停止" in line for line in demo.output)
    time.sleep(1)
    assert not [c.pid for c in children if c.is_running() and c.status() != "zombie"]

    demo.start()
    assert any("未重复导入" in line for line in demo.output)
    finance = sign_in(demo, "demo-finance")
    after = finance.get(f"{demo.base}/api/v1/reconciliation", timeout=60).json()["summary"]
    assert after == before
    kinds_after = sorted((i["kind"], key(i), i["state"]) for i in findings_of(finance, demo))
    assert kinds_after == kinds_before
    for name in demo.accounts:      # new passwords, printed again
        sign_in(demo, name)
