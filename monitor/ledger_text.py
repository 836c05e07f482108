"""Readable text of ``ledger …`` results, in Chinese or English."""

from __future__ import annotations

from typing import Any

from ledger.census.const import CHOICES

GIB = 1024 ** 3
_T = {
    "summarized": ("已生成日汇总：{days}", "Daily summaries written: {days}"),
    "nothing": ("没有需要汇总的日期。", "No day left to summarize."),
    "run": ("对账：{reconcile}；闲置 {idle} 项（占用投资 {money} 元）；迁移上云率 {cloud}，专网整合率 {net}",
            "reconciled: {reconcile}; {idle} idle (tying up CNY {money}); cloud migration "
            "rate {cloud}, network integration rate {net}"),
    "idle_head": ("闲置资源 {n} 项，占用投资 {money} 元；配置过高 {m} 项，可回收 {vcpus} vCPU、{gib} GiB 内存",
                  "{n} idle resources tying up CNY {money}; {m} oversized, {vcpus} vCPU and "
                  "{gib} GiB memory reclaimable"),
    "idle_line": ("  #{id} {what} · {basis} · 闲置 {days}/{judged} 天 · {money} 元 · {dept}",
                  "  #{id} {what} · {basis} · idle {days}/{judged} days · CNY {money} · {dept}"),
    "size_line": ("  #{id} {what} · vCPU {v}→{rv} · 内存 {m}→{rm} GiB",
                  "  #{id} {what} · vCPU {v}→{rv} · memory {m}→{rm} GiB"),
    "rates": ("迁移上云率 {cloud} · 专网整合率 {net}", "cloud migration rate {cloud} · network "
              "integration rate {net}"),
    "systems": ("信息系统", "Information systems"), "networks": ("业务专网", "Dedicated networks"),
    "centers": ("数据中心", "Data centers"), "overdue": ("逾期", "overdue"),
    "on_cloud": ("云上 {seen}/{declared}", "on the cloud {seen}/{declared}"),
    "answering": ("在答设备 {n}/{of}", "devices answering {n}/{of}"),
    "center_answering": ("在答：申报设备 {n}/{of}，按标签 {tagged}",
                         "answering: declared devices {n}/{of}, by tag {tagged}"),
    "departments": ("按部门", "By department"),
    "dept_systems": ("系统", "systems"), "dept_networks": ("专网", "networks"),
    "totals": ("合计：物理机 {hosts} 台，{sockets} 路 {cores} 核 {threads} 线程，内存 {mem} GiB，"
               "加速卡 {gpus}；虚拟机 {vms} 台，vCPU {vcpus}，超分比 {over}；存储 {storage} TiB；"
               "FP64 {fp64} TFLOPS，FP32 {fp32}，FP16 {fp16}",
               "Totals: {hosts} physical hosts, {sockets} sockets, {cores} cores, {threads} "
               "threads, {mem} GiB memory, {gpus} accelerators; {vms} VMs, {vcpus} vCPU, "
               "overcommit {over}; storage {storage} TiB; FP64 {fp64} TFLOPS, FP32 {fp32}, "
               "FP16 {fp16}"),
    "group": ("  {key}: 物理机 {hosts}，核 {cores}，内存 {mem} GiB，vCPU {vcpus}，FP64 {fp64} TFLOPS",
              "  {key}: {hosts} hosts, {cores} cores, {mem} GiB, {vcpus} vCPU, FP64 {fp64} "
              "TFLOPS"),
    "composition": ("CPU 构成（信创占比 {share}）：", "CPU composition (domestic share {share}):"),
    "unknown": ("未识别的 CPU 型号：", "Unknown CPU models:"),
    "no_flops": ("无峰值算力数据的型号：", "Models without peak figures:"),
    "util": ("CPU 平均利用率：物理 {p}%，虚拟 {v}%", "Mean CPU utilization: physical {p}%, "
             "virtual {v}%"),
    "kpi": ("  {name}: {value}（目标 {target}）{mark}", "  {name}: {value} (target {target}) "
            "{mark}"),
}
KPI_NAMES = {"ledger_accuracy": ("台账准确率", "ledger accuracy"),
             "coverage": ("纳管覆盖率", "coverage"),
             "cloud_migration_rate": ("迁移上云率", "cloud migration rate"),
             "network_integration_rate": ("专网整合率", "network integration rate"),
             "idle_investment_reclaimed": ("闲置投资回收率", "idle investment reclaimed"),
             "idle_investment": ("闲置占用投资(元)", "idle investment (CNY)")}
