"""The demo estate: the census departments filed, and the cloud inventory the demo generates.

The census (a workbook of the product's own template) declares some of what the agents
and clouds report correctly, some wrongly and some not at all, so every outcome of the
reconciliation and every analysis shows (the planted discrepancies, see :data:`PLANTED`).
The two cloud platforms' hosts and instances are generated facts of the shape a vSphere
collector reports (no cloud API runs in the demo); they carry ``demo: true``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from core.observation import Fact

GIB = 1024 ** 3
NAMESPACE = uuid.UUID("6f1c2a52-3c5e-4d47-9a1e-2a4f0c7d9e10")
#: What the demo plants, by the outcome or finding it must produce (tests check each).
PLANTED = {
    "matched": ["DEV-DC01-CORE", "DEV-NET01-SW", "DEV-DC01-UPS", "VM-IS01-WEB1"],
    "mismatch": ["DEV-DC01-AGG", "VM-IS02-DB"],
    "undeclared": ["sw-ruijie", "cloud-cp01"],
    "missing": ["DEV-GHOST", "VM-IS01-CACHE"],
    "suspect": ["DEV-UPS02"],
    "conflict": ["DEV-FW-A", "DEV-FW-B"],
    "idle": ["VM-IS04-APP", "IS04", "IS05", "DEV-SPARE-01"],
    "oversized": ["VM-IS01-DB"],
    "migration_overdue": ["IS03"],
    "network_overdue": ["NET01"],
    "dc_still_active": ["DC02"],
    "unknown_department": ["sw-ruijie"],
}


def uid(name: str) -> str:
    """A stable UUID for a generated object (the same on every run)."""
    return str(uuid.uuid5(NAMESPACE, name))


def census(today: dt.date) -> dict[str, list[dict]]:
    """The census workbook's rows, by category; due dates relative to ``today``."""
    days = dt.timedelta
    return {
        "region": [{"code": "150000", "name": "内蒙古自治区", "level": "province"},
                   {"code": "150100", "name": "呼和浩特市", "level": "city",
                    "parent": "150000"}],
        "department": _departments(),
        "data_center": [
            _dc("DC01", "自治区政务云主节点", "D01", "in_use", "a", 180_000_000),
            _dc("DC02", "公安厅自建机房", "D02", "closed", "c", 8_500_000),
            _dc("DC03", "人社厅自建机房", "D03", "to_be_closed", "c", 4_200_000)],
        "cloud_platform": [
            {"code": "CP01", "name": "自治区政务云平台", "department": "D01", "data_center": "DC01",
             "build_mode": "self_built", "platform_type": "hyperconverged",
             "compute": "鲲鹏、海光、飞腾服务器", "vcpu_capacity": 4096,
             "memory_capacity_gib": 16384, "storage_capacity_tib": 800,
             "protection_level": 3, "approving_department": "自治区发展改革委",
             "total_investment": Decimal("95000000")},
            {"code": "CP02", "name": "公安云平台", "department": "D02", "data_center": "DC01",
             "build_mode": "leased", "platform_type": "vmware", "compute": "Intel 服务器",
             "vcpu_capacity": 768, "protection_level": 3,
             "total_investment": Decimal("22000000")}],
        "dedicated_network": [
            {"code": "NET01", "name": "社保业务专网", "department": "D03", "coverage": "provincial",
             "line_count": 103, "integration_plan": "migrate", "integration_status": "in_progress",
             "integration_due": today - days(45), "total_investment": Decimal("12000000")},
            {"code": "NET02", "name": "公安视频专网", "department": "D02", "coverage": "provincial",
             "integration_plan": "keep", "total_investment": Decimal("30000000")},
            {"code": "NET03", "name": "财政业务专网", "department": "D04", "coverage": "provincial",
             "integration_plan": "interconnect", "integration_status": "completed",
             "integration_due": today - days(100)}],
        "information_system": _systems(today),
        "device": _devices() + _hosts_declared(),
        "cloud_resource": _resources(),
    }


def _departments() -> list[dict]:
    rows = [("D01", "自治区大数据中心", None, "150000"), ("D0101", "政务云运营部", "D01", "150000"),
            ("D02", "自治区公安厅", None, "150000"), ("D0201", "交通管理局", "D02", "150000"),
            ("D0202", "网络安全保卫总队", "D02", "150000"),
            ("D03", "自治区人力资源和社会保障厅", None, "150000"),
            ("D04", "自治区财政厅", None, "150000"), ("D05", "呼和浩特市数据局", None, "150100")]
    return [{"code": code, "name": name, "parent": parent, "region": region,
             "contact": "数据专员（演示）"} for code, name, parent, region in rows]


