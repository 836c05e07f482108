"""Zones end to end, every part real: PostgreSQL (ledger and each zone's coordination
database), VictoriaMetrics, the center under gunicorn, snmpsim and snmpd agents, and
scheduler processes in two zones.

East starts with members A and B, west with C. Then A is killed (SIGKILL), west is cut
off from the center and the store for a minute (a loopback proxy stops), D joins east,
A comes back, west's link returns, and every scheduler stops. Checked from the store and
the ledger: no slot of any target polled twice, none left out but the slots of a killed
member's targets until its lease runs out, every poll's outcome and facts in the ledger
exactly once, and each zone collector listed with its contact and targets.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from dashboards import create_app
from ledger.db import Ledger
from ledger.models import ObservedAsset, TargetState, ZoneCollector
from monitor.config import load_settings
from monitor.coordination import hashing
from monitor.store import open_store
from tests.collectors.snmp.conftest import SNMPREC
from tests.conftest import PG_ADMIN_URL
from tests.dashboards.users import FAST_HASHER, make_token, make_user
from tests.servers import (SnmpdServer, SnmpSimServer, TcpProxy, VictoriaMetricsServer,
                           free_port)

REPO = Path(__file__).resolve().parent.parent
#: Polls time out well before the next slot, so a slow agent fails a poll (counted in the
#: ledger) rather than making the scheduler skip the next slot.
INTERVAL, TIMEOUT, LEASE, CUT_SECONDS = 10.0, 4.0, 10.0, 60.0
#: Small recordings: snmpsim (Python) answers them well within the interval on 2 busy cores.
EAST = ["fortigate_60f", "zxr10_5950", "stoneos", "liebert_apm", "apc_smx750i",
        "apc_ap8959eu3"]
WEST = ["netagent2_1", "huaweiups_ups2000"]


def temp_database() -> str:
    name = f"il_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def config_text(ledger_url, store_url, center_url, coordination_url, snmpsim, snmpd) -> str:
    targets = [{"name": f"east-{c}", "kind": "snmp", "zone": "east",
                "options": {"host": "127.0.0.1", "port": snmpsim.port, "community": c}}
               for c in EAST]
    targets += [{"name": f"west-{c}", "kind": "snmp", "zone": "west",
                 "options": {"host": "127.0.0.1", "port": snmpsim.port, "community": c}}
                for c in WEST]
    targets.append({"name": "west-snmpd", "kind": "snmp", "zone": "west",
                    "options": {"host": "127.0.0.1", "port": snmpd.port,
                                "community": SnmpdServer.COMMUNITY}})
    return json.dumps({
        "ledger": {"url": ledger_url}, "store": {"backend": store_url},
        "scheduler": {"interval": f"{INTERVAL:g}s", "timeout": f"{TIMEOUT:g}s",
                      "jitter": "0s"},
        "zone": {"center_url": center_url, "coordination_url": coordination_url,
                 "lease": f"{LEASE:g}s"},
        "targets": targets}, ensure_ascii=False)


class Cluster:
    """Every process of the test, started and stopped by PID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = dict(os.environ)

    def start(self, name: str, args: list[str], env: dict | None = None) -> None:
        log = open(self.folder / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT,
                                            env={**self.env, **(env or {})})
        log.close()

    def scheduler(self, name: str, zone: str, config: Path) -> None:
        self.start(name, ["-m", "monitor", "scheduler", "--zone", zone, "--config",
                          str(config), "--data-dir", str(self.folder / f"data-{name}")])

    def signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        proc.wait(60)

    def stop_all(self) -> None:
        for name in list(self.procs):
            if self.procs[name].poll() is None:
                self.signal(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def agents(tmp_path):
    snmpsim = SnmpSimServer(tmp_path / "snmpsim", [SNMPREC], probe_community="apc_smx750i").start()
    snmpd = SnmpdServer(tmp_path / "snmpd").start()
    yield snmpsim, snmpd
    snmpsim.stop()
    snmpd.stop()


@pytest.fixture
def victoria(tmp_path):
    server = VictoriaMetricsServer(tmp_path / "vm").start()
    yield server
    server.stop()


@pytest.fixture
def databases():
    names = {key: temp_database() for key in ("ledger", "east", "west")}
    yield {key: sqlalchemy_url(name) for key, name in names.items()}
    for name in names.values():
        drop_database(name)


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds:g}s: {what}")


