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

_words({  # department data officer
    "nav_findings": ("核查发现", "Findings"), "edit": ("编辑", "Edit"),
    "row_saved": ("已保存。", "Saved."), "history": ("变更历史", "Change history"),
    "no_history": ("暂无变更记录。", "No changes recorded."),
    "action_create": ("新增", "created"), "action_update": ("修改", "changed"),
    "action_delete": ("删除", "removed"),
    "upload_title": ("上传普查表", "Upload a census workbook"),
    "upload_hint": ("先试运行显示差异，确认后才写入台账。", "A dry run shows the differences first; "
                    "nothing is written until you confirm."),
    "upload_file": ("普查表文件（.xlsx 或 .csv）", "Census file (.xlsx or .csv)"),
    "upload_preview": ("试运行", "Dry run"),
    "upload_dry_run": ("试运行结果（尚未写入）：", "Dry run (nothing written yet):"),
    "upload_confirm": ("确认导入", "Confirm the import"),
    "upload_applied": ("已导入，批次", "Imported, batch"),
    "upload_nothing": ("文件与台账一致，无需导入。", "The file matches the ledger: nothing to import."),
    "upload_pick_file": ("请选择 .xlsx 或 .csv 文件", "Pick an .xlsx or .csv file"),
    "upload_expired": ("试运行结果已失效，请重新上传", "The dry run expired; upload again"),
    "diff_counts": ("新增 %d，变更 %d，未变 %d，删除 %d", "new %d, changed %d, unchanged %d, removed %d"),
    "finding_kind": ("类型", "Kind"), "include_cleared": ("含已消除", "include cleared"),
    "filter": ("筛选", "Filter"), "amount": ("涉及金额（元）", "Amount (CNY)"),
    "acknowledge": ("确认", "Acknowledge"), "resolve": ("解决", "Resolve"),
    "reason": ("原因（必填）", "reason (required)"),
    "finding_updated": ("状态已更新。", "State changed."),
    "no_findings": ("本部门范围内暂无核查发现。", "No findings in your scope."),
})
_words({  # leadership screen
    "nav_screen": ("算力大屏", "Compute screen"), "screen_title": ("政务云网算力一本账", "Compute overview"),
    "as_of": ("数据时间", "As of"), "total_cores": ("物理核", "physical cores"),
    "total_vcpus": ("已分配 vCPU", "vCPU allocated"), "total_memory_tib": ("物理内存 (TiB)", "physical memory (TiB)"),
    "screen_declared": ("登记值", "declared"),
    "total_storage_tib": ("存储 (TiB)", "storage (TiB)"), "total_gpus": ("加速卡", "accelerators"),
    "total_tflops": ("FP64 算力 (TFLOPS)", "FP64 TFLOPS"), "total_idle": ("闲置投资", "idle investment"),
    "figure_unknown": ("未知", "unknown"),
    "total_overdue": ("逾期事项", "overdue items"),
    "screen_distribution": ("算力分布（地区·部门，物理核）", "Where the cores are (region, department)"),
    "screen_all": ("全部", "all"), "screen_trend": ("近30天平均利用率", "Mean use, last 30 days"),
    "screen_composition": ("CPU 架构与厂商（信创占比）", "CPU architecture and vendor (domestic share)"),
    "screen_domestic": ("信创", "domestic"), "screen_kpis": ("考核指标", "KPIs against targets"),
    "screen_idle": ("闲置投资最多的部门", "Departments with most idle investment"),
    "screen_migration": ("信息系统迁移上云进度", "Cloud migration of information systems"),
    "kpi_ledger_accuracy": ("台账准确率", "ledger accuracy"),
    "kpi_cloud_migration_rate": ("迁移上云率", "cloud migration rate"),
    "kpi_network_integration_rate": ("专网整合率", "network integration rate"),
    "kpi_idle_investment_reclaimed": ("闲置投资盘活率", "idle investment reclaimed"),
    "system_migrated": ("已迁移", "migrated"), "system_legacy_retired": ("原系统已下线", "legacy retired"),
    "system_in_progress": ("迁移中", "in progress"), "system_planned": ("计划迁移", "planned"),
    "system_unverified": ("未核实", "unverified"), "system_not_planned": ("暂不迁移", "not planned"),
    "yuan_unit": ("万元", "CNY"),
})
_words({  # resource graph
    "nav_graph": ("资源关系", "Resource graph"), "graph_up": ("上级与归属", "Belongs to"),
    "graph_down": ("下级与包含", "Contains"), "outside_scope": ("（本部门范围外）", "(outside your scope)"),
    "census_row": ("查看普查记录", "Census record"), "runs_on": ("运行于宿主机", "Runs on host"),
    "not_observed": ("尚未采集到该资产。", "Not observed yet."),
})
