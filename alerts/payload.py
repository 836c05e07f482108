"""The notification payload: Alertmanager's webhook JSON (version 4), built once per flush.

The outbox stores this document; every transport renders from it (the webhook sends it as
is, e-mail and the chat robots turn it into text or markdown), so a retry after a restart
sends exactly what the first attempt would have. Summaries are rendered here, from the
rule's template in Chinese and English with the alert's labels and ``{value}``.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any, Iterable, Mapping

from alerts.const import FINDING_KINDS_LABELS, KIND_LABELS

ZERO_TIME = "0001-01-01T00:00:00Z"
#: Alerts kept in one stored payload; a flood beyond it is counted in ``truncatedAlerts``.
MAX_STORED = 500
DEFAULT_SUMMARY = {
    "target_state": ("采集目标 {target} 状态异常（{status}）",
                     "Target {target} is {status}"),
    "threshold": ("{alertname}：{measurement} 当前值 {value}",
                  "{alertname}: {measurement} is {value}"),
    "absence": ("{alertname}：{measurement} 在时间窗口内没有数据",
                "{alertname}: no {measurement} data in the window"),
    "ledger_event": ("台账发现：{finding_kind_zh} {subject}",
                     "Ledger finding: {finding_kind_en} {subject}"),
    "health": ("系统自身健康：{metric} = {value}", "Monitor health: {metric} = {value}"),
}


class _Labels(dict):
    """Template values; a label an alert lacks renders as an empty string."""

    def __missing__(self, key: str) -> str:
        return ""


def summary(kind: str, template: str, labels: Mapping[str, str], value: float | None,
            language: str) -> str:
    """The alert's one-line summary in ``language``."""
    text = template or DEFAULT_SUMMARY[kind][0 if language == "zh" else 1]
    values = _Labels(labels)
    values["value"] = "—" if value is None else f"{value:.4g}"
    values["subject"] = " / ".join(v for v in (labels.get("declared"),
                                               labels.get("observed_source")) if v)
    kind_label = FINDING_KINDS_LABELS.get(labels.get("finding_kind", ""))
    if kind_label:
        values["finding_kind_zh"], values["finding_kind_en"] = kind_label
    try:
        return string.Formatter().vformat(text, (), values)
    except (ValueError, IndexError, KeyError, AttributeError):
        return text


def alert_entry(row: Mapping[str, Any], external_url: str, language: str) -> dict:
    """One alert of the payload, from its ``alert`` row."""
    labels = dict(row["labels"])
    notes = row["annotations"] or {}
    resolved = row["state"] == "resolved"
    annotations = {
        "summary": summary(row["kind"], notes.get(f"summary_{language}", ""), labels,
                           row["value"], language),
        "summary_zh": summary(row["kind"], notes.get("summary_zh", ""), labels, row["value"],
                              "zh"),
        "summary_en": summary(row["kind"], notes.get("summary_en", ""), labels, row["value"],
                              "en"),
        "kind": KIND_LABELS[row["kind"]][0 if language == "zh" else 1]}
    if row["value"] is not None:
        annotations["value"] = f"{row['value']:.6g}"
    return {"status": "resolved" if resolved else "firing", "labels": labels,
            "annotations": annotations, "startsAt": _iso(row["fired_at"] or row["active_at"]),
            "endsAt": _iso(row["resolved_at"]) if resolved else ZERO_TIME,
            "generatorURL": f"{external_url}/alerts/{row['id']}",
            "fingerprint": row["fingerprint"]}


def build(*, receiver: str, group_key: str, group: Mapping[str, str],
          rows: Iterable[Mapping[str, Any]], external_url: str, language: str) -> dict:
    """The whole payload of one group flush (firing alerts first)."""
    rows = sorted(rows, key=lambda r: (r["state"] == "resolved", r["labels"].get("alertname", ""),
                                       r["fingerprint"]))
    entries = [alert_entry(r, external_url, language) for r in rows[:MAX_STORED]]
    firing = sum(1 for r in rows if r["state"] != "resolved")
    return {"version": "4", "groupKey": group_key, "truncatedAlerts": max(0, len(rows) -
                                                                          MAX_STORED),
            "status": "firing" if firing else "resolved", "receiver": receiver,
            "groupLabels": dict(group), "commonLabels": _common(e["labels"] for e in entries),
            "commonAnnotations": _common({k: v for k, v in e["annotations"].items()
                                          if k.startswith("summary")} for e in entries),
            "externalURL": external_url, "alerts": entries,
            "counts": {"firing": firing, "resolved": len(rows) - firing}}


def _common(items: Iterable[Mapping[str, str]]) -> dict[str, str]:
    common: dict[str, str] | None = None
    for item in items:
        common = dict(item) if common is None else \
            {k: v for k, v in common.items() if item.get(k) == v}
    return common or {}


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ZERO_TIME
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
