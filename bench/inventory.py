"""Benchmark: inventory 10,000 instances from OpenStack and from vSphere.

    python -m bench.inventory [--instances 10000]

OpenStack: a local API (tests/apis/openstack.py, its own process) serves 10,000 generated
servers, 500 hypervisors with placement providers and 10,000 volumes in the api-ref
samples' format, paged by 1,000 like nova. vSphere: govmomi's vCenter simulator (its own
process) with 10 clusters of 10 hosts and 1,000 VMs each. Each collector runs one
inventory poll in a fresh child process; the figures are that process's wall time, CPU
seconds (user + system) and peak RSS. For OpenStack the same listing through the SDK's
resource objects is measured too (the path the collector does not take; README design
notes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CHILD = [sys.executable, "-m", "bench.inventory", "--child"]


def child(kind: str, url: str) -> None:
    """Run one inventory poll and print the figures as JSON."""
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if kind == "openstack":
        from collectors.openstack.collector import OpenStackCollector
        collector = OpenStackCollector("bench", {"auth_url": url, "username": "admin",
                                                 "password": "secret"})
        obs = collector.collect()
        collector.close()
        counted = sum(f.kind == "instance" for f in obs.facts)
        status = obs.status
    elif kind == "openstack-sdk-objects":
        import openstack.connection
        conn = openstack.connection.Connection(
            auth_url=url, username="admin", password="secret", project_name="admin",
            user_domain_name="Default", project_domain_name="Default")
        counted = sum(1 for _ in conn.compute.servers(details=True, all_projects=True))
        status = "ok"
    else:
        from collectors.vsphere.collector import VsphereCollector
        collector = VsphereCollector("bench", {"url": url, "username": "ledger",
                                               "password": "secret", "verify_tls": False,
                                               "request_timeout": 600.0})
        obs = collector.collect()
        collector.close()
        counted = sum(f.kind == "instance" for f in obs.facts)
        status = obs.status
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"instances": counted, "status": status,
                      "seconds": time.perf_counter() - started,
                      "cpu_seconds": (after.ru_utime - before.ru_utime) +
                                     (after.ru_stime - before.ru_stime),
                      "peak_rss_mb": after.ru_maxrss / 1024}))


def measure(kind: str, url: str) -> dict:
    out = subprocess.run(CHILD + [kind, url], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(label: str, figures: dict) -> None:
    print(f"{label:34s} {figures['instances']:>7,} instances  {figures['seconds']:7.2f} s  "
          f"{figures['cpu_seconds']:7.2f} CPU-s  {figures['peak_rss_mb']:7.1f} MB peak RSS  "
          f"[{figures['status']}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-sdk-objects", action="store_true",
                        help="do not measure the SDK resource-object listing")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    server = subprocess.Popen([sys.executable, "-m", "tests.apis.openstack", "--servers",
                               str(args.instances), "--hosts", str(max(1, args.instances // 20))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = json.loads(server.stdout.readline())["url"]
        report("openstack (collector)", measure("openstack", url))
        if not args.skip_sdk_objects:
            report("openstack (SDK Server objects only)", measure("openstack-sdk-objects", url))
    finally:
        server.stdin.close()
        server.wait()

    from tests.apis.vcsim import VcSim
    clusters = 10
    started = time.perf_counter()
    with VcSim(cluster=clusters, cluster_host=10, standalone_host=0,
               vm=max(1, args.instances // clusters)) as sim:
        print(f"(vcsim built {sim.counts['vms']:,} VMs on {sim.counts['hosts']} hosts in "
              f"{time.perf_counter() - started:.1f} s)", flush=True)
        report("vsphere (collector)", measure("vsphere", sim.url))


if __name__ == "__main__":
    main()
