"""The set-based analyses over N observed assets (the compute ledger 算力一本账, migration
evidence, idle detection and rightsizing), beside their Python definitions.

    python -m bench.analyses [--sizes 100000,1000000] [--backends sqlite,postgresql]
                            [--reference-up-to 100000]
                            [--pg postgresql://postgres@127.0.0.1:5432/test]

For each backend and size, in a fresh child process on a fresh ledger: 20 departments, N
observed assets (30% physical hosts of four CPU models, one in 20 of them seen twice, by
its BMC and its host agent, as one entity; 70% cloud instances; half of everything declared
and paired), datastores, and 30 days of daily summaries for one asset in ten (a third of
them idle). Printed: wall and CPU seconds of this process and peak RSS for the compute
ledger grouped by department and by architecture, for the whole estate and for one
department, for the migration evidence and for idle detection (judging, without writing the
findings); the same for the Python definitions (entities rebuilt in this process) up to
``--reference-up-to`` assets, and whether both give the same result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.reconcile import DEFAULT_PG, _insert, uuid_of

UTC = dt.timezone.utc
GIB = 1024 ** 3
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
CPUS = ("Kunpeng 920-6426", "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz", "Hygon C86 7285",
        "Phytium S2500")


def populate(engine, n: int) -> None:
    from ledger.census.tables import TABLES
    from ledger.models import ObservedAsset, ReconcilePair, UtilizationDay

    stamp = {"created_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        conn.execute(TABLES["region"].insert(), [{"id": 1, "code": "440300", "name": "深圳市",
                                                  "level": "city", "path": "/1/", **stamp}])
        conn.execute(TABLES["department"].insert(), [
            {"id": d + 1, "code": f"D{d:03d}", "name": f"部门{d}", "path": f"/{d + 1}/",
             "region_id": 1, **stamp} for d in range(20)])
        conn.execute(TABLES["data_center"].insert().values(
            id=1, code="DC01", name="主数据中心", department_id=1, region_id=1,
            build_mode="self_built", consolidation_status="in_use", **stamp))
        conn.execute(TABLES["cloud_platform"].insert().values(
            id=1, code="CP01", name="政务云", department_id=1, build_mode="self_built",
            data_center_id=1, **stamp))
    hosts = n * 3 // 10
    base = dict.fromkeys(("serial_number", "vendor", "model", "machine_uuid", "instance_uuid",
                          "cpu_model", "cpu_sockets", "cpu_cores", "cpu_threads", "vcpus",
                          "memory_bytes", "disk_bytes", "power_state", "entity_id",
                          "data_center", "platform"))
    base.update({"department_id": None, "department": None, "attributes": {}, "macs": [],
                 "first_seen": NOW, "last_seen": NOW})

    def observed():
        next_id = 1
        for i in range(n):
            department = {"department": f"D{i % 20:03d}", "department_id": i % 20 + 1}
            if i < hosts:
                row = {**base, **department, "id": next_id, "source": f"agent-{i}",
                       "collector": "host", "kind": "host", "natural_key": f"m:{i}",
                       "machine_uuid": uuid_of(i), "vendor": "Huawei", "model": "TaiShan 200",
                       "cpu_model": CPUS[i % 4], "cpu_sockets": 2, "cpu_cores": 64,
                       "cpu_threads": 128, "memory_bytes": 512 * GIB, "data_center": "DC01"}
                if i % 20 == 0:   # also seen by its BMC: one entity of two rows
                    yield {**row, "entity_id": next_id}
                    next_id += 1
                    row = {**row, "id": next_id, "source": f"bmc-{i}", "collector": "redfish",
                           "kind": "server", "natural_key": f"s:{i}",
                           "serial_number": f"SN{i:010d}", "entity_id": next_id - 1}
            else:
                row = {**base, **department, "id": next_id, "source": f"cloud-{i % 20}",
                       "collector": "openstack", "kind": "instance",
                       "natural_key": f"instance:{uuid_of(i)}", "instance_uuid": uuid_of(i),
                       "vcpus": 8, "memory_bytes": 16 * GIB, "disk_bytes": 100 * GIB,
                       "power_state": "stopped" if i % 13 == 0 else "running",
                       "platform": "CP01"}
            yield row
            next_id += 1
        for k in range(max(1, n // 1000)):
            yield {**base, "id": next_id + k, "source": "vc-01", "collector": "vsphere",
                   "kind": "datastore", "natural_key": f"ds:{k}", "disk_bytes": 10 * 2 ** 40,
                   "department_id": k % 20 + 1}

    _insert(engine, ObservedAsset.__table__, observed())
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(ObservedAsset.__table__.select().with_only_columns(
            ObservedAsset.id).where(ObservedAsset.kind.in_(("host", "instance"))))]
    devices = ({"id": k + 1, "code": f"DEV{k:07d}", "name": f"服务器{k}",
                "department_id": k % 20 + 1, "device_type": "server", "data_center_id": 1,
                "status": "in_use", **stamp} for k in range(len(ids) // 2))
    _insert(engine, TABLES["device"], devices)
    pairs = ({"fingerprint": f"d:device:{k + 1}|o:{ids[k]}", "digest": "x", "outcome": "matched",
              "department_id": k % 20 + 1, "declared_category": "device",
              "declared_id": k + 1, "declared_code": f"DEV{k:07d}",
              "observed_asset_id": ids[k], "differences": []}
             for k in range(len(ids) // 2))
    _insert(engine, ReconcilePair.__table__, pairs)
    days = [NOW.date() - dt.timedelta(days=d) for d in range(1, 31)]
    _insert(engine, UtilizationDay.__table__, (
        {"asset_id": ids[k], "day": day, "cpu_mean": float(k % 50),
         "cpu_p95": 2.0 if k % 3 == 0 else 40.0, "memory_p95": 20.0,
         "net_in_p95": 1000.0, "net_out_p95": 2000.0, "coverage": 1.0,
         "low_coverage": False, "demo": False} for k in range(0, len(ids), 10) for day in days))


def _timed(fn) -> tuple[dict, float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, round(time.perf_counter() - started, 2), round(time.process_time() - cpu, 2)


def measure(url: str, n: int, reference: bool) -> dict:
    from ledger import analyses, idle_query, migration_query
    from ledger.census.snapshot import Scope
    from ledger.db import Ledger
    from ledger.policy import AnalysisPolicy

    policy = AnalysisPolicy(timezone="Asia/Shanghai")
    ledger = Ledger(url)
    started = time.perf_counter()
    populate(ledger.engine, n)
    out = {"n": n, "populate_s": round(time.perf_counter() - started, 1), "runs": []}
    with ledger.engine.connect() as conn:
        one = Scope.for_department(conn, "D003")
    if ledger.engine.dialect.name == "postgresql":
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    for scope_name, scope in (("all", Scope.everything()), ("D003", one)):
        for by in ("department", "arch"):
            report, wall, cpu = _timed(lambda: analyses.compute_ledger(
                ledger.engine, policy, scope, by=by, now=NOW))
            run = {"scope": scope_name, "by": by, "sql_s": wall, "sql_cpu_s": cpu,
                   "hosts": report["totals"].get("hosts"),
                   "instances": report["totals"].get("instances")}
            out["runs"].append(run)
    gone_after = dt.timedelta(seconds=policy.reconcile.missing_after)
    since = analyses.today(policy, NOW) - dt.timedelta(days=7)

    def evidence():
        with ledger.engine.connect() as conn:
            return migration_query.evidence(conn, now=NOW, gone_after=gone_after, since=since)

    def idle():
        with ledger.engine.connect() as conn:
            return idle_query.analyse(conn, policy, analyses.today(policy, NOW))
    seen, wall, cpu = _timed(evidence)
    out["migration"] = {"sql_s": wall, "sql_cpu_s": cpu,
                        "data_centers": sum(seen.dc_devices.values())}
    (found, summary), wall, cpu = _timed(idle)
    out["idle"] = {"sql_s": wall, "sql_cpu_s": cpu, "judged": summary["resources_judged"],
                   "idle": summary["idle"], "oversized": summary["oversized"]}
    out["sql_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if reference:
        from tests.ledger.compute_reference import compute_ledger as python_definition
        from tests.ledger.idle_reference import by_fingerprint, reference_idle
        from tests.ledger.migration_reference import reference_evidence
        for run in out["runs"]:
            scope = Scope.everything() if run["scope"] == "all" else one
            want, wall, cpu = _timed(lambda: python_definition(
                ledger.engine, policy, scope, by=run["by"], now=NOW))
            got = analyses.compute_ledger(ledger.engine, policy, scope, by=run["by"], now=NOW)
            run.update(python_s=wall, python_cpu_s=cpu, equal=got == want)
        want, wall, cpu = _timed(lambda: reference_evidence(ledger.engine, policy, NOW))
        out["migration"].update(python_s=wall, python_cpu_s=cpu, equal=want == seen)
        (want_found, want_summary), wall, cpu = _timed(
            lambda: reference_idle(ledger.engine, policy, NOW))
        out["idle"].update(python_s=wall, python_cpu_s=cpu, equal=want_summary == summary and
                           by_fingerprint(want_found) == by_fingerprint(found))
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    ledger.close()
    return out


def child(backend: str, n: int, pg: str, reference: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            return _spawn(f"sqlite:///{Path(folder) / 'ledger.sqlite'}", n, reference)
        name = f"il_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            base = pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            return _spawn(f"{base}/{name}", n, reference)
        finally:
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _spawn(url: str, n: int, reference: bool) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.analyses", "--child", url, str(n),
                           str(int(reference))], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--reference-up-to", type=int, default=100000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="admin URL of a PostgreSQL server")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.child[2] == "1")))
        return
    print("wall seconds (CPU seconds of this process)")
    for backend in args.backends.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            r = child(backend, n, args.pg, n <= args.reference_up_to)
            print(f"{backend} {n:,} assets (populated in {r['populate_s']} s), set-based peak "
                  f"RSS {r['sql_peak_rss_mb']} MB" +
                  (f", with the Python definition {r['peak_rss_mb']} MB"
                   if "peak_rss_mb" in r else ""))
            for run in r["runs"]:
                line = (f"  scope {run['scope']:4} by {run['by']:10} set-based "
                        f"{run['sql_s']:7.2f} ({run['sql_cpu_s']:.2f})  hosts {run['hosts']}, "
                        f"instances {run['instances']}")
                if "python_s" in run:
                    line += (f"; Python definition {run['python_s']:.2f} "
                             f"({run['python_cpu_s']:.2f}), equal: {run['equal']}")
                print(line)
            for name in ("migration", "idle"):
                run = r[name]
                figures = ", ".join(f"{k} {v}" for k, v in run.items() if k not in (
                    "sql_s", "sql_cpu_s", "python_s", "python_cpu_s", "equal"))
                line = (f"  {name:26} set-based {run['sql_s']:7.2f} ({run['sql_cpu_s']:.2f})  "
                        f"{figures}")
                if "python_s" in run:
                    line += (f"; Python definition {run['python_s']:.2f} "
                             f"({run['python_cpu_s']:.2f}), equal: {run['equal']}")
                print(line)


if __name__ == "__main__":
    main()