def test_three_schedulers_two_zones_a_kill_a_join_and_a_cut(tmp_path, agents, victoria,
                                                            databases):
    snmpsim, snmpd = agents
    web_port = free_port()
    center_url = f"http://127.0.0.1:{web_port}"
    west_web, west_store = TcpProxy(web_port).start(), TcpProxy(victoria.port).start()
    configs = {}
    for zone, center, store in (
            ("center", center_url, victoria.store_url),
            ("east", center_url, victoria.store_url),
            ("west", f"http://{west_web.address}",
             f"victoriametrics://{west_store.address}")):
        configs[zone] = tmp_path / f"{zone}.json"   # JSON is YAML
        configs[zone].write_text(config_text(databases["ledger"], store, center,
                                             databases.get(zone, databases["east"]),
                                             snmpsim, snmpd), encoding="utf-8")
    center_dir = tmp_path / "data-center"
    settings = load_settings(configs["center"], data_dir=str(center_dir))
    ledger = Ledger(settings.ledger_url)
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": object(),
                      "PASSWORD_HASHER": FAST_HASHER})
    tokens = {}
    for zone in ("east", "west"):
        make_user(app, f"zone-{zone}", {"zone_collector"}, zone=zone)
        tokens[zone] = make_token(app, f"zone-{zone}", {"zone_collector"})
    cluster = Cluster(tmp_path)
    cluster.start("center", ["-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{web_port}",
                             "wsgi:app"],
                  env={"INFRA_LEDGER_CONFIG": str(configs["center"]),
                       "INFRA_LEDGER_DATA_DIR": str(center_dir)})
    events = {}
    try:
        wait_for(lambda: _answers(center_url), 60, "the center answers")
        cluster.env["INFRA_LEDGER_ZONE_TOKEN"] = tokens["east"]
        for name in ("A", "B"):
            cluster.scheduler(name, "east", configs["east"])
        cluster.env["INFRA_LEDGER_ZONE_TOKEN"] = tokens["west"]
        cluster.scheduler("C", "west", configs["west"])
        events["started"] = time.time()
        time.sleep(25)
        members = _members(tmp_path)
        cluster.signal("A", signal.SIGKILL)
        events["killed"] = time.time()
        west_web.cut()
        west_store.cut()
        events["cut"] = time.time()
        time.sleep(15)
        cluster.env["INFRA_LEDGER_ZONE_TOKEN"] = tokens["east"]
        cluster.scheduler("D", "east", configs["east"])
        events["joined"] = time.time()
        time.sleep(15)
        cluster.scheduler("A", "east", configs["east"])    # systemd restarts it
        time.sleep(CUT_SECONDS - 30)
        west_web.start()
        west_store.start()
        events["mended"] = time.time()
        time.sleep(15)
        events["stopping"] = time.time()
        for name in ("A", "B", "C", "D"):
            cluster.signal(name, signal.SIGTERM)
        assert all(cluster.procs[n].returncode == 0 for n in "ABCD"), cluster.log("A")
        members = _members(tmp_path)
        with ledger.session() as session:
            seen = {row.member: row for row in session.scalars(select(ZoneCollector))}
            states = {s.name: s for s in session.scalars(select(TargetState))}
            assets = {}
            for asset in session.scalars(select(ObservedAsset)):
                assets.setdefault(asset.source, []).append(asset)
    finally:
        cluster.stop_all()
        west_web.cut()
        west_store.cut()
        ledger.close()
    # Every zone collector is listed, with its zone; C's contact came after the cut ended.
    assert {seen[m].zone for m in members.values()} == {"east", "west"}
    assert set(members.values()) <= set(seen)
    assert seen[members["C"]].last_contact.timestamp() > events["mended"]
    victoria.flush()
    store = open_store(victoria.store_url, path=tmp_path)
    points = {s.key.tag_dict["target"]: [t for t, _ in s.points] for s in
              store.query("snmp", "uptime_seconds", events["started"] - 5, time.time())}
    store.close()
    targets = [t for t in settings.targets]
    assert set(points) == {t.name for t in targets}
    killed_owned = {t.name for t in targets if t.zone == "east"
                    and hashing.owner(t.name, [members["A"], members["B"]]) == members["A"]}
    assert killed_owned
    for target in targets:
        phase = hashing.phase(target.name, INTERVAL)
        # A poll starts at its slot and ends within its timeout (at most the interval), so
        # its samples' time falls inside the slot.
        slots = [math.floor((ts - phase) / INTERVAL) for ts in points[target.name]]
        # No slot polled twice, by whichever members.
        assert len(slots) == len(set(slots)), (target.name, sorted(slots))
        state = states[target.name]
        # No slot left out after the start settled and before the stop, except those of a
        # killed member's targets until its lease ran out; a poll that failed (a cold
        # member's first, inventory-reading poll of a slow agent) leaves no samples but
        # is counted in the ledger, so it explains one slot without points.
        first = math.ceil((events["started"] + 15 - phase) / INTERVAL)
        last = math.floor((events["stopping"] - 2 - phase) / INTERVAL)
        latest = events["killed"] + LEASE + INTERVAL
        missing = [k for k in range(first, last) if k not in set(slots) and not (
            target.name in killed_owned and k * INTERVAL + phase <= latest)]
        assert len(missing) <= state.failures_total, (target.name, missing)
        # Every poll's outcome reached the ledger once: polls there = points in the store
        # (a SIGKILL between a poll's two appends may split one poll of a killed member).
        polls = state.polls_total - state.failures_total
        tolerance = 1 if target.name in killed_owned else 0
        assert 0 <= len(slots) - polls <= tolerance, (target.name, len(slots), polls)
        # Facts: one observed device per target, updated in place, never doubled.
        assert len(assets[target.name]) == 1, target.name
    # The handover after the kill settled within one lease period: each of the killed
    # member's targets has a point within a lease and an interval after the kill.
    for name in killed_owned:
        assert any(events["killed"] < ts <= events["killed"] + LEASE + INTERVAL
                   for ts in points[name]), name


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/login", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _members(folder: Path) -> dict[str, str]:
    return {name: (folder / f"data-{name}" / "member-id").read_text().strip()
            for name in "ABCD" if (folder / f"data-{name}" / "member-id").exists()}
