"""Alert evaluation: N threshold rules over N series, one cycle a minute (figures printed).

    python -m bench.alerts [--rules 10000] [--series 10000] [--points 5] [--firing 0.01]
                           [--ledger URL] [--cycles 3] [--influx]

A fresh embedded store (or, with ``--influx``, a database on an influxd of its own on
loopback, Debian influxdb 1.6) gets ``--series`` CPU series (tag ``target=host-i``) with one sample
a minute over the last ``--points`` minutes; ``--rules`` threshold rules (validated from
configuration, as ``check-config`` does) each watch one target's mean over 5 minutes, and
``--firing`` of them hold. A SQLite ledger (or ``--ledger``) keeps the alerts. Printed per
cycle: wall and CPU seconds of one evaluation (store read, rule checks, state written to the
ledger) and its share of the 60-second interval; then the peak RSS. The first cycle inserts
the alerts, later ones only move them (the steady state); the last cycle also dispatches.
Goal: one cycle under 10% of the interval on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import tempfile
import time
from pathlib import Path

UTC = dt.timezone.utc
INTERVAL = 60.0


def fill(store, series: int, points: int, now: float) -> int:
    """One CPU sample a minute for ``points`` minutes per series."""
    from core.observation import Sample

    rng = random.Random(7)
    batch, written = [], 0
    for i in range(series):
        for minute in range(points):
            stamp = int((now - 60 * (points - minute) + 1) * 1e9)
            batch.append(Sample("cpu", {"target": f"host-{i}", "cpu": "cpu-total"},
                                {"usage_percent": rng.uniform(5, 60)}, stamp))
        if len(batch) >= 20000:
            written += store.write(batch)
            batch = []
    return written + (store.write(batch) if batch else 0)


def rules(count: int, series: int, firing: float) -> list[dict]:
    """``count`` rules, each on one target; a ``firing`` share has a threshold it crosses."""
    hot = max(1, int(count * firing))
    return [{"name": f"cpu_high_{i}", "kind": "threshold", "measurement": "cpu",
             "field": "usage_percent", "agg": "mean", "window": "5m", "op": ">",
             "value": 0 if i < hot else 95, "severity": "warning",
             "scope": {"tags": {"target": f"host-{i % series}"}}} for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--points", type=int, default=5)
    parser.add_argument("--firing", type=float, default=0.01)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--ledger", help="ledger URL (default: a fresh SQLite file)")
    parser.add_argument("--influx", action="store_true", help="InfluxDB instead of embedded")
    args = parser.parse_args()

    from alerts.config import parse_alerts
    from alerts.engine import AlertEngine
    from ledger.db import Ledger
    from monitor.config import parse_settings
    from monitor.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    now = time.time()
    server = None
    if args.influx:
        from tests.servers import InfluxServer
        server = InfluxServer(folder / "influxd").start()
        store = open_store(server.store_url("bench_alerts"), path=None)
    else:
        store = open_store("embedded", path=folder / "tsdb")
    started = time.perf_counter()
    written = fill(store, args.series, args.points, now)
    print(f"store: {args.series} series, {written} samples written in "
          f"{time.perf_counter() - started:.1f}s")
    url = args.ledger or f"sqlite:///{folder / 'ledger.sqlite'}"
    ledger = Ledger(url)
    section = {"rules": rules(args.rules, args.series, args.firing),
               "evaluation_interval": "60s",
               "route": {"receiver": "ops", "group_by": ["alertname"]},
               "receivers": [{"name": "ops"}]}
    started = time.perf_counter()
    settings = parse_settings({"alerts": section, "ledger": {"url": url}, "targets": []},
                              "(bench)", data_dir=str(folder))
    config = parse_alerts(settings)
    print(f"config: {len(config.rules)} rules validated in {time.perf_counter() - started:.2f}s")
    engine = AlertEngine(settings, config, ledger.engine, store)
    for cycle in range(1, args.cycles + 1):
        at = dt.datetime.fromtimestamp(now, UTC) + dt.timedelta(seconds=cycle)
        wall, cpu = time.perf_counter(), time.process_time()
        result = engine.evaluate(at)
        if cycle == args.cycles:
            engine.dispatch(at)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"cycle {cycle}: {wall:.2f}s wall, {cpu:.2f}s CPU = {100 * wall / INTERVAL:.1f}% "
              f"of a {INTERVAL:.0f}s interval; firing +{result.changes.firing}, "
              f"failed rules {len(result.failed)}"
              + ("; dispatched" if cycle == args.cycles else ""))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(this process; influxd apart)")
    store.close()
    ledger.close()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
