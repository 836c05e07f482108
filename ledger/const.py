"""Names the analyses share, each with its Chinese and English label.

One source of truth for reconciliation outcomes, finding kinds and states: the command
line, the API, its OpenAPI document and (later) pages and alerts all read them from here.
Keys are stored in the ledger and must never change.
"""

from __future__ import annotations

Labels = dict[str, tuple[str, str]]

#: Reconciliation outcome of a pair (declared and/or observed asset).
OUTCOMES: Labels = {
    "matched": ("一致", "matched"),
    "mismatch": ("不一致", "mismatch"),
    "undeclared": ("漏报", "undeclared"),
    "missing": ("未发现", "missing"),
    "suspect": ("疑似失联", "suspect"),
    "conflict": ("待核对", "conflict"),
}

#: Kinds of finding; the first five come from reconciliation.
FINDING_KINDS: Labels = {
    "undeclared": ("漏报资产", "undeclared asset"),
    "missing": ("未发现资产", "missing asset"),
    "suspect": ("疑似失联", "suspect asset"),
    "mismatch": ("信息不一致", "attribute mismatch"),
    "conflict": ("匹配冲突", "matching conflict"),
    "unknown_department": ("未知部门编码", "unknown department code"),
    "idle": ("闲置资源", "idle resource"),
    "oversized": ("配置过高", "oversized resource"),
    "migration_overdue": ("迁移上云逾期", "cloud migration overdue"),
    "network_overdue": ("专网整合逾期", "network integration overdue"),
    "dc_still_active": ("关停机房仍在运行", "closed data center still active"),
}
RECONCILE_KINDS = frozenset({"undeclared", "missing", "suspect", "mismatch", "conflict",
                             "unknown_department"})
IDLE_KINDS = frozenset({"idle", "oversized"})
MIGRATION_KINDS = frozenset({"migration_overdue", "network_overdue", "dc_still_active"})

#: Lifecycle states of a finding.
FINDING_STATES: Labels = {
    "open": ("待处理", "open"),
    "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已解决", "resolved"),
}
#: Transitions a person may make (the analyses also resolve and reopen on their own).
TRANSITIONS = {("open", "acknowledged"), ("open", "resolved"), ("acknowledged", "resolved"),
               ("acknowledged", "open"), ("resolved", "open")}

#: Fields compared between a declared asset and what was observed, per census category.
COMPARED_FIELDS: Labels = {
    "vendor": ("厂商", "vendor"), "model": ("型号", "model"),
    "serial_number": ("序列号", "serial number"), "cpu_model": ("CPU型号", "CPU model"),
    "cpu_cores": ("CPU核数", "CPU cores"), "memory_gib": ("内存(GiB)", "memory (GiB)"),
    "vcpu": ("vCPU", "vCPU"), "disk_gib": ("磁盘(GiB)", "disk (GiB)"),
    "hostname": ("主机名", "hostname"), "management_ip": ("管理地址", "management IP"),
    "ip_address": ("IP地址", "IP address"), "data_center": ("所在数据中心", "data center"),
    "platform": ("所在云平台", "platform"), "department": ("所属部门", "department"),
    "status": ("使用状态", "status"),
}


def label(table: Labels, key: str, language: str) -> str:
    """The label of ``key`` in ``language`` (the key itself when unknown)."""
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if language == "zh" else pair[1]
