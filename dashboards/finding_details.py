"""A finding's details as people read them: labelled parts in the page's language, not
``key=value`` text.

Pure functions: the details mapping an analysis stored in, (label, text) pairs out.
"""

from __future__ import annotations

from typing import Any, Mapping

from dashboards import facts
from ledger import i18n
from ledger.census.const import CHOICES
from ledger.census.fields import CATEGORIES

DOMAIN = "finding_detail"
i18n.register(DOMAIN, {
    "name": ("名称", "name"), "reason": ("原因", "reason"), "kind": ("类型", "kind"),
    "source": ("来源", "source"), "basis": ("判定依据", "basis"),
    "money_basis": ("金额依据", "amount from"), "note": ("备注", "note"),
    "devices_declared": ("登记设备", "devices declared"),
    "declared_answering": ("登记设备在线", "declared devices answering"),
    "observed_answering": ("发现设备在线", "observed devices answering"),
    "due": ("计划完成", "due"), "days_overdue": ("逾期天数", "days overdue"),
    "status": ("核实进度", "verified status"), "declared_status": ("填报进度", "declared status"),
    "target": ("目标云平台", "target platform"), "plan": ("计划", "plan"),
    "vcpus": ("vCPU", "vCPU"), "recommended_vcpus": ("建议 vCPU", "recommended vCPU"),
    "cpu_p95": ("CPU P95 (%)", "CPU p95 (%)"),
    "target_cpu_percent": ("CPU 目标利用率 (%)", "CPU target (%)"),
    "memory_gib": ("内存 (GiB)", "memory (GiB)"),
    "recommended_memory_gib": ("建议内存 (GiB)", "recommended memory (GiB)"),
    "memory_p95": ("内存 P95 (%)", "memory p95 (%)"),
    "target_memory_percent": ("内存目标利用率 (%)", "memory target (%)"),
    "reclaimable_vcpus": ("可回收 vCPU", "reclaimable vCPU"),
    "reclaimable_memory_gib": ("可回收内存 (GiB)", "reclaimable memory (GiB)"),
    "idle_days": ("闲置天数", "idle days"), "window_days": ("观察天数", "days judged"),
    "traffic_bps": ("流量 (bit/s)", "traffic (bit/s)"), "overdue": ("已逾期", "overdue"),
    "approving_department": ("审批部门", "approving department"),
    "category": ("类别", "category"), "code": ("编号", "code"), "policy": ("策略", "policy"),
    "matched_by": ("匹配依据", "matched by"), "field": ("比对字段", "field compared"),
    # values
    "=reason.keys": ("标识指向多条登记", "its keys point at several declared assets"),
    "=reason.claimed": ("被多个发现资产认领", "claimed by several observed assets"),
    "=basis.declared": ("按登记信息", "as declared"), "=basis.observed": ("按采集数据", "as observed"),
    "=note.declared_in_use": ("登记为在用", "declared in use"),
    "=status.not_planned": ("暂不迁移", "not planned"), "=status.planned": ("已计划", "planned"),
    "=status.unverified": ("未核实", "unverified"), "=status.in_progress": ("进行中", "in progress"),
    "=status.legacy_retired": ("原设备已下线", "legacy retired"),
    "=status.migrated": ("已迁移", "migrated"),
    # reasons the analyses give for a state they changed
    "~condition returned": ("问题再次出现", "the condition returned"),
    "~condition cleared": ("问题已消除", "the condition cleared"),
})
#: Details whose value is a census choice, and the choice list.
CHOICE_OF = {"declared_status": "progress", "plan": "migration_plan", "status": "progress"}
#: Details whose value names a census field.
FIELD_VALUED = frozenset({"money_basis", "matched_by", "field"})


def detail_parts(details: Mapping[str, Any] | None, language: str,
                 timezone: str = "UTC") -> list[tuple[str, str]]:
    """(label, text) of a finding's readable details (plain values only; nested evidence
    and lists stay in the API); a moment is written in ``timezone`` with its offset."""
    out = []
    for key, value in (details or {}).items():
        if value is None or isinstance(value, (dict, list, tuple)):
            continue
        moment = _moment(value)
        text = facts.when(moment, timezone) if moment else _value(key, value, language)
        out.append((_label(key, language), text))
    return out


def _moment(value: Any):
    """An ISO 8601 time with a zone (``2026-12-01T18:31:31+00:00``), else None (a plain
    date stays a date)."""
    import datetime as dt
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _label(key: str, language: str) -> str:
    if i18n.has(key, DOMAIN):
        return i18n.dgettext(DOMAIN, key, language)
    return key.replace("_", " ")


def _value(key: str, value: Any, language: str) -> str:
    if isinstance(value, bool):
        return i18n.dgettext("facts", "_yes" if value else "_no", language)
    if not isinstance(value, str):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if i18n.has(f"={key}.{value}", DOMAIN):
        return i18n.dgettext(DOMAIN, f"={key}.{value}", language)
    if key == "kind":
        return facts.kind_label(value, language)
    if key == "category" and value in CATEGORIES:
        return CATEGORIES[value].label(language)
    if key in FIELD_VALUED:
        return next((f.label(language) for c in CATEGORIES.values() for f in c.fields
                     if f.key == value), facts.label(value, language))
    if key in CHOICE_OF:
        return next((zh if language == "zh" else en
                     for choice, zh, en in CHOICES[CHOICE_OF[key]] if choice == value), value)
    return value


def state_reason_text(reason: str | None, language: str) -> str:
    """A state change's reason: the analyses' own reasons in ``language``; a person's reason
    as they wrote it."""
    if reason and i18n.has(f"~{reason}", DOMAIN):
        return i18n.dgettext(DOMAIN, f"~{reason}", language)
    return reason or ""