def _dc(code: str, name: str, department: str, status: str, standard: str,
        investment: int) -> dict:
    return {"code": code, "name": name, "department": department, "region": "150000",
            "build_mode": "self_built", "build_standard": standard,
            "consolidation_status": status, "protection_level": 3,
            "approving_department": "自治区发展改革委", "funding_source": "fiscal",
            "total_investment": Decimal(investment)}


def _systems(today: dt.date) -> list[dict]:
    days = dt.timedelta
    common = {"network_type": "egov_extranet", "build_type": "existing", "usage_status": "in_use",
              "system_type": "business", "protection_level": 3, "funding_source": "fiscal"}
    return [
        {**common, "code": "IS01", "name": "一体化政务服务平台", "department": "D01",
         "run_location": "gov_cloud", "current_platform": "CP01", "migration_plan": "on_cloud",
         "approving_department": "自治区发展改革委", "total_investment": Decimal("36000000")},
        {**common, "code": "IS02", "name": "社保经办系统", "department": "D03",
         "network_type": "dedicated", "dedicated_network": "NET01",
         "run_location": "self_built_dc", "current_data_center": "DC03",
         "migration_plan": "migrate", "migration_target": "CP01",
         "migration_due": today + days(60), "migration_status": "in_progress",
         "approving_department": "自治区人社厅", "total_investment": Decimal("8600000")},
        {**common, "code": "IS03", "name": "警务综合查询系统", "department": "D0201",
         "run_location": "self_built_dc", "current_data_center": "DC02",
         "migration_plan": "migrate", "migration_target": "CP02",
         "migration_due": today - days(20), "migration_status": "not_started",
         "total_investment": Decimal("4300000")},
        {**common, "code": "IS04", "name": "预算管理一体化系统", "department": "D04",
         "run_location": "gov_cloud", "current_platform": "CP01", "migration_plan": "on_cloud",
         "approving_department": "自治区财政厅", "total_investment": Decimal("5200000")},
        {**common, "code": "IS05", "name": "旧版门户网站", "department": "D0101",
         "usage_status": "idle", "system_type": "portal", "run_location": "gov_cloud",
         "current_platform": "CP01", "total_investment": Decimal("1200000")},
        {**common, "code": "IS06", "name": "视频图像联网平台", "department": "D02",
         "run_location": "gov_cloud", "current_platform": "CP02", "migration_plan": "on_cloud",
         "total_investment": Decimal("15800000")},
    ]


def _devices() -> list[dict]:
    def device(code, name, department, kind, **more):
        return {"code": code, "name": name, "department": department, "device_type": kind,
                "status": "in_use", "funding_source": "fiscal", **more}
    return [
        device("DEV-DC01-CORE", "政务云核心交换机", "D01", "switch", vendor="华为",
               model="S6730-H48X6C", serial_number="2102351931P0K3000123", data_center="DC01",
               information_system="IS01", purchase_price=Decimal("380000")),
        # Declared with another model than the switch reports.
        device("DEV-DC01-AGG", "政务云汇聚交换机", "D01", "switch", vendor="H3C",
               model="S6520X-26C-EI", serial_number="210235A2FNH203000456", data_center="DC01",
               purchase_price=Decimal("120000")),
        device("DEV-NET01-SW", "社保专网汇聚交换机", "D03", "switch", vendor="中兴",
               mac="f4:de:af:03:00:01", purchase_price=Decimal("95000")),
        # Two rows claim one firewall's interfaces: a conflict for a person to sort out.
        device("DEV-FW-A", "公安边界防火墙A", "D02", "firewall", mac="f4:de:af:04:00:01",
               data_center="DC02"),
        device("DEV-FW-B", "公安边界防火墙B", "D02", "firewall", mac="f4:de:af:04:00:02",
               data_center="DC02"),
        device("DEV-DC01-UPS", "政务云UPS", "D01", "ups", vendor="华为",
               serial_number="2102312NVB10K9000321", data_center="DC01",
               purchase_price=Decimal("650000")),
        device("DEV-RS-DB01", "社保数据库服务器", "D03", "server", vendor="华为",
               model="TaiShan 200 (Model 2280)", serial_number="2102312TXT10M5000654",
               data_center="DC03", information_system="IS02", cpu_model="Kunpeng 920-6426",
               purchase_price=Decimal("260000")),
        device("DEV-UPS02", "人社厅机房UPS", "D03", "ups", vendor="科华",
               serial_number="KH2020UPS0042", data_center="DC03",
               purchase_price=Decimal("90000")),
        # Declared, never seen.
        device("DEV-GHOST", "网安备用服务器", "D0202", "server", vendor="浪潮",
               model="NF5280M6", serial_number="219A12345678", purchase_price=Decimal("168000")),
        # Declared idle: its money is idle investment until someone reclaims it.
        device("DEV-SPARE-01", "财政厅备用服务器", "D04", "server", vendor="曙光",
               serial_number="SG2019A00077", status="idle", purchase_price=Decimal("210000")),
        device("DEV-SPARE-02", "交管局闲置存储", "D0201", "storage", vendor="华为",
               serial_number="2102350DAS10L3000999", status="idle",
               purchase_price=Decimal("340000")),
        device("DEV-OLD-RT", "旧出口路由器", "D05", "router", status="retired",
               serial_number="OLDRT0001"),
    ]


