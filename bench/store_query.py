"""Benchmark: the dashboard query on the embedded store against the same query on InfluxDB.

1,000 series of 15-second samples over two hours are written to both stores; the query is
"1-minute means over all 1,000 series for the last hour", as a dashboard asks it. The
embedded store is measured before and after its rollups run. Prints the median of several
runs for each. Run: python -m bench.store_query
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from core.observation import Sample
from monitor.store.embedded import EmbeddedStore
from monitor.store.influx import InfluxStore
from tests.servers import InfluxServer

RETENTION = {"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400}


def samples(series: int, hours: int, end: int) -> list[Sample]:
    start = end - hours * 3600
    return [Sample("cpu", {"target": f"host{i:04d}", "cpu": "cpu-total"},
                   {"usage_percent": float((i + step) % 100)}, (start + 15 * step) * 10**9)
            for step in range(hours * 240) for i in range(series)]


def timed(run, repeat: int) -> tuple[float, int]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), sum(len(s.points) for s in result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    end = int(time.time()) // 60 * 60
    data = samples(args.series, 2, end)
    with tempfile.TemporaryDirectory() as tmp:
        server = InfluxServer(Path(tmp) / "influxd").start()
        try:
            influx = InfluxStore(server.store_url("bench"), retention=RETENTION)
            embedded = EmbeddedStore(Path(tmp) / "tsdb", RETENTION)
            for i in range(0, len(data), 20000):
                influx.write(data[i:i + 20000])
                embedded.write(data[i:i + 20000])

            def query(store):
                return lambda: store.query("cpu", "usage_percent", end - 3600, end, interval=60)

            rows = [("InfluxDB 1.6 (raw points)", *timed(query(influx), args.repeat)),
                    ("embedded, before rollup", *timed(query(embedded), args.repeat))]
            embedded.maintain(end + 120)
            rows.append(("embedded, 1m rollup", *timed(query(embedded), args.repeat)))
            influx.close()
            embedded.close()
        finally:
            server.stop()
    print(f"query: 1-minute means of {args.series} series over 1 hour "
          f"({len(data)} samples stored over 2 hours); median of {args.repeat} runs")
    print(f"{'store':<28}{'ms':>10}{'points':>10}")
    for name, seconds, points in rows:
        print(f"{name:<28}{seconds * 1000:>10.1f}{points:>10}")
    influx_ms = rows[0][1]
    print(f"embedded (rollup) vs InfluxDB: {influx_ms / rows[2][1]:.2f}x as fast "
          f"(goal >= 1.0)")


if __name__ == "__main__":
    main()
