"""Readable text of analysis results for the command line, in Chinese or English."""

from __future__ import annotations

from typing import Any

from ledger.census.const import CHOICES
from ledger.census.fields import CATEGORIES
from ledger.const import (COMPARED_FIELDS, FINDING_KINDS, FINDING_STATES, OUTCOMES, label)
from ledger.policy import IDENTITY_KEYS
from monitor.timetext import local_time

LIMIT = 20
KEY_LABELS = {"serial_number": ("序列号", "serial number"), "instance_uuid": ("实例UUID",
              "instance UUID"), "machine_uuid": ("主板UUID", "machine UUID"),
              "mac": ("MAC地址", "MAC"), "mgmt_ip": ("管理地址", "management IP"),
              "hostname": ("主机名", "hostname")}
OBSERVED_STATES = {"running": ("运行中", "running"), "stopped": ("已关机", "powered off"),
                   "seen": ("在线", "answering")}
_WORDS = {
    "title": ("对账结果（范围：{scope}）", "Reconciliation (scope: {scope})"),
    "everything": ("全部", "everything"),
    "changes": ("本次：写入 {pairs} 条对账记录；新发现 {opened}，重新打开 {reopened}，自动解决 {resolved}",
                "This run: pairs written {pairs}; findings opened {opened}, reopened "
                "{reopened}, resolved {resolved}"),
    "whole": ("  重算范围：全部（{why}）", "  Recomputed: everything ({why})"),
    "why_first": ("首次对账", "first run"),
    "why_inputs": ("对账策略或部门、数据中心、云平台代码表有变化", "the policy or the code books changed"),
    "why_asked": ("按要求整体重算", "asked for"),
    "why_overlap": ("上次对账与另一次对账同时进行", "the last run overlapped another"),
    "why_large": ("变化波及超过四分之一的资产", "the changes reached more than a quarter of the estate"),
    "part": ("  重算范围：自上次以来变化所及的实测 {observed} 条、申报 {declared} 条，其余结果未变",
             "  Recomputed: {observed} observed and {declared} declared rows reached by changes "
             "since the last run; other results unchanged"),
    "more": ("  …另有 {n} 条，用 --json 查看全部", "  … {n} more; --json lists all"),
    "declared": ("申报", "declared"), "observed": ("实测", "observed"),
    "by": ("依据", "by"), "from": ("来源", "from"), "last_seen": ("最后发现", "last seen"),
    "never": ("从未发现", "never seen"), "none": ("没有发现。", "No findings."),
    "conflict_claimed": ("被多个实测资产认领", "claimed by several observed assets"),
    "conflict_keys": ("标识指向多个申报资产", "its keys point at several declared assets"),
}


def _w(key: str, language: str, **params: Any) -> str:
    zh, en = _WORDS[key]
    return (zh if language == "zh" else en).format(**params)


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh" else pair[1]


def category_label(category: str, language: str) -> str:
    """One asset's category: 设备 / device (the sheet names are plural in English)."""
    return CATEGORIES[category].zh if language == "zh" else category.replace("_", " ")


def reconcile_text(summary: dict[str, int], pairs: list[dict], result, scope,
                   language: str, timezone: str) -> str:
    """The summary line, what the run changed, and the pairs that need attention (times in
    ``timezone``, with their offset)."""
    lines = [_w("title", language, scope=scope.root or _w("everything", language)),
             "  " + "  ".join(f"{label(OUTCOMES, k, language)} {v}" for k, v in summary.items()),
             _w("changes", language, pairs=result.pairs_written, opened=result.findings.opened,
                reopened=result.findings.reopened, resolved=result.findings.resolved)]
    recomputed = result.recomputed
    if recomputed:
        lines.append(_w("whole", language, why=_w(f"why_{recomputed['why']}", language))
                     if recomputed.get("whole") else
                     _w("part", language, observed=recomputed.get("observed", 0),
                        declared=recomputed.get("declared", 0)))
    for outcome in ("mismatch", "conflict", "undeclared", "missing", "suspect"):
        items = [p for p in pairs if p["outcome"] == outcome]
        if not items:
            continue
        lines.append(f"\n{label(OUTCOMES, outcome, language)} ({len(items)}):")
        lines.extend("  " + _pair_line(p, language, timezone) for p in items[:LIMIT])
        if len(items) > LIMIT:
            lines.append(_w("more", language, n=len(items) - LIMIT))
    return "\n".join(lines) + "\n"


