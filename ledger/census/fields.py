"""The census categories and their fields, in import order.

One description drives the tables, workbook template, validation, export, REST API and
OpenAPI document. Field kinds:

- ``text`` (``max_length``), ``int``, ``float``, ``bool``, ``date``
- ``money``: a decimal amount in 元 (imports also accept 万元)
- ``level``: 等保级别 1-5
- ``choice``: one key of :data:`ledger.census.const.CHOICES` (``choices`` names the set)
- ``ref``: the ``code`` of a row of another category (``ref`` names it)
- ``ip``, ``mac``: normalised addresses (identity keys)

Every category has ``code`` (its unique key in the census); every category but region has
an owner ``department``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One census column."""

    key: str
    zh: str
    en: str
    kind: str = "text"
    required: bool = False
    choices: str | None = None
    ref: str | None = None
    max_length: int = 255
    identity: bool = False

    @property
    def column(self) -> str:
        """The database column: references store the referenced row's id."""
        return f"{self.key}_id" if self.kind == "ref" else self.key

    def label(self, language: str) -> str:
        """The header label in ``language`` (``zh`` or ``en``)."""
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class Category:
    """One census sheet and its ledger table."""

    key: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    #: Sets of fields whose values must be unique across the whole ledger when all set.
    unique: tuple[tuple[str, ...], ...] = ()
    #: Stricter groups the planner checks instead of ``unique`` (the database constraint
    #: stays ``unique``): a device's serial number alone, since reconciliation matches a
    #: serial whose vendor is blank against any vendor's (a department must not claim
    #: another department's server by leaving the vendor out).
    checked_unique: tuple[tuple[str, ...], ...] | None = None
    #: Pairs of fields of which exactly one group must be filled (see ``dr_pair``).
    one_of: tuple[tuple[tuple[str, ...], ...], ...] = ()
    #: Pairs of fields that must not hold the same value (a DR pair's two ends).
    distinct: tuple[tuple[str, str], ...] = ()
    by_key: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_key.update({f.key: f for f in self.fields})

    @property
    def table(self) -> str:
        """The ledger table of the declared rows."""
        return f"census_{self.key}"

    @property
    def owned(self) -> bool:
        """Whether rows carry an owner department (all but regions)."""
        return "department" in self.by_key

    def label(self, language: str) -> str:
        """The sheet name in ``language``."""
        return self.zh if language == "zh" else self.en


def _common(*, owner: bool = True) -> tuple[Field, ...]:
    fields = [Field("code", "编号", "code", required=True, max_length=64)]
    fields.append(Field("name", "名称", "name", required=True))
    if owner:
        fields.append(Field("department", "所属部门", "department", "ref", True, ref="department"))
    return tuple(fields)


def _money(key: str, zh: str, en: str) -> Field:
    return Field(key, zh, en, "money")


_APPROVAL = (
    Field("protection_level", "等保级别", "protection level", "level"),
    Field("approving_department", "审批部门", "approving department"),
    Field("approval_date", "审批时间", "approval date", "date"),
    Field("funding_source", "资金来源", "funding source", "choice", choices="funding_source"),
    Field("build_date", "建设时间", "build date", "date"),
    Field("in_service_date", "投运时间", "in-service date", "date"),
    _money("total_investment", "总投资(元)", "total investment (CNY)"),
)
_REMARKS = Field("remarks", "备注", "remarks", max_length=2000)

REGION = Category("region", "地区", "regions", (
    *_common(owner=False),
    Field("level", "层级", "level", "choice", True, choices="region_level"),
    Field("parent", "上级地区", "parent region", "ref", ref="region"),
))

DEPARTMENT = Category("department", "部门", "departments", (
    *_common(owner=False),
    Field("parent", "上级部门", "parent department", "ref", ref="department"),
    Field("region", "所在地区", "region", "ref", ref="region"),
    Field("contact", "数据专员", "data officer"),
    Field("phone", "联系电话", "phone", max_length=64),
))

