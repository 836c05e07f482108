"""Names the alert package shares: rule kinds, states, severities, operators, metrics.

Keys are stored in the ledger (``alert.kind``, ``alert.state``) and must never change.
Each label pair is (Chinese, English).
"""

from __future__ import annotations

import operator

from ledger.const import FINDING_KINDS

#: Rule kinds.
KINDS = ("target_state", "threshold", "absence", "ledger_event", "health")
KIND_LABELS = {
    "target_state": ("采集目标状态", "target state"),
    "threshold": ("指标阈值", "threshold"),
    "absence": ("数据缺失", "absence of data"),
    "ledger_event": ("台账事件", "ledger event"),
    "health": ("系统自身健康", "monitor health"),
}
#: Alert states (an alert that stops being active before ``for`` elapses is dropped as
#: ``inactive``: never notified, kept for its history).
STATES = ("pending", "firing", "resolved", "inactive")
STATE_LABELS = {"pending": ("待触发", "pending"), "firing": ("告警中", "firing"),
                "resolved": ("已恢复", "resolved"), "inactive": ("未触发", "inactive"),
                "silenced": ("已静默", "silenced")}
SEVERITIES = ("critical", "warning", "info")
SEVERITY_LABELS = {"critical": ("严重", "critical"), "warning": ("警告", "warning"),
                   "info": ("提示", "info")}
#: target_state rules: which state of a target fires.
TARGET_STATES = ("down", "partial")
AGGREGATES = ("mean", "max", "min", "last", "sum", "count", "rate", "increase")
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
             "==": operator.eq, "!=": operator.ne}
FINDING_KIND_KEYS = tuple(FINDING_KINDS)
#: Runtime figures of the scheduler a health rule may watch; the last one is derived.
HEALTH_METRICS = ("spool_depth_samples", "spool_depth_bytes", "spool_oldest_age_seconds",
                  "spool_write_failing", "store_queue_depth", "store_write_errors_total",
                  "store_dropped_samples_total", "ledger_pending_facts",
                  "scheduler_heartbeat_age_seconds")
#: Outbox states: ``written`` means the request left whole but no answer came (a crash in
#: between): it is never sent again, so no receiver sees a message twice.
OUTBOX_STATES = ("pending", "sending", "written", "sent", "failed", "merged")
#: Notification integrations a receiver may have.
INTEGRATIONS = ("email", "webhook", "dingtalk", "wecom", "feishu")
#: Finding kind -> (Chinese, English), for summaries of ledger-event alerts.
FINDING_KINDS_LABELS = dict(FINDING_KINDS)
