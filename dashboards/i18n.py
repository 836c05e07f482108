"""Interface language of pages and API messages: an adapter over :mod:`ledger.i18n`.

The language comes from ``?lang=zh|en`` (remembered in a cookie), then the cookie, then
``Accept-Language``, then the configured default (zh). Templates call ``_("key")``.
The words of the pages live in :data:`MESSAGES` (and the page modules' own tables) and are
registered in the one catalogue, domain ``web``; :func:`translate` and
:func:`current_language` stay as the helpers every view already calls.
"""

from __future__ import annotations

from flask import Flask, g, request

from ledger import i18n

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
        "zones_down": "失联（超过 2 分钟未联系）",
        "zones_none": "尚无分区采集器联系中心。",
        "http_400": "请求有误", "http_404": "未找到请求的资源", "http_405": "接口不支持该请求方法",
        "http_406": "无法提供所要求的格式", "http_409": "与现有数据冲突",
        "http_415": "不支持该请求内容类型", "http_500": "服务器内部错误",
        "http_403": "无权访问", "http_410": "该资源已不存在", "http_429": "请求过于频繁，请稍后再试",
        "http_501": "不支持该功能", "http_503": "服务暂不可用",
        "json_expected": "请求体应为 JSON 对象", "json_rows_expected":
            "{key}：应为已知类别的行对象列表", "request_nul": "请求中含有 NUL 字符",
        "not_found": "未找到该记录", "page_integers": "page 和 per_page 应为整数（page 不超过 10 亿）",
        "unknown_filter": "未知字段", "upload_expected": "multipart 请求应在 file 字段中上传文件",
        "bad_flag": "dry_run 与 replace 只接受 true/false、1/0、yes/no",
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
        "zones_down": "down (no contact for over 2 minutes)",
        "zones_none": "No zone collector has reported yet.",
        "http_400": "Bad request", "http_404": "Not found", "http_405": "Method not allowed "
        "on this path", "http_406": "Cannot answer in the format asked for",
        "http_409": "Conflicts with existing data", "http_415": "Unsupported content type",
        "http_500": "Internal server error", "http_403": "Forbidden", "http_410": "Gone",
        "http_429": "Too many requests; try again later", "http_501": "Not implemented",
        "http_503": "Service unavailable", "json_expected": "A JSON object is expected",
        "json_rows_expected": "{key}: a list of row objects of a known category is expected",
        "request_nul": "The request holds a NUL character", "not_found": "No such row (not found)",
        "page_integers": "page and per_page must be integers (page at most 10^9)",
        "unknown_filter": "unknown field",
        "upload_expected": "a multipart request must carry the file in the field 'file'",
        "bad_flag": "dry_run and replace take only true/false, 1/0 or yes/no",
    },
}


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add a page module's words (``{"zh": {...}, "en": {...}}``) to the catalogue; they
    also stay visible in :data:`MESSAGES` for code that reads it directly."""
    for lang, words in messages.items():
        MESSAGES.setdefault(lang, {}).update(words)
    i18n.register(i18n.WEB, messages)


def _merge() -> None:
    # The identity pages keep their words in their own module.
    from dashboards.i18n_alerts import MESSAGES as ALERTS
    from dashboards.i18n_identity import MESSAGES as IDENTITY
    from dashboards.i18n_pages import MESSAGES as PAGES
    from dashboards.i18n_reports import MESSAGES as REPORTS
    register(IDENTITY)
    register(PAGES)
    register(ALERTS)
    register(REPORTS)
    from ledger.const import COMPARED_FIELDS, FINDING_KINDS, FINDING_STATES, OUTCOMES
    for domain, labels in (("finding_kind", FINDING_KINDS), ("finding_state", FINDING_STATES),
                           ("outcome", OUTCOMES), ("compared_field", COMPARED_FIELDS)):
        i18n.register(domain, labels)
    i18n.register(i18n.WEB, MESSAGES)


_merge()


def translate(key: str, lang: str | None = None) -> str:
    """Return the message for ``key`` in ``lang`` (default: this request's language)."""
    return i18n.gettext(key, lang or current_language())


def label_of(domain: str, key: str) -> str:
    """A label of the analyses' shared names (``finding_kind``, ``finding_state``,
    ``outcome``, ``compared_field``) in this request's language."""
    return i18n.dgettext(domain, key, current_language())


def current_language() -> str:
    """This request's language (outside a request: the catalogue's current one)."""
    return (getattr(g, "lang", None) if g else None) or i18n.current()


def init_app(app: Flask) -> None:
    """Pick the language per request and expose ``_`` and ``lang`` to templates."""

    @app.before_request
    def _pick_language() -> None:
        g.lang = i18n.negotiate(request.args.get("lang"), request.cookies.get(COOKIE),
                                request.headers.get("Accept-Language"),
                                app.config.get("LANGUAGE", "zh"))
        g.lang_token = i18n.push(g.lang)

    @app.teardown_request
    def _forget_language(_exc) -> None:
        token = g.pop("lang_token", None)
        if token is not None:
            try:
                i18n.pop(token)
            except ValueError:   # torn down in another context than it was set in
                pass

    @app.after_request
    def _remember_language(response):
        if request.args.get("lang") in LANGUAGES:
            response.set_cookie(COOKIE, request.args["lang"], max_age=365 * 86400,
                                samesite="Lax")
        return response

    app.jinja_env.globals.update(_=translate, current_language=current_language)
