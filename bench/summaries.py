"""Daily utilization summaries from 1-minute data (figures printed, nothing asserted).

    python -m bench.summaries [--resources 10000] [--days 1] [--long-resources 300]
                              [--long-days 30]

Each case runs in a fresh child process on a fresh embedded store and SQLite ledger. Host
resources (CPU, memory, network in and out, disk: five series each) get one sample a
minute for whole days, written straight into the store's raw day partitions (the write
path has its own benchmark; this one measures reading the days back and summarizing
them). Printed per case: samples, wall and CPU seconds of ``summarize`` (all days), per
resource-day, and peak RSS.

Days are summarized one at a time and independently, so 30 days of 10,000 resources cost
30 times one day of them; the second case checks that cost is linear in days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = "Asia/Shanghai"
UTC = dt.timezone.utc
SERIES = (("cpu", (("cpu", "cpu-total"),), "usage_percent"), ("mem", (), "used_percent"),
          ("net", (("interface", "eth0"),), "rx_bytes_per_second"),
          ("net", (("interface", "eth0"),), "tx_bytes_per_second"),
          ("disk", (("path", "/"),), "used_percent"))


def fill(folder: Path, resources: int, days: int, now: dt.datetime) -> int:
    """Write ``days`` whole days of 1-minute samples for ``resources`` hosts."""
    from monitor.store.embedded import TIERS, EmbeddedStore, _tag_text
    from monitor.summaries import day_bounds

    store = EmbeddedStore(folder / "tsdb", {"raw": (days + 5) * 86400.0,
                                            "1m": (days + 5) * 86400.0,
                                            "1h": 730 * 86400.0})
    today = now.astimezone(ZoneInfo(ZONE)).date()
    conn, written, rng = store._writer, 0, random.Random(7)
    conn.execute("BEGIN")
    ids = {}
    for r in range(resources):
        for measurement, tags, field in SERIES:
            ids[(r, measurement, field)] = store._series_id(
                conn, measurement, _tag_text({"target": f"h{r}", **dict(tags)}), field)
    for back in range(days, 0, -1):
        start, _end = day_bounds(today - dt.timedelta(days=back), ZONE)
        base = int(start * 1000)
        for r in range(resources):
            level = rng.uniform(1, 60)
            rows = [(sid, base + minute * 60_000 + 5000, level + (minute % 7))
                    for (rr, _m, _f), sid in ids.items() if rr == r
                    for minute in range(1440)]
            table = store._partition(conn, TIERS[0], base)
            conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)
            written += len(rows)
        conn.execute("COMMIT")
        conn.execute("BEGIN")
    conn.execute("COMMIT")
    store.close()
    return written


def measure(resources: int, days: int) -> dict:
    """One case, in this process."""
    from core.observation import Fact
    from ledger.db import Ledger
    from ledger.observed import record_facts
    from ledger.status import register_targets
    from monitor.store import open_store
    from monitor.summaries import summarize

    now = dt.datetime.now(UTC)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        samples = fill(folder, resources, days, now)
        filled = time.perf_counter() - started
        ledger = Ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
        with ledger.session() as session:
            register_targets(session, {f"h{r}": ("host", 60.0) for r in range(resources)})
            for r in range(resources):
                record_facts(session, source=f"h{r}", collector="host", seen_at=now,
                             facts=[Fact("host", {"hostname": f"h{r}"}, {})])
            session.commit()
        store = open_store("embedded", path=folder / "tsdb",
                           retention={"raw": (days + 5) * 86400.0, "1m": (days + 5) * 86400.0,
                                      "1h": 730 * 86400.0})
        wall, cpu = time.perf_counter(), time.process_time()
        written = summarize(ledger, store, timezone=ZONE, min_coverage=0.8, now=now,
                            days_back=days)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        store.close()
        ledger.close()
    return {"resources": resources, "days": len(written), "samples": samples,
            "fill_s": round(filled, 1), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--long-resources", type=int, default=300)
    parser.add_argument("--long-days", type=int, default=30)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    print(f"{'resources':>9} {'days':>4} {'samples':>12} {'wall':>8} {'CPU':>8} "
          f"{'ms/resource-day':>15} {'peak RSS':>9}")
    for resources, days in ((args.resources, args.days), (args.long_resources, args.long_days)):
        done = subprocess.run([sys.executable, "-m", "bench.summaries", "--child",
                               str(resources), str(days)], capture_output=True, text=True,
                              check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        per = r["wall_s"] / (r["resources"] * r["days"]) * 1000
        print(f"{r['resources']:>9,} {r['days']:>4} {r['samples']:>12,} {r['wall_s']:>7.1f}s "
              f"{r['cpu_s']:>7.1f}s {per:>15.2f} {r['peak_rss_mb']:>6} MB")


if __name__ == "__main__":
    main()