def _pair_line(pair: dict, language: str, timezone: str) -> str:
    parts = []
    if pair["declared"]:
        declared = pair["declared"]
        parts.append(f"{category_label(declared['category'], language)} {declared['code']}")
    if pair["observed"]:
        observed = pair["observed"]
        parts.append(f"{observed['source']}/{observed['kind']} {_keys(observed['keys'], language)}")
    if pair["matched_by"]:
        parts.append(f"{_w('by', language)} {_pick(KEY_LABELS[pair['matched_by']], language)}")
    line = " · ".join(parts)
    for diff in pair["differences"]:
        line += "\n    " + difference_text(diff, pair["declared"]["category"], language,
                                           timezone)
    if pair["outcome"] in ("missing", "suspect"):
        seen = pair["last_seen"]
        line += f" · {_w('last_seen', language)} {local_time(seen, timezone)}" if seen else \
            f" · {_w('never', language)}"
    if pair["outcome"] == "conflict" and pair.get("note"):
        why = "conflict_claimed" if "claimed" in pair["note"] else "conflict_keys"
        line += f" · {_w(why, language)}"
    return line


def _keys(keys: dict, language: str) -> str:
    shown = []
    for key in IDENTITY_KEYS:
        if key in (keys or {}):
            value = keys[key]
            value = ",".join(value[:2]) + ("…" if len(value) > 2 else "") \
                if isinstance(value, list) else value
            shown.append(f"{_pick(KEY_LABELS[key], language)}={value}")
    return " ".join(shown)


def difference_text(diff: dict, category: str, language: str, timezone: str) -> str:
    """``型号：申报 CE12808 / 实测 CE6881（来源 core-sw-1，时间）``."""
    field = diff["field"]
    name = label(COMPARED_FIELDS, field, language)
    declared, observed = diff["declared"], diff["observed"]
    if field == "status":
        declared = _choice(category, declared, language)
        observed = _pick(OBSERVED_STATES.get(observed, (observed, observed)), language)
    sep = "：" if language == "zh" else ": "
    return (f"{name}{sep}{_w('declared', language)} {declared} / {_w('observed', language)} "
            f"{observed} ({_w('from', language)} {diff.get('source')}, "
            f"{local_time(diff.get('time'), timezone)})")


def _choice(category: str, value: str, language: str) -> str:
    spec = CATEGORIES[category].by_key.get("status")
    for key, zh, en in CHOICES.get(spec.choices if spec else "", ()):
        if key == value:
            return zh if language == "zh" else en
    return value


def findings_text(items: list[dict], language: str, timezone: str) -> str:
    """One line per finding: id, kind, state, what it concerns, first and last seen (in
    ``timezone``, with its offset)."""
    if not items:
        return _w("none", language) + "\n"
    lines = []
    for item in items:
        subject = []
        if item["declared"]:
            category = item["declared"]["category"]
            subject.append(f"{category_label(category, language)} {item['declared']['code']}")
        if item["observed"]:
            subject.append(item["observed"]["source"])
        if item.get("subject") and not item["declared"]:
            subject.append(item["subject"])
        if item["field"] and item["kind"] == "mismatch":
            subject.append(difference_text(item["details"], item["declared"]["category"],
                                           language, timezone))
        lines.append(f"#{item['id']} [{label(FINDING_KINDS, item['kind'], language)} · "
                     f"{label(FINDING_STATES, item['state'], language)}] "
                     f"{' · '.join(subject)} ({item['department'] or '-'}; "
                     f"{local_time(item['first_seen'], timezone)} → "
                     f"{local_time(item['last_seen'], timezone)})")
    return "\n".join(lines) + "\n"
