"""Benchmark: SNMP varbinds per CPU-second against snmp_exporter and snmpbulkwalk, and
the memory of 1,000 targets. Prints figures; asserts nothing.

    python -m bench.snmp [--agents 4] [--rounds 20] [--targets 1000] [--no-netns]

As root it runs inside a network namespace of its own holding 24 veth pairs (48
interfaces), so every snmpd looks like a 48-port switch; all traffic stays on that
namespace's loopback. In the same run it walks the same IF-MIB and HOST-RESOURCES
columns (plus the collector's inventory tables, read every poll here) from the same
snmpd agents with:

1. this collector, end to end (GETs, walks, decoding, samples and the device fact);
2. prometheus-snmp-exporter (Debian package) with a module walking the same columns,
   scraped over HTTP; its CPU is read from /proc, its varbinds from its own
   ``snmp_scrape_pdus_returned``;
3. net-snmp's snmpbulkwalk, one process per column (its CPU from the children's rusage).

The snmpd agents' own CPU is counted for nobody. Then 1,000 collectors (spread over the
agents) poll once through the shared event loop and the peak RSS is printed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from collectors.snmp import ber, mibs
from collectors.snmp.collector import SnmpCollector
from tests.servers import SnmpdServer, free_port

NAMESPACE = "infraledger-bench"
EXPORTER = shutil.which("prometheus-snmp-exporter") or "/usr/bin/prometheus-snmp-exporter"
COLUMNS = [oid for table in ("if", "ifx", "hr_storage", "hr_cpu", "hr_device", "entity", "ip")
           for oid in mibs.TABLES[table].values()]


def in_namespace(argv: list[str]) -> int | None:
    """Re-run this benchmark inside a fresh namespace with 48 interfaces (root only)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return None
    subprocess.run(["ip", "netns", "del", NAMESPACE], stderr=subprocess.DEVNULL)
    if subprocess.run(["ip", "netns", "add", NAMESPACE]).returncode:
        return None
    try:
        run = ["ip", "netns", "exec", NAMESPACE]
        subprocess.run(run + ["ip", "link", "set", "lo", "up"], check=True)
        for pair in range(1, 25):
            subprocess.run(run + ["ip", "link", "add", f"sw{pair}a", "type", "veth", "peer",
                                  "name", f"sw{pair}b"], check=True)
        return subprocess.run(run + [sys.executable, "-m", "bench.snmp", "--no-netns", *argv],
                              cwd=Path(__file__).resolve().parent.parent).returncode
    finally:
        subprocess.run(["ip", "netns", "del", NAMESPACE], stderr=subprocess.DEVNULL)


def exporter_config(path: Path, community: str) -> None:
    """A snmp_exporter module walking COLUMNS (Debian's snmp.yml is empty)."""
    lines = ["infra_ledger:", "  walk:"] + [f"  - {ber.oid_text(oid)}" for oid in COLUMNS]
    lines += ["  metrics:"]
    for number, oid in enumerate(COLUMNS):
        lines += [f"  - name: column_{number}", f"    oid: {ber.oid_text(oid)}",
                  "    type: gauge" if number % 3 else "    type: counter",
                  "    indexes:", "    - labelname: index", "      type: gauge"]
    lines += ["  version: 2", "  max_repetitions: 25", "  retries: 1", "  timeout: 5s",
              "  auth:", f"    community: {community}"]
    path.write_text("\n".join(lines) + "\n")


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_collector(ports: list[int], rounds: int) -> tuple[int, float]:
    collectors = [SnmpCollector(f"a{port}", {"host": "127.0.0.1", "port": port,
                                             "community": SnmpdServer.COMMUNITY,
                                             "inventory_interval": 0.0}, timeout=30)
                  for port in ports]
    varbinds, cpu = 0, time.process_time()
    with concurrent.futures.ThreadPoolExecutor(len(collectors)) as pool:
        for _ in range(rounds):
            for obs in pool.map(lambda c: c.collect(), collectors):
                assert obs.status == "ok", obs.error
                varbinds += int(next(s.fields["varbinds"] for s in obs.samples
                                     if s.measurement == "snmp"))
    cpu = time.process_time() - cpu
    for collector in collectors:
        collector.close()
    return varbinds, cpu