@dataclasses.dataclass(frozen=True)
class Vm:
    """One generated instance: declared (code) or not, its figures and how busy it is."""

    name: str
    department: str
    vcpus: int
    memory_gib: int
    cpu_percent: float
    memory_percent: float
    code: str | None = None           # the census row declaring it
    system: str | None = None
    declared_vcpus: int | None = None
    annual_cost: int | None = None


@dataclasses.dataclass(frozen=True)
class Host:
    """One generated hypervisor."""

    name: str
    vendor: str
    model: str
    cpu_model: str
    sockets: int
    cores: int
    threads: int
    memory_gib: int
    cpu_percent: float
    gpus: int = 0
    accelerator: str | None = None


@dataclasses.dataclass(frozen=True)
class Platform:
    """A generated cloud platform: its source name, census code, owner, hosts and VMs."""

    source: str
    code: str
    department: str
    data_center: str
    hosts: tuple[Host, ...]
    vms: tuple[Vm, ...]
    storage_tib: tuple[int, ...] = ()     # datastores' capacity


def _hosts(prefix, count, vendor, model, cpu, sockets, cores, threads, memory, busy, gpus=0,
           accelerator=None):
    return tuple(Host(f"{prefix}-{n:02d}", vendor, model, cpu, sockets, cores, threads, memory,
                      busy + 4 * n, gpus, accelerator) for n in range(1, count + 1))


PLATFORMS: tuple[Platform, ...] = (
    Platform("cloud-cp01", "CP01", "D01", "DC01", (
        *_hosts("cp01-kp", 4, "Huawei", "TaiShan 200 (Model 2280)", "Kunpeng 920-6426", 2, 128,
                128, 512, 38),
        *_hosts("cp01-hg", 2, "Sugon", "H620-G30", "Hygon C86 7285 32-core Processor", 2, 64,
                128, 512, 31),
        *_hosts("cp01-ai", 2, "Huawei", "Atlas 800 (Model 9000)", "Kunpeng 920-5250", 4, 192,
                192, 1024, 55, gpus=8, accelerator="Ascend 910B"),
        *_hosts("cp01-ft", 2, "Great Wall", "擎天 EF860", "Phytium S2500", 2, 128, 128, 256, 22),
    ), (
        Vm("zwfw-web-01", "D01", 8, 16, 42, 55, "VM-IS01-WEB1", "IS01", annual_cost=36000),
        Vm("zwfw-web-02", "D01", 8, 16, 38, 52, "VM-IS01-WEB2", "IS01", annual_cost=36000),
        Vm("zwfw-db-01", "D01", 16, 64, 8, 22, "VM-IS01-DB", "IS01", annual_cost=96000),
        Vm("sb-app-01", "D03", 8, 32, 35, 60, "VM-IS02-APP", "IS02", annual_cost=48000),
        Vm("sb-db-01", "D03", 32, 128, 45, 70, "VM-IS02-DB", "IS02", declared_vcpus=16,
           annual_cost=120000),
        Vm("ys-app-01", "D04", 8, 16, 1.2, 12, "VM-IS04-APP", "IS04", annual_cost=48000),
        Vm("test-k8s-01", "D01", 16, 32, 25, 40),
        Vm("test-k8s-02", "D01", 16, 32, 23, 41),
        Vm("tmp-bigdata-01", "D05", 32, 128, 30, 66),
    ), (300, 300, 120)),
    Platform("cloud-cp02", "CP02", "D02", "DC01",
             _hosts("cp02-esx", 3, "Inspur", "NF5280M5", "Intel(R) Xeon(R) Gold 6248R CPU @ "
                    "3.00GHz", 2, 48, 96, 768, 40, gpus=2, accelerator="NVIDIA Tesla T4"), (
                 Vm("sp-app-01", "D02", 16, 32, 48, 61, "VM-IS06-APP1", "IS06", annual_cost=60000),
                 Vm("sp-app-02", "D02", 16, 32, 44, 58, "VM-IS06-APP2", "IS06", annual_cost=60000),
                 Vm("jg-query-test", "D0201", 8, 16, 19, 35),
             ), (80,)),
)