STATUS = {"planned": ("计划迁移", "planned"), "in_progress": ("迁移中", "in progress"),
          "migrated": ("已迁移", "migrated"), "legacy_retired": ("原系统已下线", "legacy retired"),
          "not_planned": ("暂不迁移", "not planned"), "unverified": ("未核实", "unverified")}


def _t(key: str, language: str, /, **params: Any) -> str:
    zh, en = _T[key]
    return (zh if language == "zh" else en).format(**params)


def _pick(pair, language: str) -> str:
    return pair[0] if language == "zh" else pair[1]


def _known(value, language: str):
    """A figure, or 未知 / unknown where there is none (never shown as 0)."""
    return ("未知" if language == "zh" else "unknown") if value is None else value


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render(action: str, result: dict, language: str) -> str:
    """The text of one ``ledger`` action's result."""
    lines = {"summarize": _summarized, "run": _run, "idle": _idle, "migration": _migration,
             "compute": _compute, "kpi": _kpi}[action](result, language)
    return "\n".join(lines) + "\n"


def _summarized(result: dict, language: str) -> list[str]:
    days = result["days"]
    return [_t("summarized", language, days=", ".join(days)) if days else
            _t("nothing", language)]


def _run(result: dict, language: str) -> list[str]:
    idle, migration = result["idle"], result["migration"]
    from ledger.const import OUTCOMES, label
    outcomes = " ".join(f"{label(OUTCOMES, k, language)} {v}"
                        for k, v in result["reconcile"].items())
    return [_t("run", language, reconcile=outcomes, idle=idle["idle"],
               money=f"{idle['idle_investment_fen'] / 100:,.2f}",
               cloud=_pct(migration["cloud_migration_rate"]),
               net=_pct(migration["network_integration_rate"]))]


def _what(item: dict) -> str:
    declared = item["declared"]
    parts = [f"{declared['category']}:{declared['code']}"] if declared else []
    if item["observed"]:
        parts.append(item["observed"]["source"])
        if not declared and item["observed"].get("name"):   # undeclared: say which one
            parts.append(item["observed"]["name"])
    return " ".join(parts)


def _idle(result: dict, language: str) -> list[str]:
    summary = result["summary"]
    lines = [_t("idle_head", language, n=summary["idle"],
                money=f"{summary['idle_investment_fen'] / 100:,.2f}", m=summary["oversized"],
                vcpus=summary["reclaimable_vcpus"], gib=summary["reclaimable_memory_gib"])]
    for item in result["findings"]:
        details = item["details"]
        if item["kind"] == "idle":
            basis = {"observed": ("实测", "observed"), "declared": ("申报", "declared")}[
                details.get("basis", "observed")]
            lines.append(_t("idle_line", language, id=item["id"], what=_what(item),
                            basis=_pick(basis, language), days=details.get("idle_days", "-"),
                            judged=details.get("judged_days", "-"),
                            money=item["amount"] or "-", dept=item["department"] or "-"))
        else:
            lines.append(_t("size_line", language, id=item["id"], what=_what(item),
                            v=details["vcpus"], rv=details["recommended_vcpus"],
                            m=details.get("memory_gib", "-"),
                            rm=details.get("recommended_memory_gib", "-")))
    return lines


