"""A generated estate: census, observed assets, targets, daily summaries and samples.

``fill(app_ledger, store, settings, assets=N, days=D)`` declares a census through the
census service (regions, departments with a sub-department, data centers, a cloud
platform, a dedicated network overdue for integration, one information system per
department with a migration plan, servers and cloud instances), observes most of them
(some with other figures, some not at all, some undeclared), records target polls (some
failing), D days of daily summaries (some assets idle), a few hours of samples of two
targets (gauges, counters and their rates, interface states), then runs the daily analyses.
Used by the page tests (small) and ``bench/pages.py`` (10,000 assets, 30 days).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

from collectors.base import Sample
from ledger.analyses import run_daily
from ledger.census.planner import InputSheet
from ledger.census.service import CensusService
from ledger.census.tables import TABLES
from ledger.models import ObservedAsset, UtilizationDay
from ledger.status import PollRecord, record_poll

UTC = dt.timezone.utc
GIB = 1024 ** 3
CHUNK = 5000
CPUS = (("Kunpeng 920-6426", "Huawei", "TaiShan 200"), ("Intel Xeon Gold 6330", "Inspur",
                                                        "NF5280M6"),
        ("Hygon C86 7285", "Sugon", "I620-G30"), ("Phytium S2500", "Great Wall", "GF7280"))


@dataclasses.dataclass
class Estate:
    """What :func:`fill` made: codes to look for in pages and tests."""

    departments: list[str]
    devices: list[str]
    instances: list[str]
    targets: list[str]
    failing: list[str]
    undeclared: int
    assets: int


def _sheet(category: str, rows: list[dict]) -> InputSheet:
    keys = list(rows[0])
    return InputSheet(category, category, keys, keys,
                      [(i, [row[k] for k in keys]) for i, row in enumerate(rows, start=1)])


def instance_uuid(i: int) -> str:
    """The instance UUID of declared cloud resource ``i``."""
    return str(uuid.UUID(int=(0xE57A7E << 96) + i))


def census(engine, assets: int, departments: int) -> tuple[list[str], list[str], list[str]]:
    """Declare the census; returns department, device and instance codes."""
    depts = [f"D{d:03d}" for d in range(1, departments + 1)]
    half = assets // 2
    rows = {
        "region": [{"code": "R15", "name": "自治区", "level": "province", "parent": None},
                   {"code": "R1501", "name": "首府市", "level": "city", "parent": "R15"}],
        "department": [{"code": d, "name": f"{d}局", "parent": None,
                        "region": "R15" if i % 2 else "R1501"} for i, d in enumerate(depts)]
        + [{"code": "D001-1", "name": "D001下属中心", "parent": "D001", "region": "R1501"}],
        "data_center": [{"code": f"DC0{k}", "name": f"第{k}数据中心", "department": "D001",
                         "build_mode": "self_built", "consolidation_status": "in_use",
                         "region": "R1501" if k == 1 else "R15",
                         "total_investment": "30000000"} for k in (1, 2)],
        "cloud_platform": [{"code": "CP01", "name": "政务云", "department": "D001",
                            "build_mode": "self_built", "data_center": "DC01"}],
        "dedicated_network": [{"code": "NET01", "name": "业务专网", "department": depts[1],
                               "coverage": "provincial", "integration_plan": "migrate",
                               "integration_due": "2025-06-30", "total_investment": "500000"}],
        "information_system": [{"code": f"IS-{d}", "name": f"{d}业务系统", "department": d,
                                "network_type": "egov_extranet", "build_type": "existing",
                                "usage_status": "in_use",
                                "migration_plan": "migrate" if i % 3 else "on_cloud",
                                "run_location": "self_built_dc" if i % 3 else "gov_cloud",
                                "migration_due": "2026-06-30",
                                "total_investment": f"{1000000 + 10000 * i}"}
                               for i, d in enumerate(depts)],
        "device": [{"code": f"DEV{i:06d}", "name": f"服务器{i}", "department": depts[i % len(depts)],
                    "device_type": "server", "status": "in_use", "vendor": CPUS[i % 4][1],
                    "model": CPUS[i % 4][2], "serial_number": f"SN{i:09d}",
                    "data_center": "DC01" if i % 2 else "DC02",
                    "information_system": f"IS-{depts[i % len(depts)]}",
                    "cpu_model": CPUS[i % 4][0], "cpu_cores": 64, "memory_gib": 512,
                    "purchase_price": "120000"} for i in range(half)],
        "cloud_resource": [{"code": f"VM{i:06d}", "name": f"云主机{i}",
                            "department": depts[i % len(depts)], "resource_type": "instance",
                            "instance_id": instance_uuid(i), "platform": "CP01",
                            "information_system": f"IS-{depts[i % len(depts)]}", "vcpu": 8,
                            "memory_gib": 16, "disk_gib": 200, "status": "in_use",
                            "annual_cost": "6000"} for i in range(assets - half)],
    }
    service = CensusService(engine, actor="estate-generator")
    service.apply([_sheet(key, value) for key, value in rows.items()])
    return depts, [r["code"] for r in rows["device"]], [r["code"] for r in rows["cloud_resource"]]


def observe(engine, devices: int, instances: int, depts: list[str], now: dt.datetime
            ) -> tuple[list[int], int]:
    """Observed rows: 1 in 10 declared assets unseen, 1 in 10 with other figures, 1 in 20
    undeclared extras; returns the ids and the undeclared count."""
    ids = {code: i for i, code in enumerate(depts, start=1)}
    with engine.connect() as conn:
        table = TABLES["department"]
        ids = dict(conn.execute(table.select().with_only_columns(table.c.code, table.c.id)).all())
    base = dict.fromkeys(("serial_number", "vendor", "model", "instance_uuid", "cpu_model",
                          "cpu_cores", "cpu_sockets", "cpu_threads", "vcpus", "memory_bytes",
                          "disk_bytes", "power_state", "data_center", "platform", "hostname",
                          "mgmt_ip"))
    rows = []
    for i in range(devices):
        if i % 10 == 9:
            continue
        dept = depts[i % len(depts)]
        cpu, vendor, model = CPUS[i % 4]
        rows.append({**base, "source": f"bmc-{i % 50:02d}", "collector": "redfish",
                     "kind": "server", "natural_key": f"serial:{vendor}:SN{i:09d}",
                     "serial_number": f"SN{i:09d}", "vendor": vendor, "model": model,
                     "cpu_model": cpu, "cpu_cores": 32 if i % 10 == 3 else 64, "cpu_sockets": 2,
                     "cpu_threads": 128, "memory_bytes": 512 * GIB, "hostname": f"srv-{i}",
                     "mgmt_ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                     "data_center": "DC01" if i % 2 else "DC02", "department": dept,
                     "department_id": ids[dept],
                     "attributes": {"boot_time": int(now.timestamp()) - 86400 * 40,
                                    "firmware": "2.1.0"}})
    extra = 0
    for i in range(instances + instances // 10):
        declared = i < instances
        if declared and i % 10 == 9:
            continue
        dept = depts[i % len(depts)]
        key = instance_uuid(i) if declared else instance_uuid(10 ** 7 + i)
        extra += not declared
        rows.append({**base, "source": "vc-01", "collector": "vsphere", "kind": "instance",
                     "natural_key": f"instance:{key}", "instance_uuid": key,
                     "vcpus": 16 if i % 10 == 3 else 8, "memory_bytes": 16 * GIB,
                     "disk_bytes": 200 * GIB, "power_state": "running", "platform": "CP01",
                     "hostname": f"vm-{i}", "department": dept, "department_id": ids[dept],
                     "attributes": {"host": f"srv-{i % max(devices, 1)}", "os": "Kylin V10"}})
    for row in rows:
        row.update(macs=[], first_seen=now - dt.timedelta(days=60), last_seen=now)
    table = ObservedAsset.__table__
    for start in range(0, len(rows), CHUNK):
        with engine.begin() as conn:
            conn.execute(table.insert(), rows[start:start + CHUNK])
    with engine.connect() as conn:
        return list(conn.execute(table.select().with_only_columns(table.c.id)).scalars()), extra


def summaries(engine, asset_ids: list[int], days: int, today: dt.date, seed: int = 7) -> None:
    """``days`` daily summaries per asset; 1 in 7 assets idle (CPU under 3 %)."""
    rng = random.Random(seed)
    batch = []
    table = UtilizationDay.__table__
    for n, asset_id in enumerate(asset_ids):
        idle = n % 7 == 0
        for back in range(1, days + 1):
            cpu = rng.uniform(0.5, 2.5) if idle else rng.uniform(15, 70)
            memory = rng.uniform(5, 15) if idle else rng.uniform(30, 80)
            batch.append({"asset_id": asset_id, "day": today - dt.timedelta(days=back),
                          "cpu_mean": cpu, "cpu_p95": cpu * 1.4, "cpu_max": cpu * 1.8,
                          "memory_mean": memory, "memory_p95": memory * 1.1,
                          "memory_max": memory * 1.2, "net_in_mean": 1e4, "net_in_p95": 2e4,
                          "net_in_max": 3e4, "net_out_mean": 1e4, "net_out_p95": 2e4,
                          "net_out_max": 3e4, "disk_mean": 40.0, "disk_p95": 41.0,
                          "disk_max": 42.0, "coverage": 1.0, "low_coverage": False,
                          "demo": True})
            if len(batch) >= CHUNK * 4:
                with engine.begin() as conn:
                    conn.execute(table.insert(), batch)
                batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(table.insert(), batch)


def polls(ledger, now: dt.datetime) -> tuple[list[str], list[str]]:
    """Poll records of the generated targets; two of them failing."""
    targets = [("sw-core", "snmp", "ok"), ("vc-01", "vsphere", "ok"),
               ("bmc-00", "redfish", "ok"), ("bmc-01", "redfish", "timeout"),
               ("sw-edge", "snmp", "error")]
    with ledger.session() as session:
        for name, kind, status in targets:
            record_poll(session, PollRecord(
                name=name, kind=kind, status=status, duration_seconds=0.4,
                error=None if status == "ok" else "no answer from 192.0.2.1:161",
                samples=40 if status == "ok" else 0, at=now, interval_seconds=60))
        session.commit()
    return [t[0] for t in targets], [t[0] for t in targets if t[2] != "ok"]


def samples(store, now: float, hours: float = 3.0) -> int:
    """Gauges, interface counters with their rates and states, and poll outcomes of
    ``sw-core``, every minute over the last ``hours``."""
    out = []
    steps = int(hours * 60)
    for step in range(steps):
        ts = now - (steps - step) * 60
        stamp = int(ts * 1e9)
        out.append(Sample("cpu", {"target": "sw-core", "cpu": "cpu-total"},
                          {"usage_percent": 20.0 + step % 30}, stamp))
        out.append(Sample("poll", {"target": "sw-core"}, {"up": 1.0, "duration_seconds": 0.4,
                                                          "samples": 40.0}, stamp))
        for port in range(1, 4):
            name = f"GE1/0/{port}"
            octets = float(step * 60 * 1_000_000 * port)
            out.append(Sample("interface", {"target": "sw-core", "ifname": name,
                                            "ifindex": str(port)}, {
                "rx_bytes": octets, "tx_bytes": octets / 2,
                "rx_bytes_per_second": 1_000_000.0 * port,
                "tx_bytes_per_second": 500_000.0 * port,
                "rx_utilization_percent": 0.8 * port, "tx_utilization_percent": 0.4 * port,
                "rx_packets": float(step * 1000), "speed_bps": 1e9,
                "oper_up": 0.0 if port == 3 and step > steps // 2 else 1.0}, stamp))
        out.append(Sample("sensor", {"target": "sw-core", "sensor": "inlet"},
                          {"temperature_celsius": 24.0 + step % 3}, stamp))
    store.write(out)
    return len(out)


def fill(ledger, store, settings, *, assets: int = 60, days: int = 30,
         departments: int | None = None, now: dt.datetime | None = None) -> Estate:
    """Fill the ledger and store; returns what was made."""
    now = now or dt.datetime.now(UTC)
    departments = departments or max(4, min(40, assets // 250))
    depts, devices, instances = census(ledger.engine, assets, departments)
    ids, extra = observe(ledger.engine, len(devices), len(instances), depts, now)
    today = now.astimezone(ZoneInfo(settings.analysis.timezone)).date()
    summaries(ledger.engine, ids, days, today)
    names, failing = polls(ledger, now)
    if store is not None:
        samples(store, now.timestamp())
    run_daily(ledger.engine, settings.analysis, now=now)
    return Estate(depts, devices, instances, names, failing, extra, len(ids))
