"""Reconciliation of N declared against N observed assets, beside a bare hash join.

    python -m bench.reconcile [--sizes 100000,1000000] [--backends sqlite,postgresql]
                              [--pg postgresql://postgres@127.0.0.1:5432/test]

For each backend and size, in a fresh child process (so its peak RSS is its own), on a
fresh ledger: half the declared assets are devices (vendor + serial, MAC, address), half
cloud instances (instance UUID, vCPU, memory); 90% of them are observed (1 in 10 with a
field that differs), 10% are not; 10% more observed assets are undeclared. Printed:

- ``bare join``: read the identity keys of both sides from the same database, normalise them
  as reconciliation does (serials without case, MACs and addresses in one form) and join them
  in dicts, strongest key first (the floor any matching by the same keys pays);
- ``reconcile (first)``: the full run, writing every pair and finding and their change-log
  records, and keeping what it judged for the next run; ``reconcile (again)``: the same run
  once more (idempotent: nothing to write); ``after a poll``: the run once more after every
  observed asset's ``last_seen`` moved by a minute, as a poll cycle moves it;
  ``1% changed``: after another poll in which 1% of the observed assets report another
  memory size or vCPU count (mismatches appear and clear) and 0.1% of the declared rows
  were edited (the steady state of scheduled reconciliation: a run over what changed);
- per-row cost (µs per declared asset) and peak RSS.

Goals (issue 11): per-row cost at 1M at most 1.2x that at 100k; total at most 2x the bare
join measured in the same run.
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

UTC = dt.timezone.utc
GIB = 1024 ** 3
CHUNK = 20000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def uuid_of(i: int) -> str:
    return str(uuid.UUID(int=(0x5EED << 96) + i))


def mac_of(i: int) -> str:
    return ":".join(f"{b:02x}" for b in (2, 0xbe, i >> 24 & 255, i >> 16 & 255, i >> 8 & 255,
                                         i & 255))


def populate(engine, n: int) -> None:
    """Departments, a platform, N declared assets and about N observed ones (bulk inserts)."""
    from ledger.census.tables import TABLES
    from ledger.models import ObservedAsset

    now = dt.datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(TABLES["department"].insert(), [
            {"id": d + 1, "code": f"D{d:03d}", "name": f"部门{d}", "path": f"/{d + 1}/", **stamp}
            for d in range(20)])
        conn.execute(TABLES["cloud_platform"].insert().values(
            id=1, code="CP01", name="政务云", department_id=1, build_mode="self_built", **stamp))
    half = n // 2
    devices = ({"id": i + 1, "code": f"DEV{i:07d}", "name": f"设备{i}",
                "department_id": i % 20 + 1, "device_type": "server", "vendor": "Huawei",
                "model": "TaiShan 200", "serial_number": f"SN{i:010d}", "mac": mac_of(i),
                "management_ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                "hostname": f"host-{i}", "cpu_cores": 64, "memory_gib": 512.0,
                "status": "in_use", **stamp} for i in range(half))
    resources = ({"id": i + 1, "code": f"VM{i:07d}", "name": f"云主机{i}",
                  "department_id": i % 20 + 1, "resource_type": "instance",
                  "instance_id": uuid_of(i), "platform_id": 1, "vcpu": 8, "memory_gib": 16.0,
                  "status": "in_use", **stamp} for i in range(n - half))
    _insert(engine, TABLES["device"], devices)
    _insert(engine, TABLES["cloud_resource"], resources)
    _insert(engine, ObservedAsset.__table__, _observed(n, now))


def _observed(n: int, now: dt.datetime):
    half = n // 2
    # executemany needs every row to carry the same columns.
    base = dict.fromkeys(("serial_number", "vendor", "model", "mac", "hostname", "cpu_cores",
                          "instance_uuid", "vcpus", "power_state", "memory_bytes"))
    base.update({"collector": "bench", "department": None, "department_id": None,
                 "attributes": {}, "first_seen": now, "last_seen": now, "macs": []})
    for i in range(n):
        if i % 10 == 9:      # declared, not observed: missing
            continue
        wrong = i % 10 == 3  # a field differs: mismatch
        if i < half:
            yield {**base, "source": f"sw-{i % 500}", "kind": "server",
                   "natural_key": f"serial:Huawei:SN{i:010d}", "serial_number": f"SN{i:010d}",
                   "vendor": "Huawei", "model": "TaiShan 200", "macs": [mac_of(i)],
                   "mac": mac_of(i), "hostname": f"host-{i}", "cpu_cores": 64,
                   "memory_bytes": (256 if wrong else 512) * GIB}
        else:
            j = i - half
            yield {**base, "source": f"cloud-{j % 20}", "kind": "instance",
                   "collector": "bench-cloud", "natural_key": f"instance:{uuid_of(j)}",
                   "instance_uuid": uuid_of(j), "vcpus": 16 if wrong else 8,
                   "memory_bytes": 16 * GIB, "power_state": "running"}
    for k in range(n // 10):  # undeclared
        yield {**base, "source": f"cloud-{k % 20}", "kind": "instance", "collector": "bench-cloud",
               "natural_key": f"instance:{uuid_of(10 ** 8 + k)}",
               "instance_uuid": uuid_of(10 ** 8 + k), "vcpus": 4, "memory_bytes": 8 * GIB}


def _insert(engine, table, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            with engine.begin() as conn:
                conn.execute(table.insert(), batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(table.insert(), batch)


def bare_join(engine) -> int:
    """The floor: read both sides' identity keys from the database, put them in the same
    comparable form the reconciliation uses, and join them in dicts — strongest key first,
    one lookup per key, no entities, no fields compared, nothing written."""
    from sqlalchemy import select

    from ledger.census.tables import TABLES
    from ledger.models import ObservedAsset as seen
    from ledger.reconcile import normalize as n

    device, resource_ = TABLES["device"], TABLES["cloud_resource"]
    with engine.connect() as conn:
        devices = conn.execute(select(device.c.id, device.c.serial_number, device.c.mac,
                                      device.c.management_ip)).all()
        resources = conn.execute(select(resource_.c.id, resource_.c.instance_id,
                                        resource_.c.ip_address)).all()
        observed = conn.execute(select(seen.id, seen.serial_number, seen.instance_uuid,
                                       seen.machine_uuid, seen.macs, seen.mgmt_ip)).all()
    serial, instance, mac, address = {}, {}, {}, {}
    for id_, serial_number, mac_, ip_ in devices:
        serial[n.serial(serial_number)] = mac[n.mac(mac_)] = address[n.ip(ip_)] = id_
    for id_, instance_id, ip_ in resources:
        instance[n.uuid(instance_id)] = address[n.ip(ip_)] = id_
    for index in (serial, instance, mac, address):
        index.pop(None, None)
    matched = 0
    for _id, serial_number, instance_uuid, machine_uuid, macs, ip_ in observed:
        hit = serial.get(n.serial(serial_number)) or instance.get(n.uuid(instance_uuid)) or \
            instance.get(n.uuid(machine_uuid)) or \
            next((mac[m] for m in map(n.mac, macs or ()) if m in mac), None) or \
            address.get(n.ip(ip_))
        matched += hit is not None
    return matched


def measure(url: str, n: int) -> dict:
    """One backend and size, in this process."""
    from ledger.db import Ledger
    from ledger.policy import ReconcilePolicy
    from ledger.reconcile import store

    ledger = Ledger(url)
    started = time.perf_counter()
    populate(ledger.engine, n)
    out = {"n": n, "populate_s": round(time.perf_counter() - started, 1)}
    started, cpu = time.perf_counter(), time.process_time()
    out["bare_matched"] = bare_join(ledger.engine)
    out["bare_s"] = round(time.perf_counter() - started, 2)
    out["bare_cpu_s"] = round(time.process_time() - cpu, 2)
    for label in ("first", "again", "polled", "changed"):
        if label == "polled":
            _poll(ledger.engine)
        elif label == "changed":
            _poll(ledger.engine)
            _change(ledger.engine, n)
        started, cpu = time.perf_counter(), time.process_time()
        result = store.run(ledger.engine, ReconcilePolicy())
        out[f"{label}_s"] = round(time.perf_counter() - started, 2)
        out[f"{label}_cpu_s"] = round(time.process_time() - cpu, 2)
        out[f"{label}_written"] = result.pairs_written
    out["summary"] = result.summary
    from sqlalchemy import select

    from ledger.models import AnalysisRun
    with ledger.engine.connect() as conn:
        out["recomputed"] = conn.execute(select(AnalysisRun.summary).order_by(
            AnalysisRun.id.desc()).limit(1)).scalar_one()["recomputed"]
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    ledger.close()
    return out


def _poll(engine) -> None:
    """What a poll cycle does to the observed assets between two runs: every one seen a
    minute later than before (they were all populated at the same time)."""
    from sqlalchemy import func, select, update

    from ledger.models import ObservedAsset as seen
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(seen.last_seen))).scalar_one()
        conn.execute(update(seen).values(last_seen=latest + dt.timedelta(minutes=1)))


def _change(engine, n: int) -> None:
    """1% of the observed assets report another memory size or vCPU count; 0.1% of the
    declared devices get another name and memory size."""
    from sqlalchemy import update

    from ledger.census.tables import TABLES
    from ledger.models import ObservedAsset as seen
    device = TABLES["device"]
    with engine.begin() as conn:
        conn.execute(update(seen).where(seen.id % 100 == 7, seen.kind == "server")
                     .values(memory_bytes=seen.memory_bytes + 64 * GIB))
        conn.execute(update(seen).where(seen.id % 100 == 57, seen.kind == "instance")
                     .values(vcpus=seen.vcpus + 4))
        conn.execute(update(device).where(device.c.id % 1000 == 3)
                     .values(name=device.c.name + "·", memory_gib=1024.0))


def child(backend: str, n: int, pg: str) -> dict:
    """Run one measurement in a fresh child process on a fresh database."""
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            url = f"sqlite:///{Path(folder) / 'ledger.sqlite'}"
            return _spawn(url, n)
        name = f"il_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            base = pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            return _spawn(f"{base}/{name}", n)
        finally:
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _spawn(url: str, n: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.reconcile", "--child", url, str(n)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wc(r: dict, label: str) -> str:
    return f"{r[label + '_s']:.2f} ({r[label + '_cpu_s']:.2f})"


def _ratio(r: dict, label: str) -> str:
    return (f"{r[label + '_s'] / r['bare_s']:.1f} "
            f"({r[label + '_cpu_s'] / r['bare_cpu_s']:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=DEFAULT_PG, help="admin URL of a PostgreSQL server")
    parser.add_argument("--child", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    print("wall seconds (CPU seconds of this process); x bare = ratio of wall times "
          "(of CPU times)")
    print(f"{'backend':10} {'declared':>9} {'bare join':>14} {'first run':>15} "
          f"{'µs/row':>7} {'x bare':>11} {'again':>15} {'x bare':>11} "
          f"{'after a poll':>15} {'x bare':>11} {'1% changed':>15} {'x bare':>11} "
          f"{'peak RSS':>9}")
    for backend in args.backends.split(","):
        per_row = {}
        for n in (int(s) for s in args.sizes.split(",")):
            r = child(backend, n, args.pg)
            per_row[n] = r["first_s"] / n * 1e6
            print(f"{backend:10} {n:>9,} {_wc(r, 'bare'):>14} {_wc(r, 'first'):>15} "
                  f"{per_row[n]:>7.1f} {_ratio(r, 'first'):>11} {_wc(r, 'again'):>15} "
                  f"{_ratio(r, 'again'):>11} {_wc(r, 'polled'):>15} {_ratio(r, 'polled'):>11} "
                  f"{_wc(r, 'changed'):>15} {_ratio(r, 'changed'):>11} "
                  f"{r['peak_rss_mb']:>7} MB")
            print(f"{'':10} {r['summary']}; rows written: first {r['first_written']:,}, "
                  f"again {r['again_written']:,}, after a poll {r['polled_written']:,}, "
                  f"1% changed {r['changed_written']:,} ({r['recomputed']}); "
                  f"populated in {r['populate_s']} s")
        if len(per_row) > 1:
            small, large = min(per_row), max(per_row)
            print(f"{backend}: per-row cost at {large:,} is {per_row[large] / per_row[small]:.2f}x"
                  f" that at {small:,}")


if __name__ == "__main__":
    main()
