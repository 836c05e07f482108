"""Words of the audience pages (estate, census rows, findings, overview screen, resource
graph), registered in the one catalogue (:mod:`ledger.i18n`, domain ``web``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {"zh": {}, "en": {}}


def _words(pairs: dict[str, tuple[str, str]]) -> None:
    for key, (zh, en) in pairs.items():
        MESSAGES["zh"][key], MESSAGES["en"][key] = zh, en


_words({  # operators
    "nav_estate": ("运行总览", "Estate"), "estate_title": ("运行总览", "Estate overview"),
    "auto_refresh": ("自动刷新", "Auto-refresh"), "refresh_off": ("关闭", "off"),
    "range_6h": ("近6小时", "Last 6 hours"), "range_30d": ("近30天", "Last 30 days"),
    "polls": ("采集次数", "Polls"), "failures": ("失败", "failed"),
    "interfaces": ("接口", "Interfaces"), "if_alias": ("描述", "Alias"),
    "if_speed": ("速率", "Speed"), "if_rx": ("入方向利用率", "In utilization"),
    "if_tx": ("出方向利用率", "Out utilization"), "state_up": ("正常", "up"),
    "state_down": ("中断", "down"),
    "chart_if_rx_util": ("接口入方向利用率", "Interface in utilization"),
    "chart_if_tx_util": ("接口出方向利用率", "Interface out utilization"),
    "chart_if_oper": ("接口状态", "Interface state"),
    "chart_poll_up": ("采集结果", "Poll outcome"),
    "chart_poll_duration": ("采集耗时", "Poll duration"),
    "search_placeholder": ("搜索主机名、序列号、地址…", "Search name, serial, address…"),
    "search_title": ("搜索", "Search"), "search": ("搜索", "Search"),
    "overdue": ("超时未采集", "Overdue"), "by_kind": ("按类型", "By kind"),
    "by_department": ("按部门", "By department"),
    "scheduler_title": ("调度与分析", "Scheduler and analyses"),
    "run_reconcile": ("最近一次对账", "Last reconciliation"),
    "run_idle": ("最近一次闲置分析", "Last idle analysis"),
    "run_migration": ("最近一次迁移分析", "Last migration analysis"),
    "observed_assets": ("采集所见资产", "Observed assets"),
    "fact_hostname": ("主机名", "Host name"), "fact_serial": ("序列号", "Serial number"),
    "fact_address": ("管理地址", "Address"), "fact_model": ("厂商型号", "Vendor and model"),
    "nothing_found": ("没有找到匹配的资产。", "Nothing matches."),
    "daily_summaries": ("近30天日汇总（P95）", "Daily summaries, last 30 days (p95)"),
    "cpu_p95": ("CPU", "CPU"), "memory_p95": ("内存", "Memory"),
    "declared_twin": ("普查登记", "Declared in the census"),
    "outcome": ("对账结果", "Reconciliation"), "outcome_matched": ("一致", "matched"),
    "outcome_mismatch": ("属性不一致", "attributes differ"),
    "outcome_suspect": ("疑似", "suspect"), "outcome_undeclared": ("未登记", "undeclared"),
    "outcome_missing": ("未发现", "missing"), "outcome_conflict": ("冲突", "conflict"),
    "declared": ("登记", "declared"), "observed": ("实测", "observed"),
    "matched_by": ("匹配依据", "Matched by"),
    "not_reconciled": ("尚未与普查台账对账。", "Not reconciled with the census yet."),
})
