"""Faults with real processes: no sample the monitor accepted is lost, none is stored twice.

The monitor runs as a subprocess writing to a real influxd through its spool. Its
target (``tests/faultmonitor.py``) logs the timestamp of every poll it produces; the
store is read back per series and timestamp with influxd's own InfluxQL and must
hold every produced poll of every series exactly once, and nothing else, except the
polls a fault kept the monitor from accepting (a poll in flight at SIGKILL, a poll
refused while the disk was full), which are named and bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest

from collectors.base import Sample
from monitor.lineprotocol import TAG, storable_name
from monitor.spool import Spool
from monitor.store.influx import InfluxStore
from monitor.writer import StoreWriter
from tests.conftest import PG_ADMIN_URL
from tests.faultmonitor import UNIT_TAGS
from tests.fullfs import SmallFilesystem
from tests.servers import InfluxServer, free_port

REPO = Path(__file__).resolve().parent.parent
UNITS = 60


class MonitorProcess:
    """``monitor run`` on a sequence target, started and stopped by PID."""

    def __init__(self, tmp_path: Path, store_url: str, data_dir: Path,
                 ledger_url: str | None = None) -> None:
        self.log = tmp_path / "produced.log"
        self.port = free_port()
        self.config = tmp_path / "c.yaml"
        ledger = f"ledger: {{url: '{ledger_url}'}}\n" if ledger_url else ""
        self.config.write_text(
            f"{ledger}scheduler: {{jitter: 0s}}\ntargets:\n"
            f"  - {{name: h1, kind: sequence, interval: 1s, "
            f"options: {{log: '{self.log}', units: {UNITS}}}}}\n")
        self.args = [sys.executable, "-m", "tests.faultmonitor", "run", "--config",
                     str(self.config), "--data-dir", str(data_dir), "--port", str(self.port),
                     "--store", store_url]
        self.output = tmp_path / "monitor.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "MonitorProcess":
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(self.args, cwd=REPO, stdout=out,
                                         stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(60)

    def kill(self) -> int:
        """SIGKILL; return the time of the kill (ns)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        killed = time.time_ns()
        self.proc.wait(30)
        return killed

    def health(self) -> tuple[int, dict] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                        timeout=2) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            return None

    def produced(self) -> list[int]:
        return [int(line) for line in self.log.read_text().split()]


def stored(server: InfluxServer, database: str) -> list[tuple[str, int]]:
    """Every stored point of ``seq`` as (unit tag, timestamp ns), duplicates kept."""
    body = urllib.parse.urlencode({"db": database, "epoch": "ns",
                                   "q": "SELECT stamp_seconds FROM seq GROUP BY unit"}).encode()
    with urllib.request.urlopen(server.url + "/query", data=body, timeout=30) as reply:
        answer = json.loads(reply.read())
    return [(series["tags"]["unit"], row[0]) for series in answer["results"][0].get("series", [])
            for row in series["values"]]


def expected(stamps) -> list[tuple[str, int]]:
    return [(storable_name(unit, TAG), stamp) for stamp in stamps for unit in UNIT_TAGS[:UNITS]]


def check_exactly_once(points, produced, may_miss=()) -> set[int]:
    """Each stored point once, only produced ones, all of them but ``may_miss``; return missed."""
    assert len(points) == len(set(points)), "a point is stored twice"
    assert set(points) <= set(expected(produced)), "a point nobody produced is stored"
    stamps = {stamp for _, stamp in points}
    for stamp in stamps:  # a poll is stored whole: every series, never a part of it
        assert sorted(p for p in points if p[1] == stamp) == sorted(expected([stamp]))
    missed = set(produced) - stamps
    assert missed <= set(may_miss), f"lost accepted polls: {sorted(missed - set(may_miss))}"
    return missed


def spool_empty(data_dir: Path) -> bool:
    spool = Spool(data_dir / "spool")
    try:
        return spool.pending_samples == 0
    finally:
        spool.close()


def test_influxd_down_for_60_seconds_loses_nothing(tmp_path):
    server = InfluxServer(tmp_path / "influxd").start()
    monitor = MonitorProcess(tmp_path, server.store_url("faults"), tmp_path / "data").start()
    try:
        time.sleep(5)
        server.stop()
        time.sleep(60)
        server.start()
        time.sleep(5)
    finally:
        monitor.stop()
    assert spool_empty(tmp_path / "data"), "the monitor stopped with samples still spooled"
    points = stored(server, "faults")
    server.stop()
    produced = monitor.produced()
    check_exactly_once(points, produced)
    assert len(produced) >= 65  # one poll a second across the whole outage