def serial(host: Host) -> str:
    """The generated serial number of a host."""
    return f"{host.vendor[:2].upper()}{uid(host.name)[:8].upper()}"


def _hosts_declared() -> list[dict]:
    """Every platform host as the cloud's owner declares it, but the last one (forgotten)."""
    rows = []
    for platform in PLATFORMS:
        for host in platform.hosts[:-1] if platform.code == "CP01" else platform.hosts:
            rows.append({"code": f"SRV-{host.name.upper()}", "name": f"{host.name} 宿主机",
                         "department": platform.department, "device_type": "server",
                         "vendor": host.vendor, "model": host.model,
                         "serial_number": serial(host), "data_center": platform.data_center,
                         "cpu_model": host.cpu_model, "cpu_cores": host.cores,
                         "memory_gib": float(host.memory_gib), "status": "in_use",
                         "funding_source": "fiscal", "purchase_price": Decimal("320000")})
    return rows


def _resources() -> list[dict]:
    rows = []
    for platform in PLATFORMS:
        for vm in platform.vms:
            if vm.code:
                rows.append({"code": vm.code, "name": vm.name, "department": vm.department,
                             "resource_type": "instance", "platform": platform.code,
                             "information_system": vm.system, "instance_id": uid(vm.name),
                             "vcpu": vm.declared_vcpus or vm.vcpus,
                             "memory_gib": float(vm.memory_gib), "status": "in_use",
                             "annual_cost": Decimal(vm.annual_cost) if vm.annual_cost else None})
    # Declared on the cloud, never seen there.
    rows.append({"code": "VM-IS01-CACHE", "name": "zwfw-cache-01", "department": "D01",
                 "resource_type": "instance", "platform": "CP01", "information_system": "IS01",
                 "instance_id": uid("zwfw-cache-01"), "vcpu": 4, "memory_gib": 16.0,
                 "status": "in_use", "annual_cost": Decimal("18000")})
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def platform_facts(platform: Platform) -> list[Fact]:
    """The platform's hosts, datastores and instances as a vSphere collector reports them."""
    facts = [Fact("hypervisor", {"serial_number": serial(h), "machine_uuid": uid(h.name),
                                 "hostname": h.name}, {
        "vendor": h.vendor, "model": h.model, "cpu_model": h.cpu_model,
        "cpu_sockets": h.sockets, "cpu_cores": h.cores, "cpu_threads": h.threads,
        "memory_bytes": h.memory_gib * GIB, "gpus": h.gpus or None, "power_state": "poweredOn",
        "processors": [{"type": "GPU", "model": h.accelerator}] * h.gpus, "demo": True})
        for h in platform.hosts]
    facts += [Fact("datastore", {"resource_id": f"{platform.code}-ds-{n:02d}"}, {
        "name": f"{platform.code.lower()}-ds-{n:02d}", "type": "vsan",
        "capacity_bytes": tib * 1024 * GIB, "free_bytes": tib * 1024 * GIB * 2 // 5,
        "demo": True}) for n, tib in enumerate(platform.storage_tib, start=1)]
    for n, vm in enumerate(platform.vms):
        host = platform.hosts[n % len(platform.hosts)]
        facts.append(Fact("instance", {"instance_uuid": uid(vm.name), "hostname": vm.name}, {
            "name": vm.name, "vcpus": vm.vcpus, "memory_bytes": vm.memory_gib * GIB,
            "power_state": "poweredOn", "hypervisor": host.name, "department": vm.department,
            "guest_os": "openEuler 22.03 LTS" if "kp" in host.name else "Kylin V10",
            "demo": True}))
    return facts


#: The UPS whose network card stopped answering two hours before the demo started.
SILENT_UPS = Fact("device", {"serial_number": "KH2020UPS0042", "mac": ["f4:de:af:08:00:01"],
                             "mgmt_ip": "127.0.0.1", "hostname": "DC03-UPS02"},
                  {"vendor": "Kehua", "model": "FR-UK3330", "device_type": "ups",
                   "sys_object_id": "1.3.6.1.4.1.44782.1.2", "demo": True})