def bench_exporter(ports: list[int], rounds: int, folder: Path) -> tuple[int, float]:
    config = folder / "snmp.yml"
    exporter_config(config, SnmpdServer.COMMUNITY)
    port = free_port()
    proc = subprocess.Popen([EXPORTER, f"--config.file={config}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        varbinds, before = 0, cpu_of(proc.pid)
        with concurrent.futures.ThreadPoolExecutor(len(ports)) as pool:
            def scrape(agent: int) -> int:
                url = (f"http://127.0.0.1:{port}/snmp?module=infra_ledger&"
                       f"target=127.0.0.1:{agent}")
                page = urllib.request.urlopen(url, timeout=60).read().decode()
                return int(float(next(line.split()[-1] for line in page.splitlines()
                                      if line.startswith("snmp_scrape_pdus_returned"))))
            for _ in range(rounds):
                varbinds += sum(pool.map(scrape, ports))
        return varbinds, cpu_of(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(10)


def bench_bulkwalk(ports: list[int], rounds: int) -> tuple[int, float]:
    varbinds = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(rounds):
        for agent in ports:
            for oid in COLUMNS:
                out = subprocess.run(["snmpbulkwalk", "-v2c", "-c", SnmpdServer.COMMUNITY,
                                      "-Cr25", "-On", f"127.0.0.1:{agent}", ber.oid_text(oid)],
                                     capture_output=True, text=True).stdout
                varbinds += sum(1 for line in out.splitlines()
                                if line.startswith("." + ber.oid_text(oid) + "."))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return varbinds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_memory(ports: list[int], targets: int) -> tuple[float, float, int]:
    collectors = [SnmpCollector(f"t{i}", {"host": "127.0.0.1", "port": ports[i % len(ports)],
                                          "community": SnmpdServer.COMMUNITY}, timeout=120)
                  for i in range(targets)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda c: c.collect(), collectors))
    elapsed = time.monotonic() - started
    ok = sum(1 for r in results if r.status == "ok")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for collector in collectors:
        collector.close()
    return peak, elapsed, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--no-netns", action="store_true", help="run on the host's loopback")
    args = parser.parse_args()
    if not args.no_netns:
        code = in_namespace(sys.argv[1:])
        if code is not None:
            return code
        print("(no network namespace: the agents see this host's interfaces)")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        agents = [SnmpdServer(folder / f"snmpd{i}").start() for i in range(args.agents)]
        try:
            ports = [agent.port for agent in agents]
            interfaces = subprocess.run(["snmpwalk", "-v2c", "-c", SnmpdServer.COMMUNITY, "-On",
                                         f"127.0.0.1:{ports[0]}", "1.3.6.1.2.1.2.2.1.2"],
                                        capture_output=True, text=True).stdout.count("\n")
            print(f"{args.agents} snmpd agents with {interfaces} interfaces each; "
                  f"{len(COLUMNS)} columns; {args.rounds} rounds")
            rows = [("this collector (end to end)", *bench_collector(ports, args.rounds)),
                    ("prometheus-snmp-exporter 0.21", *bench_exporter(ports, args.rounds,
                                                                       folder)),
                    ("snmpbulkwalk (net-snmp)", *bench_bulkwalk(ports, max(1, args.rounds // 4)))]
            print(f"{'poller':<32}{'varbinds':>10}{'CPU s':>9}{'varbinds/CPU-s':>16}")
            rates = {}
            for name, varbinds, cpu in rows:
                rates[name] = varbinds / cpu if cpu else float("inf")
                print(f"{name:<32}{varbinds:>10}{cpu:>9.2f}{rates[name]:>16,.0f}")
            ours = rates[rows[0][0]]
            for name, _v, _c in rows[1:]:
                print(f"ratio this collector / {name}: {ours / rates[name]:.2f}x")
            peak, elapsed, ok = bench_memory(ports, args.targets)
            print(f"{args.targets} targets polled once in {elapsed:.1f}s ({ok} ok); "
                  f"peak RSS {peak:.0f} MB")
        finally:
            for agent in agents:
                agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