DATA_CENTER = Category("data_center", "数据中心", "data centers", (
    *_common(),
    Field("region", "所在地区", "region", "ref", ref="region"),
    Field("build_mode", "建设模式", "build mode", "choice", True, choices="build_mode"),
    Field("function", "功能定位", "function"),
    Field("location", "物理位置", "physical location"),
    Field("build_standard", "建设标准", "build standard", "choice", choices="dc_standard"),
    Field("network_egress", "网络出口", "network egress"),
    *_APPROVAL,
    Field("device_count", "设备数量", "device count", "int"),
    Field("rack_count", "机柜数量", "rack count", "int"),
    Field("consolidation_status", "整合状态", "consolidation status", "choice", True,
          choices="consolidation_status"),
    _REMARKS,
))

CLOUD_PLATFORM = Category("cloud_platform", "云平台", "cloud platforms", (
    *_common(),
    Field("data_center", "所在数据中心", "data center", "ref", ref="data_center"),
    Field("build_mode", "建设模式", "build mode", "choice", True, choices="build_mode"),
    Field("platform_type", "技术架构", "platform type", "choice", choices="platform_type"),
    Field("compute", "计算资源", "compute"),
    Field("storage", "存储资源", "storage"),
    Field("database", "数据库", "database"),
    Field("network", "网络资源", "network"),
    Field("security", "安全资源", "security"),
    Field("disaster_recovery", "灾备资源", "disaster recovery"),
    Field("support_software", "支撑软件", "support software"),
    Field("vcpu_capacity", "vCPU总量", "vCPU capacity", "int"),
    Field("memory_capacity_gib", "内存总量(GiB)", "memory capacity (GiB)", "float"),
    Field("storage_capacity_tib", "存储总量(TiB)", "storage capacity (TiB)", "float"),
    *_APPROVAL,
    _REMARKS,
))

DEDICATED_NETWORK = Category("dedicated_network", "业务专网", "dedicated networks", (
    *_common(),
    Field("coverage", "覆盖范围", "coverage", "choice", True, choices="coverage"),
    Field("lines", "线路情况", "lines"),
    Field("line_count", "线路数量", "line count", "int"),
    Field("internet_egress", "有无互联网出口", "internet egress", "bool"),
    *_APPROVAL,
    Field("integration_plan", "整合方案", "integration plan", "choice", True,
          choices="integration_plan"),
    Field("integration_status", "整合进度", "integration status", "choice",
          choices="progress"),
    Field("integration_due", "整合完成时限", "integration due date", "date"),
    _REMARKS,
))

INFORMATION_SYSTEM = Category("information_system", "信息系统", "information systems", (
    *_common(),
    Field("network_type", "所连网络", "connected network", "choice", True,
          choices="network_type"),
    Field("dedicated_network", "所连专网", "dedicated network", "ref",
          ref="dedicated_network"),
    Field("build_type", "建设类型", "build type", "choice", True, choices="build_type"),
    Field("usage_status", "使用状态", "usage status", "choice", True, choices="usage_status"),
    Field("system_type", "系统类型", "system type", "choice", choices="system_type"),
    *_APPROVAL,
    Field("run_location", "当前部署位置", "runs now at", "choice", choices="run_location"),
    Field("current_platform", "当前云平台", "current platform", "ref", ref="cloud_platform"),
    Field("current_data_center", "当前数据中心", "current data center", "ref",
          ref="data_center"),
    Field("migration_plan", "迁移上云计划", "migration plan", "choice",
          choices="migration_plan"),
    Field("migration_target", "迁移目标平台", "migration target platform", "ref",
          ref="cloud_platform"),
    Field("migration_due", "迁移完成时限", "migration due date", "date"),
    Field("migration_status", "迁移进度", "migration status", "choice", choices="progress"),
    _REMARKS,
), unique=())

