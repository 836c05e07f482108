"""Census import, dry-run diff and export of 100,000 rows (figures printed, nothing asserted).

    python -m bench.census [--rows 100000] [--ledger URL]

Builds a workbook of N device rows with the product's own template, then measures on a
fresh ledger (SQLite in a temporary folder unless --ledger names a PostgreSQL database):

1. import with full validation into an empty ledger (goal: 60 s);
2. dry-run diff of the same N rows, 1 in 10 changed, against the ledger of N (goal: 20 s);
3. export of the N rows to xlsx (goal: 30 s).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.template import write_workbook
from ledger.db import Ledger

VENDORS = ["Huawei", "H3C", "Inspur", "Sugon", "ZTE", "Ruijie", "Lenovo", "Dell"]
TYPES = ["server", "switch", "router", "firewall", "storage"]


def base_rows() -> dict[str, list[dict]]:
    departments = [{"code": f"D{i:03d}", "name": f"部门{i}", "parent": None, "region": None,
                    "contact": None, "phone": None} for i in range(50)]
    centers = [{"code": f"DC{i:02d}", "name": f"机房{i}", "department": f"D{i:03d}",
                "build_mode": "self_built", "consolidation_status": "in_use"} for i in range(20)]
    return {"department": departments, "data_center": centers}


def device(i: int, changed: bool = False) -> dict:
    return {"code": f"DEV{i:07d}", "name": f"设备{i}", "department": f"D{i % 50:03d}",
            "device_type": TYPES[i % 5], "vendor": VENDORS[i % 8], "model": f"M{i % 97}",
            "serial_number": f"SN{i:010d}", "management_ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}."
            f"{i & 255}", "mac": ":".join(f"{b:02x}" for b in (2, 0, i >> 24 & 255,
                                                              i >> 16 & 255, i >> 8 & 255,
                                                              i & 255)),
            "hostname": f"host-{i}", "data_center": f"DC{i % 20:02d}", "rack": f"R{i % 40}",
            "cpu_cores": 32 + i % 4 * 16, "memory_gib": 256.0,
            "status": "idle" if changed else "in_use", "purchase_date": "2021-06-01",
            "purchase_price": "123456.78", "funding_source": "fiscal"}


def workbook(path: Path, rows: int, *, changed_every: int = 0) -> None:
    data = base_rows()
    data["device"] = [device(i, changed_every and i % changed_every == 0) for i in range(rows)]
    write_workbook(path, data)


def timed(label: str, action):
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    print(f"{label:<44} {wall:8.1f} s wall {cpu:8.1f} s CPU", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--ledger", help="ledger URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        first, second = folder / "census.xlsx", folder / "changed.xlsx"
        timed(f"build workbooks ({args.rows} devices)", lambda: (
            workbook(first, args.rows), workbook(second, args.rows, changed_every=10)))
        ledger = Ledger(args.ledger or f"sqlite:///{folder / 'ledger.sqlite'}")
        service = CensusService(ledger.engine, actor="bench")
        result = timed("1. import (read + validate + write + audit)",
                       lambda: service.apply(read_file(first)))
        print(f"   rows applied: {sum(len(d.new) for d in result.plan.diffs.values())}")
        diff = timed("2. dry-run diff against the ledger",
                     lambda: service.apply(read_file(second), dry_run=True))
        print(f"   changed: {len(diff.plan.diffs['device'].changed)}, unchanged: "
              f"{diff.plan.diffs['device'].unchanged}")
        timed("3. export to xlsx", lambda: write_workbook(folder / "export.xlsx",
                                                          service.export()))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB; ledger {ledger.engine.url.get_backend_name()}")
        ledger.close()


if __name__ == "__main__":
    main()