def test_sigkill_mid_run_loses_nothing(tmp_path):
    server = InfluxServer(tmp_path / "influxd").start()
    monitor = MonitorProcess(tmp_path, server.store_url("killed"), tmp_path / "data").start()
    time.sleep(6)
    killed = monitor.kill()
    monitor.start()
    try:
        time.sleep(6)
    finally:
        monitor.stop()
    points = stored(server, "killed")
    server.stop()
    produced = monitor.produced()
    # A kill can land after a poll was produced and before it was spooled: only that poll
    # may be missing (the monitor never accepted it); a replay must not store it twice.
    in_flight = [s for s in produced if killed - 2 * 10**9 <= s <= killed][-1:]
    check_exactly_once(points, produced, may_miss=in_flight)
    assert spool_empty(tmp_path / "data")


def test_full_disk_influxd_down_ledger_restart_and_sigkill_lose_nothing(tmp_path, pg_url):
    """Every fault in one run: the store ends up with each accepted poll exactly once."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = SmallFilesystem(tmp_path / "small", size="8m").mount()
    server = InfluxServer(tmp_path / "influxd").start()
    monitor = MonitorProcess(tmp_path, server.store_url("all"), disk.path / "data", pg_url)
    database = pg_url.rsplit("/", 1)[1]
    try:
        monitor.start()
        time.sleep(4)
        server.stop()  # influxd down from here until nearly the end
        time.sleep(3)
        full_from = time.time_ns()
        disk.fill()
        seen = wait_for_health(monitor, 503, 15)
        assert seen["spool"] == "write failing"
        disk.free()
        full_until = time.time_ns()
        assert wait_for_health(monitor, 200, 15)["spool"] == "ok"
        restart_ledger(database, down_seconds=4)
        time.sleep(3)
        killed = monitor.kill()
        monitor.start()
        time.sleep(3)
        server.start()
        time.sleep(6)
        monitor.stop()
        points = stored(server, "all")
    finally:
        monitor.stop()
        server.stop()
        disk.unmount()
    produced = monitor.produced()
    refused = [s for s in produced if full_from <= s <= full_until]
    in_flight = [s for s in produced if killed - 2 * 10**9 <= s <= killed][-1:]
    missed = check_exactly_once(points, produced, may_miss=refused + in_flight)
    assert missed & set(refused), "the full disk refused no poll: the test did not fill it"
    assert len(produced) >= 20


def wait_for_health(monitor: MonitorProcess, status: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = monitor.health()
        if answer and answer[0] == status:
            return answer[1]
        time.sleep(0.5)
    pytest.fail(f"/healthz did not answer {status} within {seconds}s: {monitor.health()}")


def restart_ledger(database: str, down_seconds: float) -> None:
    """Take the ledger's own database away (its connections terminated), then back."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
        time.sleep(down_seconds)
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


def test_a_refused_batch_is_set_aside_and_later_batches_flow(tmp_path, influx_server,
                                                             influx_db):
    store = InfluxStore(influx_server.store_url(influx_db))  # creates the database
    now = time.time_ns()
    # A string field in the same shard makes InfluxDB refuse our float for it (HTTP 400).
    influx_server.write(influx_db, b'ups,target=u1 load_percent="n/a" %d\n' % (now - 10**9))
    writer = StoreWriter(store, Spool(tmp_path / "spool"), flush_seconds=0.05)
    writer.submit([Sample("ups", {"target": "u1"}, {"load_percent": 40.0}, now)])
    writer.submit([Sample("ups", {"target": "u2"}, {"runtime_seconds": 600.0}, now)])
    writer.start()
    assert writer.flush(20)
    writer.stop()
    store.close()
    (reason,) = (tmp_path / "spool" / "rejected").glob("*.json")
    assert "field type conflict" in reason.read_text()
    answer = influx_server.query(influx_db, 'SELECT "runtime_seconds" FROM "ups"')
    assert answer["results"][0]["series"][0]["values"][0][1] == 600.0
