"""Human text of a notification: a title, plain text (e-mail) and markdown (chat robots).

Rendered from the stored payload in the configured language (Chinese by default). A group
lists at most ``max_alerts`` alerts and counts the rest, and a digest (several
notifications merged under a rate limit) says how many it stands for, so a flood is one
short message, never thousands.
"""

from __future__ import annotations

from typing import Any

from alerts.const import SEVERITY_LABELS

WORDS = {
    "zh": {"firing": "告警", "resolved": "已恢复", "more": "另有 {n} 条未列出",
           "digest": "告警汇总：{n} 条通知因频率限制合并发送", "severity": "级别",
           "since": "开始", "ended": "恢复", "link": "详情", "group": "分组",
           "test": "测试通知"},
    "en": {"firing": "FIRING", "resolved": "RESOLVED", "more": "{n} more not listed",
           "digest": "Alert digest: {n} notifications merged by the rate limit",
           "severity": "severity", "since": "since", "ended": "resolved", "link": "details",
           "group": "group", "test": "Test notification"},
}


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["zh"])


def title(payload: dict[str, Any], language: str) -> str:
    """One line: status, counts and what the group has in common."""
    words = _words(language)
    if payload.get("digest"):
        return words["digest"].format(n=payload["digest"])
    counts = payload.get("counts", {})
    firing, resolved = counts.get("firing", 0), counts.get("resolved", 0)
    head = f"[{words['firing']}:{firing}]" if firing else f"[{words['resolved']}]"
    if firing and resolved:
        head += f"[{words['resolved']}:{resolved}]"
    common = payload.get("commonLabels", {})
    name = common.get("alertname") or ", ".join(f"{k}={v}" for k, v in
                                                sorted(payload.get("groupLabels", {}).items()))
    if payload.get("test"):
        name = words["test"]
    return f"{head} {name or payload.get('receiver', '')}".strip()


def _lines(payload: dict[str, Any], language: str, max_alerts: int, markdown: bool) -> list[str]:
    words = _words(language)
    alerts = payload.get("alerts", [])
    shown = alerts[:max_alerts]
    lines = []
    for item in shown:
        severity = item["labels"].get("severity", "")
        label = SEVERITY_LABELS.get(severity, (severity, severity))[0 if language == "zh" else 1]
        state = words["resolved"] if item["status"] == "resolved" else words["firing"]
        text = item["annotations"].get("summary", "")
        when = item["endsAt"] if item["status"] == "resolved" else item["startsAt"]
        stamp = f"{words['ended' if item['status'] == 'resolved' else 'since']} {when[:19]}Z"
        if markdown:
            lines.append(f"- **{state}** [{label}] {text} ({stamp}) "
                         f"[{words['link']}]({item['generatorURL']})")
        else:
            lines.append(f"- {state} [{label}] {text} ({stamp}) {item['generatorURL']}")
    hidden = len(alerts) - len(shown) + int(payload.get("truncatedAlerts", 0))
    if hidden > 0:
        lines.append(("- " if markdown else "- ") + words["more"].format(n=hidden))
    return lines


def text(payload: dict[str, Any], language: str, max_alerts: int = 20) -> str:
    """Plain text (e-mail body)."""
    lines = [title(payload, language), ""]
    lines += _lines(payload, language, max_alerts, markdown=False)
    lines += ["", payload.get("externalURL", "") + "/alerts"]
    return "\n".join(lines) + "\n"


def markdown(payload: dict[str, Any], language: str, max_alerts: int = 20) -> str:
    """Markdown (DingTalk, WeCom, Feishu)."""
    lines = [f"### {title(payload, language)}", ""]
    lines += _lines(payload, language, max_alerts, markdown=True)
    return "\n".join(lines)
