"""Benchmark: scale-out. Prints figures; asserts nothing.

    python -m bench.scaleout [--targets 200] [--agents 2] [--seconds 20] [--processes 1,2,4]
                             [--series 1000] [--skip-snmp] [--skip-stores]

1. SNMP targets polled by 1, 2 and 4 scheduler processes. The targets (names
   ``t00000``…, spread over ``--agents`` net-snmp snmpd agents on loopback) are shared
   among the processes by the product's rendezvous hashing, as the members of one zone
   share them; each process polls its share through the framework (``RunningTarget``,
   the SNMP collector's shared event loop, a pool of 32 threads, as the scheduler does)
   back to back for ``--seconds``, without a store, so the figure is polling alone.
   Printed: polls per second, CPU milliseconds per poll (the processes' own CPU; the
   agents' CPU is printed apart), and scaling efficiency = rate(N) / (N x rate(1)). With
   more processes than cores, efficiency falls below 1 by construction: say how many
   cores the machine had with the figures.
2. VictoriaMetrics against InfluxDB 1.6 for the same write and the same dashboard query:
   ``--series`` series of 15-second samples over two hours written through each store's
   ``write`` (line protocol, 20,000 samples a POST), then "1-minute means of every series
   over the last hour" (the operator page's query), median of 7 runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RETENTION = {"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400}


# -- part 1: SNMP polling by N processes ---------------------------------------------------------

def worker(args) -> None:
    """One scheduler process's share: poll it back to back, print polls and CPU as JSON."""
    from collectors.snmp.collector import SnmpCollector
    from monitor.config import TargetConfig
    from monitor.coordination import hashing
    from monitor.poller import RunningTarget

    agents = [int(p) for p in args.agent_ports.split(",")]
    members = [f"m{i}" for i in range(args.of)]
    mine = [f"t{i:05d}" for i in range(args.targets)
            if hashing.owner(f"t{i:05d}", members) == f"m{args.member}"]
    pool = concurrent.futures.ThreadPoolExecutor(32)
    running = []
    for name in mine:
        options = {"host": "127.0.0.1", "port": agents[int(name[1:]) % len(agents)],
                   "community": args.community, "inventory_interval": 3600.0}
        collector = SnmpCollector(name, SnmpCollector.resolve_options(options), 10.0)
        running.append(RunningTarget(TargetConfig(name, "snmp", 60.0, 10.0, 0.0, {}, options),
                                     collector, pool))
    with concurrent.futures.ThreadPoolExecutor(32) as callers:
        list(callers.map(lambda r: r.poll(), running))          # warm-up: inventory read
        cpu0 = _cpu()
        started, polls, failed = time.monotonic(), 0, 0
        while time.monotonic() - started < args.seconds:
            for obs in callers.map(lambda r: r.poll(), running):
                polls += 1
                failed += obs.status not in ("ok", "partial")
        wall = time.monotonic() - started
    print(json.dumps({"member": args.member, "targets": len(mine), "polls": polls,
                      "failed": failed, "wall": wall, "cpu": _cpu() - cpu0}))
    for r in running:
        r.close()
    pool.shutdown(wait=False)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def agent_cpu(pids) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def snmp_scaling(args) -> list[dict]:
    """Run 1, 2, 4 … worker processes against the same agents; one row per count."""
    from tests.servers import SnmpdServer
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        agents = [SnmpdServer(Path(tmp) / f"snmpd{i}").start() for i in range(args.agents)]
        try:
            ports = ",".join(str(a.port) for a in agents)
            for count in args.processes:
                agents_before = agent_cpu(a.proc.pid for a in agents)
                procs = [subprocess.Popen(
                    [sys.executable, "-m", "bench.scaleout", "--worker", str(i), "--of",
                     str(count), "--targets", str(args.targets), "--seconds", str(args.seconds),
                     "--agent-ports", ports, "--community", SnmpdServer.COMMUNITY],
                    cwd=REPO, stdout=subprocess.PIPE, text=True) for i in range(count)]
                results = [json.loads(p.communicate()[0].strip().splitlines()[-1])
                           for p in procs]
                polls = sum(r["polls"] for r in results)
                wall = max(r["wall"] for r in results)
                rows.append({"processes": count, "polls": polls,
                             "failed": sum(r["failed"] for r in results),
                             "polls_per_second": polls / wall,
                             "cpu_ms_per_poll": 1000 * sum(r["cpu"] for r in results) / polls,
                             "agent_cpu_ms_per_poll": 1000 * (agent_cpu(
                                 a.proc.pid for a in agents) - agents_before) / polls})
        finally:
            for agent in agents:
                agent.stop()
    base = rows[0]["polls_per_second"] / rows[0]["processes"]
    for row in rows:
        row["efficiency"] = row["polls_per_second"] / (row["processes"] * base)
    return rows