DEVICE = Category("device", "设备", "devices", (
    *_common(),
    Field("device_type", "设备类型", "device type", "choice", True, choices="device_type"),
    Field("vendor", "厂商", "vendor", max_length=128),
    Field("model", "型号", "model"),
    Field("serial_number", "序列号", "serial number", max_length=128, identity=True),
    Field("management_ip", "管理地址", "management IP", "ip", identity=True),
    Field("mac", "MAC地址", "MAC address", "mac", identity=True),
    Field("hostname", "主机名", "hostname", identity=True),
    Field("data_center", "所在数据中心", "data center", "ref", ref="data_center"),
    Field("information_system", "所属信息系统", "information system", "ref",
          ref="information_system"),
    Field("rack", "机柜位置", "rack position", max_length=64),
    Field("cpu_model", "CPU型号", "CPU model"),
    Field("cpu_cores", "CPU核数", "CPU cores", "int"),
    Field("memory_gib", "内存(GiB)", "memory (GiB)", "float"),
    Field("status", "使用状态", "status", "choice", True, choices="device_status"),
    Field("purchase_date", "购置日期", "purchase date", "date"),
    _money("purchase_price", "购置金额(元)", "purchase price (CNY)"),
    Field("funding_source", "资金来源", "funding source", "choice", choices="funding_source"),
    _REMARKS,
), unique=(("vendor", "serial_number"), ("mac",)),
   checked_unique=(("serial_number",), ("mac",)))

CLOUD_RESOURCE = Category("cloud_resource", "云资源", "cloud resources", (
    *_common(),
    Field("resource_type", "资源类型", "resource type", "choice", True,
          choices="resource_type"),
    Field("instance_id", "实例ID", "instance ID", max_length=64, identity=True),
    Field("platform", "所在云平台", "platform", "ref", True, ref="cloud_platform"),
    Field("information_system", "所属信息系统", "information system", "ref",
          ref="information_system"),
    Field("vcpu", "vCPU", "vCPU", "int"),
    Field("memory_gib", "内存(GiB)", "memory (GiB)", "float"),
    Field("disk_gib", "磁盘(GiB)", "disk (GiB)", "float"),
    Field("ip_address", "IP地址", "IP address", "ip", identity=True),
    Field("hostname", "主机名", "hostname", identity=True),
    Field("status", "使用状态", "status", "choice", choices="usage_status"),
    Field("in_service_date", "开通日期", "in-service date", "date"),
    _money("annual_cost", "年度费用(元)", "annual cost (CNY)"),
    _REMARKS,
), unique=(("instance_id",),))

DR_PAIR = Category("dr_pair", "灾备关系", "disaster recovery", (
    *_common(),
    Field("mode", "灾备模式", "mode", "choice", True, choices="dr_mode"),
    Field("primary_system", "主用系统", "primary system", "ref", ref="information_system"),
    Field("standby_system", "备用系统", "standby system", "ref", ref="information_system"),
    Field("primary_platform", "主用平台", "primary platform", "ref", ref="cloud_platform"),
    Field("standby_platform", "备用平台", "standby platform", "ref", ref="cloud_platform"),
    Field("rpo_minutes", "RPO(分钟)", "RPO (minutes)", "int"),
    Field("rto_minutes", "RTO(分钟)", "RTO (minutes)", "int"),
    _REMARKS,
), one_of=((("primary_system", "standby_system"), ("primary_platform", "standby_platform")),),
   distinct=(("primary_system", "standby_system"), ("primary_platform", "standby_platform")))

#: Every category, in the order an import applies them (referenced before referencing).
CATEGORIES: dict[str, Category] = {c.key: c for c in (
    REGION, DEPARTMENT, DATA_CENTER, CLOUD_PLATFORM, DEDICATED_NETWORK, INFORMATION_SYSTEM,
    DEVICE, CLOUD_RESOURCE, DR_PAIR)}


def category_for_sheet(name: str) -> Category | None:
    """The category whose key or label (zh or en) is ``name``."""
    wanted = name.strip().lower()
    for category in CATEGORIES.values():
        if wanted in (category.key, category.zh, category.en.lower()):
            return category
    return None

#: Categories any department may reference whatever department declared them: regions, and
#: the shared infrastructure departments are hosted on (data centers, cloud platforms). A
#: reference to any other category (information systems, dedicated networks) resolves only
#: within the caller's subtree, and one it may not read reads "no such …" like a code that
#: does not exist (a department cannot probe or hook into another's systems).
SHARED_REFS = frozenset({"region", "data_center", "cloud_platform"})