def _migration(result: dict, language: str) -> list[str]:
    rates = result["rates"]
    lines = [_t("rates", language, cloud=_pct(rates["cloud_migration_rate"]),
                net=_pct(rates["network_integration_rate"]))]
    lines.append(_t("systems", language) + ":")
    for item in result["systems"]:
        evidence = item["evidence"]
        late = f" · {_t('overdue', language)} {item['days_overdue']}d" if item["overdue"] else ""
        on_cloud = _t("on_cloud", language, seen=evidence["cloud_seen_on_target"],
                      declared=evidence["cloud_declared"])
        lines.append(f"  {item['code']} {item['name']} · "
                     f"{_pick(STATUS.get(item['status'], (item['status'],) * 2), language)} · "
                     f"{on_cloud} · {item['due'] or '-'}{late}")
    lines.append(_t("networks", language) + ":")
    for item in result["networks"]:
        late = f" · {_t('overdue', language)} {item['days_overdue']}d" if item["overdue"] else ""
        lines.append(f"  {item['code']} {item['name']} · {_choice('integration_plan', item['plan'], language)}"
                     f" · {_choice('progress', item['status'], language)} · "
                     + _t("answering", language, n=item["evidence"]["devices_answering"],
                          of=item["evidence"]["devices"]) +
                     f" · {item['evidence']['traffic_bps']:.0f} bit/s{late}")
    lines.append(_t("centers", language) + ":")
    for item in result["data_centers"]:
        evidence = item["evidence"]
        lines.append(f"  {item['code']} {item['name']} · "
                     f"{_choice('consolidation_status', item['status'], language)} · "
                     + _t("center_answering", language, n=evidence["declared_answering"],
                          of=evidence["devices_declared"],
                          tagged=evidence["observed_answering"]))
    if result.get("by_department"):
        lines.append(_t("departments", language) + ":")
        for code, counts in sorted(result["by_department"].items()):
            parts = []
            for key, value in sorted(counts.items()):
                kind, _, what = key.partition("_")
                label = _t("overdue", language) if what == "overdue" else (
                    _pick(STATUS.get(what, (what, what)), language) if kind == "systems"
                    else _choice("progress", what, language))
                gap = "" if language == "zh" else " "
                parts.append(f"{_t('dept_' + kind, language)}{gap}{label} {value}")
            lines.append(f"  {code} · " + "，".join(parts) if language == "zh"
                         else f"  {code} · " + ", ".join(parts))
    return lines


def _choice(choices: str, key: str | None, language: str) -> str:
    for value, zh, en in CHOICES.get(choices, ()):
        if value == key:
            return zh if language == "zh" else en
    return key or "-"


def _compute(result: dict, language: str) -> list[str]:
    totals = result["totals"]

    def figures(values: dict) -> dict:
        return {"hosts": values.get("hosts", 0), "sockets": values.get("sockets", 0),
                "cores": values.get("cores", 0), "threads": values.get("threads", 0),
                "mem": values.get("memory_gib", 0), "gpus": values.get("gpus", 0),
                "vms": values.get("instances", 0), "vcpus": values.get("vcpus", 0),
                "over": values.get("overcommit") or "-",
                "storage": round(values.get("storage_bytes", 0) / GIB / 1024, 2),
                **{p: _known(values.get(f"{p}_tflops", 0), language)
                   for p in ("fp64", "fp32", "fp16")}}
    lines = [_t("totals", language, **figures(totals))]
    lines += [_t("group", language, key=g["key"], **figures(g)) for g in result["groups"]]
    lines.append(_t("composition", language, share=_pct(result["domestic_share"])))
    lines += [f"  {c['arch']} · {c['vendor']}{' (信创)' if c['domestic'] and language == 'zh' else ''}"
              f" · {c['hosts']} · {c['cores']} · {_pct(c['share'])}" for c in result["composition"]]
    if result["unknown_cpu_models"]:
        lines.append(_t("unknown", language))
        lines += [f"  {u['model']} · {u['hosts']} · {u['cores']}"
                  for u in result["unknown_cpu_models"]]
    if result["models_without_flops"]:
        lines.append(_t("no_flops", language) + " " + ", ".join(result["models_without_flops"]))
    util = result["utilization"]
    lines.append(_t("util", language, p=util["physical"] if util["physical"] is not None
                    else "-", v=util["virtual"] if util["virtual"] is not None else "-"))
    return lines


def _kpi(result: dict, language: str) -> list[str]:
    lines = []
    for name, item in result.items():
        if name == "idle_investment":
            lines.append(f"  {_pick(KPI_NAMES[name], language)}: {item['value']}")
            continue
        mark = {True: "✓", False: "✗", None: ""}[item["met"]]
        lines.append(_t("kpi", language, name=_pick(KPI_NAMES[name], language),
                        value=_pct(item["value"]), target=_pct(item["target"]), mark=mark))
    return lines