# -- part 2: VictoriaMetrics against InfluxDB -----------------------------------------------------

def store_comparison(series: int, repeat: int = 7) -> list[tuple]:
    """Write the same samples to both stores and time the same dashboard query."""
    from bench.store_query import samples
    from monitor.store.influx import InfluxStore
    from monitor.store.victoria import VictoriaMetricsStore
    from tests.servers import InfluxServer, VictoriaMetricsServer
    end = int(time.time()) // 60 * 60
    data = samples(series, 2, end)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        influxd = InfluxServer(Path(tmp) / "influxd").start()
        victoria = VictoriaMetricsServer(Path(tmp) / "vm").start()
        try:
            for name, store, flush in (
                    ("InfluxDB 1.6", InfluxStore(influxd.store_url("bench"),
                                                 retention=RETENTION), lambda: None),
                    ("VictoriaMetrics 1.79", VictoriaMetricsStore(victoria.store_url,
                                                                  retention=RETENTION),
                     victoria.flush)):
                started = time.perf_counter()
                for i in range(0, len(data), 20000):
                    store.write(data[i:i + 20000])
                flush()
                write_seconds = time.perf_counter() - started
                times, points = [], 0
                for _ in range(repeat):
                    t = time.perf_counter()
                    got = store.query("cpu", "usage_percent", end - 3600, end, interval=60)
                    times.append(time.perf_counter() - t)
                    points = sum(len(s.points) for s in got)
                rows.append((name, len(data) / write_seconds, statistics.median(times) * 1000,
                             points))
                store.close()
        finally:
            influxd.stop()
            victoria.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=lambda s: [int(p) for p in s.split(",")],
                        default=[1, 2, 4])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--skip-snmp", action="store_true")
    parser.add_argument("--skip-stores", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--of", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--agent-ports", help=argparse.SUPPRESS)
    parser.add_argument("--community", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        args.member = args.worker
        worker(args)
        return
    print(f"machine: {os.cpu_count()} cores")
    if not args.skip_snmp:
        rows = snmp_scaling(args)
        print(f"\nSNMP: {args.targets} targets on {args.agents} snmpd agents, polled back to "
              f"back for {args.seconds:g} s by N processes sharing them (rendezvous hashing)")
        print(f"{'processes':>9}{'polls':>9}{'failed':>8}{'polls/s':>10}{'CPU ms/poll':>13}"
              f"{'agent ms/poll':>15}{'efficiency':>12}")
        for r in rows:
            print(f"{r['processes']:>9}{r['polls']:>9}{r['failed']:>8}"
                  f"{r['polls_per_second']:>10.1f}{r['cpu_ms_per_poll']:>13.2f}"
                  f"{r['agent_cpu_ms_per_poll']:>15.2f}{r['efficiency']:>12.2f}")
    if not args.skip_stores:
        rows = store_comparison(args.series)
        print(f"\nstores: {args.series} series x 480 samples written (20,000 a POST); query "
              "= 1-minute means of every series over the last hour, median of 7")
        print(f"{'store':<22}{'write samples/s':>16}{'query ms':>10}{'points':>9}")
        for name, rate, ms, points in rows:
            print(f"{name:<22}{rate:>16,.0f}{ms:>10.1f}{points:>9}")


if __name__ == "__main__":
    main()
