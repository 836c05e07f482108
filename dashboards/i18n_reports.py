"""Words of the finance and audit pages: reports and the audit log's search (zh, en)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "nav_reports": "报表", "reports_title": "财务与审计报表",
        "report_utilization": "资源利用率", "report_idle": "闲置资源与规格优化",
        "report_findings": "普查与实际差异", "report_compute": "算力汇总",
        "report_month": "月份", "report_whole_scope": "全部（本人范围）",
        "report_search": "搜索", "report_apply": "筛选", "report_download": "下载",
        "report_total": "合计", "report_empty": "（无数据）",
        "report_truncated": "页面显示前 %d 行（共 %d 行）；下载文件包含全部行。",
        "audit_search": "搜索", "audit_object_type": "对象类型", "audit_object_key": "对象",
        "audit_since": "起始日期", "audit_until": "截止日期", "audit_status": "日志完整性",
        "audit_broken": "日志链校验失败：", "audit_not_checked": "记录较多，未自动校验；点击“校验”",
        "audit_head": "链头哈希",
    },
    "en": {
        "nav_reports": "Reports", "reports_title": "Finance and audit reports",
        "report_utilization": "Utilization", "report_idle": "Idle and rightsizing",
        "report_findings": "Census vs observed", "report_compute": "Compute summary",
        "report_month": "Month", "report_whole_scope": "All (my scope)",
        "report_search": "Search", "report_apply": "Filter", "report_download": "Download",
        "report_total": "Total", "report_empty": "(no data)",
        "report_truncated": "The page shows the first %d of %d rows; downloads hold them all.",
        "audit_search": "Search", "audit_object_type": "Object type", "audit_object_key": "Object",
        "audit_since": "From", "audit_until": "Until", "audit_status": "Log integrity",
        "audit_broken": "The chain does not verify: ",
        "audit_not_checked": "Many records: not checked automatically; press Verify",
        "audit_head": "Head hash",
    },
}
