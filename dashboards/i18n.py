"""Interface language: Simplified Chinese by default, English on request.

The language comes from ``?lang=zh|en`` (remembered in a cookie), then the
cookie, then the configured default. Templates call ``_("key")``.
"""

from __future__ import annotations

from flask import Flask, g, request

LANGUAGES = ("zh", "en")
COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "app_name": "政务云网算力一本账",
        "nav_targets": "采集目标",
        "targets_title": "采集目标",
        "col_name": "名称", "col_kind": "类型", "col_last_poll": "最近采集",
        "col_status": "状态", "col_duration": "耗时", "col_error": "最近错误",
        "col_interval": "采集间隔", "col_samples": "样本数",
        "status_ok": "正常", "status_partial": "部分成功", "status_error": "失败",
        "status_timeout": "超时", "status_pending": "等待首次采集",
        "summary_targets": "目标总数", "summary_up": "正常", "summary_down": "异常",
        "summary_pending": "未采集",
        "no_targets": "尚未配置采集目标。",
        "range_1h": "近1小时", "range_1d": "近1天", "range_1w": "近1周",
        "charts": "指标趋势", "no_data": "该时间范围内暂无数据。",
        "facts": "资产信息（采集所见）", "no_facts": "尚无资产信息。",
        "first_seen": "首次发现", "last_seen": "最近发现", "identity": "标识",
        "target_not_found": "未找到采集目标",
        "chart_cpu_usage": "CPU使用率", "chart_load": "系统负载",
        "chart_mem_used": "内存使用率", "chart_swap_used": "交换分区使用率",
        "chart_disk_used": "文件系统使用率", "chart_net_rx": "网络接收速率",
        "chart_net_tx": "网络发送速率", "chart_diskio_util": "磁盘繁忙度",
        "chart_diskio_read": "磁盘读速率", "chart_diskio_write": "磁盘写速率",
        "time": "时间", "seconds": "秒", "back": "返回目标列表", "language": "English",
        "last_error": "最近错误", "tags": "标签",
        "store_title": "存储与缓冲", "store_backend": "时序存储", "store_embedded": "内置存储",
        "spool_depth": "待写入样本", "spool_oldest": "最早待写入", "spool_bytes": "缓冲文件大小",
        "spool_replayed": "重启后补写", "spool_dropped": "超限丢弃", "spool_rejected": "被拒批次",
        "store_errors": "写入失败重试",
        "nav_zones": "分区采集器", "zones_title": "分区采集器",
        "zones_intro": "各网络分区的调度进程经 API 令牌向中心报送采集状态与资产信息；超过 2 分钟未联系的显示为异常。",
        "zones_zone": "分区", "zones_member": "采集进程", "zones_last_contact": "最近联系",
        "zones_backlog_samples": "积压样本", "zones_backlog_records": "积压记录",
        "zones_targets": "承担目标 / 分区目标", "zones_version": "版本",
        "zones_applied": "已入账记录", "zones_duplicates": "重复", "zones_ago": "%s 秒前",
        "zones_none": "尚无分区采集器联系中心。",
    },
    "en": {
        "app_name": "Infra Ledger",
        "nav_targets": "Targets",
        "targets_title": "Targets",
        "col_name": "Name", "col_kind": "Kind", "col_last_poll": "Last poll",
        "col_status": "Status", "col_duration": "Duration", "col_error": "Last error",
        "col_interval": "Interval", "col_samples": "Samples",
        "status_ok": "OK", "status_partial": "Partial", "status_error": "Failed",
        "status_timeout": "Timeout", "status_pending": "Not polled yet",
        "summary_targets": "Targets", "summary_up": "Up", "summary_down": "Down",
        "summary_pending": "Pending",
        "no_targets": "No targets are configured.",
        "range_1h": "Last hour", "range_1d": "Last day", "range_1w": "Last week",
        "charts": "Series", "no_data": "No data in this range.",
        "facts": "Observed inventory", "no_facts": "Nothing observed yet.",
        "first_seen": "First seen", "last_seen": "Last seen", "identity": "Identity",
        "target_not_found": "Target not found",
        "chart_cpu_usage": "CPU usage", "chart_load": "Load average",
        "chart_mem_used": "Memory used", "chart_swap_used": "Swap used",
        "chart_disk_used": "Filesystem used", "chart_net_rx": "Network receive rate",
        "chart_net_tx": "Network transmit rate", "chart_diskio_util": "Disk busy",
        "chart_diskio_read": "Disk read rate", "chart_diskio_write": "Disk write rate",
        "time": "Time", "seconds": "s", "back": "Back to targets", "language": "中文",
        "last_error": "Last error", "tags": "Tags",
        "store_title": "Store and spool", "store_backend": "Time-series store",
        "store_embedded": "embedded", "spool_depth": "Samples waiting",
        "spool_oldest": "Oldest waiting", "spool_bytes": "Spool on disk",
        "spool_replayed": "Replayed after restart", "spool_dropped": "Dropped at cap",
        "spool_rejected": "Batches refused", "store_errors": "Write retries",
        "nav_zones": "Zone collectors", "zones_title": "Zone collectors",
        "zones_intro": "Schedulers in network zones report poll outcomes and facts to the "
                       "center with an API token; one silent for over 2 minutes shows as down.",
        "zones_zone": "Zone", "zones_member": "Collector", "zones_last_contact": "Last contact",
        "zones_backlog_samples": "Samples waiting", "zones_backlog_records": "Records waiting",
        "zones_targets": "Targets owned / in zone", "zones_version": "Version",
        "zones_applied": "Records applied", "zones_duplicates": "replays",
        "zones_ago": "%s s ago",
        "zones_none": "No zone collector has reported yet.",
    },
}


def _merge() -> None:
    # The identity pages keep their words in their own module.
    from dashboards.i18n_identity import MESSAGES as IDENTITY
    for lang, words in IDENTITY.items():
        MESSAGES[lang].update(words)


_merge()


def translate(key: str, lang: str | None = None) -> str:
    """Return the message for ``key`` in ``lang`` (default: this request's language)."""
    lang = lang or current_language()
    return MESSAGES.get(lang, MESSAGES["zh"]).get(key) or MESSAGES["en"].get(key) or key


def current_language() -> str:
    """This request's language."""
    return getattr(g, "lang", None) or "zh"


def init_app(app: Flask) -> None:
    """Pick the language per request and expose ``_`` and ``lang`` to templates."""

    @app.before_request
    def _pick_language() -> None:
        wanted = request.args.get("lang") or request.cookies.get(COOKIE)
        g.lang = wanted if wanted in LANGUAGES else app.config.get("LANGUAGE", "zh")

    @app.after_request
    def _remember_language(response):
        if request.args.get("lang") in LANGUAGES:
            response.set_cookie(COOKIE, request.args["lang"], max_age=365 * 86400,
                                samesite="Lax")
        return response

    app.jinja_env.globals.update(_=translate, current_language=current_language)
