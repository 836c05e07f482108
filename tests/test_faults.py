"""Faults with real processes: no sample is lost and none is stored twice.

The monitor runs as a subprocess writing to a real influxd through its spool.
Ground truth is the ledger's count of samples the polls produced; InfluxDB is
counted per series and timestamp with its own InfluxQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectors.base import Sample
from ledger.db import Ledger
from ledger.status import target_states
from monitor.spool import Spool
from monitor.store.influx import InfluxStore
from monitor.writer import StoreWriter
from tests.servers import InfluxServer, free_port

REPO = Path(__file__).resolve().parent.parent


def start_monitor(tmp_path: Path, store_url: str) -> subprocess.Popen:
    config = tmp_path / "c.yaml"
    config.write_text("scheduler: {jitter: 0s}\n"
                      "targets:\n  - {name: h1, kind: host, interval: 1s}\n")
    log = open(tmp_path / "monitor.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config),
                             "--data-dir", str(tmp_path / "data"), "--port", str(free_port()),
                             "--store", store_url], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(60)


def produced(tmp_path: Path) -> int:
    ledger = Ledger(f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite'}")
    with ledger.session() as session:
        total = sum(s.samples_total for s in target_states(session))
    ledger.close()
    return total


def stored(server: InfluxServer, database: str) -> dict[tuple, int]:
    """Points per (measurement, series tags): distinct timestamps, whatever the field set."""
    out = {}
    answer = server.query(database, "SHOW MEASUREMENTS")
    for (name,) in answer["results"][0]["series"][0]["values"]:
        result = server.query(database, f'SELECT count(*) FROM "{name}" GROUP BY *')
        for series in result["results"][0].get("series", []):
            counts = [v for v in series["values"][0][1:] if v is not None]
            out[(name, tuple(sorted(series["tags"].items())))] = max(counts)
    return out


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def spool_empty(tmp_path: Path) -> bool:
    spool = Spool(tmp_path / "data" / "spool")
    try:
        return spool.pending_samples == 0
    finally:
        spool.close()


def test_influxd_down_for_60_seconds_loses_nothing(tmp_path):
    server = InfluxServer(tmp_path / "influxd").start()
    monitor = start_monitor(tmp_path, server.store_url("faults"))
    try:
        time.sleep(5)
        server.stop()
        time.sleep(60)
        server.start()
        time.sleep(5)
    finally:
        stop(monitor)
    assert spool_empty(tmp_path), "the monitor stopped with samples still spooled"
    counts = stored(server, "faults")
    server.stop()
    assert sum(counts.values()) == produced(tmp_path)
    mem = counts[("mem", (("target", "h1"),))]
    assert mem >= 65  # one poll a second across the whole outage


def test_sigkill_mid_run_loses_nothing(tmp_path):
    server = InfluxServer(tmp_path / "influxd").start()
    first = start_monitor(tmp_path, server.store_url("killed"))
    time.sleep(6)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(30)
    second = start_monitor(tmp_path, server.store_url("killed"))
    try:
        time.sleep(6)
    finally:
        stop(second)
    counts = stored(server, "killed")
    server.stop()
    # A kill can land between spooling a poll and counting it in the ledger, so
    # InfluxDB may hold one poll more than the ledger counted, never fewer.
    assert sum(counts.values()) >= produced(tmp_path)
    assert spool_empty(tmp_path)


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
