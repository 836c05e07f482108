"""A realistic small estate for the report tests: a census, what collectors observed, two
months of daily summaries, and every analysis run over them.

Departments: D001 大数据中心 with its section D00101 运维科, and D002 公安厅. Each holds
information systems with cloud instances; some instances idle, one oversized, one host and
one instance nobody declared, one declared server never seen and one declared vCPU count
the platform contradicts. Everything happens at :data:`NOW`, so months and figures are
fixed whatever day the tests run.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from collectors.base import Fact
from ledger import analyses
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.template import write_workbook
from ledger.models import UtilizationDay
from ledger.observed import record_facts
from ledger.policy import AnalysisPolicy

UTC = dt.timezone.utc
GIB = 1024 ** 3
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)       # 12:00 in Asia/Shanghai
POLICY = AnalysisPolicy(timezone="Asia/Shanghai")
OCTOBER = [dt.date(2026, 10, d) for d in range(1, 32)]
NOVEMBER = [dt.date(2026, 11, d) for d in range(1, 31)]
#: code -> (department, system, vCPU, memory GiB, observed vCPU, CPU % Oct, CPU % Nov, mem %)
INSTANCES = {
    "VM-WEB": ("D001", "IS01", 8, 16, 8, 30.0, 1.0, 10.0),      # idle in November
    "VM-DB": ("D001", "IS01", 16, 64, 16, 10.0, 10.0, 60.0),    # busy but oversized
    "VM-ARC": ("D00101", "IS02", 4, 8, 4, 1.0, 1.0, 10.0),      # idle both months
    "VM-POL": ("D002", "IS03", 8, 32, 12, 40.0, 40.0, 50.0),    # vCPU contradicts census
}


def uuid_of(code: str) -> str:
    return f"00000000-0000-4000-8000-{code.encode().hex()[:12]:0>12}"


def census_data() -> dict:
    system = {"network_type": "egov_extranet", "build_type": "existing",
              "usage_status": "in_use"}
    return {
        "region": [{"code": "150000", "name": "内蒙古自治区", "level": "province"}],
        "department": [{"code": "D001", "name": "大数据中心", "region": "150000"},
                       {"code": "D00101", "name": "大数据中心运维科", "parent": "D001",
                        "region": "150000"},
                       {"code": "D002", "name": "公安厅", "region": "150000"}],
        "cloud_platform": [{"code": "CP01", "name": "自治区政务云", "department": "D001",
                            "build_mode": "self_built"}],
        "information_system": [
            {**system, "code": "IS01", "name": "政务服务平台", "department": "D001",
             "total_investment": Decimal("3000000"), "approving_department": "自治区发改委"},
            {**system, "code": "IS02", "name": "档案查询系统", "department": "D00101",
             "total_investment": Decimal("800000"), "approving_department": "自治区财政厅"},
            {**system, "code": "IS03", "name": "警务综合平台", "department": "D002",
             "total_investment": Decimal("5800000")}],
        "cloud_resource": [
            {"code": code, "name": f"{code.lower()}-主机", "department": dept,
             "resource_type": "instance", "platform": "CP01", "information_system": system,
             "instance_id": uuid_of(code), "vcpu": vcpu, "memory_gib": float(memory),
             "status": "in_use", "annual_cost": Decimal("24000") if code == "VM-WEB" else None}
            for code, (dept, system, vcpu, memory, *_rest) in INSTANCES.items()],
        "device": [{"code": "DEV-GHOST", "name": "备用服务器", "department": "D002",
                    "device_type": "server", "status": "in_use", "serial_number": "6CU1234XYZ",
                    "purchase_price": Decimal("185000")}],
    }


def observe(ledger) -> dict[str, int]:
    """What the collectors saw: the four instances, one undeclared instance (D001) and one
    undeclared Kunpeng host (D002). Returns observed ids by code or hostname."""
    with ledger.session() as session:
        for code, (dept, _s, _v, memory, vcpus, *_r) in INSTANCES.items():
            record_facts(session, source="vc-01", collector="vsphere", seen_at=NOW,
                         tags={"department": dept, "platform": "CP01"},
                         facts=[Fact("instance", {"instance_uuid": uuid_of(code)},
                                     {"vcpus": vcpus, "memory_bytes": memory * GIB,
                                      "hostname": code.lower(), "power_state": "running"})])
        record_facts(session, source="vc-01", collector="vsphere", seen_at=NOW,
                     tags={"department": "D001", "platform": "CP01"},
                     facts=[Fact("instance", {"instance_uuid": uuid_of("VM-ROGUE")},
                                 {"vcpus": 2, "memory_bytes": 4 * GIB, "hostname": "rogue"})])
        record_facts(session, source="host-kp", collector="host", seen_at=NOW,
                     tags={"department": "D002"},
                     facts=[Fact("host", {"hostname": "kp-01", "serial_number": "KP0001"},
                                 {"cpu_model": "Kunpeng 920", "cpu_cores": 64,
                                  "cpu_threads": 64, "cpu_sockets": 1,
                                  "memory_bytes": 256 * GIB, "vendor": "Huawei"})])
        session.commit()
    from sqlalchemy import select

    from ledger.models import ObservedAsset
    codes = {uuid_of(code): code for code in list(INSTANCES) + ["VM-ROGUE"]}
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(ObservedAsset.id, ObservedAsset.instance_uuid,
                                   ObservedAsset.source)).all()
    return {codes.get(uuid, source): id_ for id_, uuid, source in rows}


def day_row(asset_id: int, day: dt.date, cpu: float, memory: float) -> dict:
    return {"asset_id": asset_id, "day": day, "cpu_mean": cpu, "cpu_p95": cpu * 1.5,
            "cpu_max": cpu * 2, "memory_mean": memory, "memory_p95": memory,
            "memory_max": memory, "net_in_mean": 20_000.0, "net_in_p95": 20_000.0,
            "net_in_max": 20_000.0, "net_out_mean": 20_000.0, "net_out_p95": 20_000.0,
            "net_out_max": 20_000.0, "disk_mean": None, "disk_p95": None, "disk_max": None,
            "coverage": 1.0, "low_coverage": False, "demo": False}


def summaries(ledger, ids: dict[str, int]) -> None:
    rows = []
    for code, (*_a, october, november, memory) in INSTANCES.items():
        rows += [day_row(ids[code], day, october, memory) for day in OCTOBER]
        rows += [day_row(ids[code], day, november, memory) for day in NOVEMBER]
    rows += [day_row(ids["host-kp"], day, 20.0, 40.0) for day in OCTOBER + NOVEMBER]
    with ledger.engine.begin() as conn:
        conn.execute(UtilizationDay.__table__.insert(), rows)


def build_estate(ledger, tmp_path) -> dict[str, int]:
    """The whole estate in ``ledger``, analysed at NOW; returns observed ids."""
    path = tmp_path / "普查表.xlsx"
    write_workbook(path, census_data())
    CensusService(ledger.engine, actor="数据专员").apply(read_file(path))
    ids = observe(ledger)
    summaries(ledger, ids)
    analyses.run_daily(ledger.engine, POLICY, now=NOW)
    return ids
