"""Choice sets of the census (政务信息化资产普查): stored key, Chinese and English label.

A cell may hold the key, the Chinese or the English label; exports write the label of
the chosen language, the API uses keys. Add a choice here and it reaches templates,
validation, exports and the OpenAPI document at once (existing keys must never change:
they are stored in the ledger).
"""

from __future__ import annotations

Choices = tuple[tuple[str, str, str], ...]

CHOICES: dict[str, Choices] = {
    "region_level": (
        ("province", "省级", "province / autonomous region"),
        ("city", "市级", "city / league"),
        ("county", "县级", "county / banner"),
        ("township", "乡镇级", "township"),
    ),
    "build_mode": (
        ("self_built", "自建", "self-built"),
        ("leased", "租用", "leased"),
        ("purchased_service", "购买服务", "purchased service"),
    ),
    "dc_standard": (
        ("a", "A级", "class A"),
        ("b", "B级", "class B"),
        ("c", "C级", "class C"),
        ("other", "其他", "other"),
    ),
    "funding_source": (
        ("fiscal", "财政资金", "fiscal funds"),
        ("self_raised", "自筹资金", "self-raised"),
        ("social_capital", "社会资本", "social capital"),
        ("mixed", "混合", "mixed"),
        ("other", "其他", "other"),
    ),
    "consolidation_status": (
        ("in_use", "在用", "in use"),
        ("recognised", "认定保留", "recognised"),
        ("to_be_closed", "待关停", "to be closed"),
        ("closed", "已关停", "closed"),
    ),
    "platform_type": (
        ("openstack", "OpenStack", "OpenStack"),
        ("vmware", "VMware", "VMware"),
        ("kvm", "KVM", "KVM"),
        ("kubernetes", "Kubernetes", "Kubernetes"),
        ("hyperconverged", "超融合", "hyperconverged"),
        ("other", "其他", "other"),
    ),
    "network_type": (
        ("egov_extranet", "电子政务外网", "e-government extranet"),
        ("internet", "互联网", "internet"),
        ("dedicated", "业务专网", "dedicated network"),
        ("lan", "局域网", "LAN"),
        ("other", "其他", "other"),
    ),
    "coverage": (
        ("national", "全国", "national"),
        ("provincial", "省级", "provincial"),
        ("city", "市级", "city"),
        ("county", "县级", "county"),
        ("township", "乡镇级", "township"),
    ),
    "integration_plan": (
        ("migrate", "迁入电子政务外网", "migrate into e-government extranet"),
        ("interconnect", "与电子政务外网互联互通", "interconnect with e-government extranet"),
        ("keep", "保留", "keep"),
    ),
    "progress": (
        ("not_started", "未开始", "not started"),
        ("in_progress", "进行中", "in progress"),
        ("completed", "已完成", "completed"),
    ),
    "build_type": (
        ("existing", "已建", "existing"),
        ("under_construction", "在建", "under construction"),
        ("rebuilding", "改造中", "being rebuilt"),
    ),
    "usage_status": (
        ("in_use", "在用", "in use"),
        ("idle", "闲置", "idle"),
        ("stopped", "停用", "stopped"),
        ("retired", "已下线", "retired"),
    ),
    "system_type": (
        ("business", "业务系统", "business"),
        ("office", "办公系统", "office"),
        ("portal", "门户网站", "portal"),
        ("data", "数据资源", "data resource"),
        ("infrastructure", "基础支撑", "infrastructure"),
        ("other", "其他", "other"),
    ),
    "run_location": (
        ("gov_cloud", "政务云", "government cloud"),
        ("self_built_dc", "自建机房", "self-built data center"),
        ("leased_dc", "托管机房", "leased data center"),
        ("other", "其他", "other"),
    ),
    "migration_plan": (
        ("on_cloud", "已上云", "already on cloud"),
        ("migrate", "计划迁移", "to migrate"),
        ("not_migrate", "暂不迁移", "not migrating"),
    ),
    "device_type": (
        ("server", "服务器", "server"),
        ("switch", "交换机", "switch"),
        ("router", "路由器", "router"),
        ("firewall", "防火墙", "firewall"),
        ("security", "安全设备", "security appliance"),
        ("storage", "存储设备", "storage"),
        ("ups", "UPS", "UPS"),
        ("pdu", "PDU", "PDU"),
        ("cooling", "空调制冷", "cooling"),
        ("other", "其他", "other"),
    ),
    "device_status": (
        ("in_use", "在用", "in use"),
        ("idle", "闲置", "idle"),
        ("spare", "备用", "spare"),
        ("faulty", "故障", "faulty"),
        ("retired", "报废", "retired"),
    ),
    "resource_type": (
        ("instance", "云主机", "instance"),
        ("volume", "云硬盘", "volume"),
        ("container", "容器", "container"),
        ("database", "云数据库", "database"),
        ("other", "其他", "other"),
    ),
    "dr_mode": (
        ("active_standby", "主备", "active/standby"),
        ("active_active", "双活", "active/active"),
        ("local_dr", "同城灾备", "same-city disaster recovery"),
        ("remote_dr", "异地灾备", "remote disaster recovery"),
    ),
}

#: Audit hash algorithms (``hashlib`` names); SM3 is GB/T 32905-2016.
AUDIT_ALGORITHMS = ("sha256", "sm3")
