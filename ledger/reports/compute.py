"""The compute ledger summary (算力一本账汇总) from :func:`ledger.analyses.compute_ledger`.

Totals of the scope, the figures per department (or another dimension), the composition by
CPU architecture and vendor with the domestic (信创) share, and the CPU models no rule
classifies (listed, never guessed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from ledger.census.snapshot import Scope
from ledger.reports.model import Column, Report, Section

FIGURES = (
    Column("hosts", "物理服务器", "Physical servers", "int"),
    Column("sockets", "CPU路数", "CPU sockets", "int"),
    Column("cores", "物理核", "Physical cores", "int"),
    Column("threads", "线程", "Threads", "int"),
    Column("memory_gib", "内存(GiB)", "Memory (GiB)", "number"),
    Column("gpus", "加速卡", "Accelerators", "int"),
    Column("fp64_tflops", "FP64 TFLOPS", "FP64 TFLOPS", "number"),
    Column("fp32_tflops", "FP32 TFLOPS", "FP32 TFLOPS", "number"),
    Column("fp16_tflops", "FP16 TFLOPS", "FP16 TFLOPS", "number"),
    Column("instances", "云主机", "Instances", "int"),
    Column("instances_running", "运行中云主机", "Instances running", "int"),
    Column("vcpus", "vCPU", "vCPU", "int"),
    Column("vm_memory_gib", "云主机内存(GiB)", "Instance memory (GiB)", "number"),
    Column("overcommit", "vCPU超分比", "vCPU overcommit", "number"),
)
GROUP_KEYS = {"department": ("部门", "Department"), "region": ("地区", "Region"),
              "dc": ("数据中心", "Data center"), "platform": ("云平台", "Platform"),
              "arch": ("CPU架构", "CPU architecture")}
METRICS = {c.key: (c.zh, c.en) for c in FIGURES} | {
    "domestic_share": ("信创占比(按物理核)", "Domestic share (cores)"),
    "physical_cpu": ("物理服务器平均CPU利用率(%)", "Physical servers' mean CPU (%)"),
    "virtual_cpu": ("云主机平均CPU利用率(%)", "Instances' mean CPU (%)")}
TOTALS = (Column("metric", "指标", "Figure", "label", METRICS),
          Column("value", "数值", "Value", "number"))
YES_NO = {"yes": ("是", "yes"), "no": ("否", "no")}
COMPOSITION = (
    Column("arch", "CPU架构", "Architecture"), Column("vendor", "厂商", "Vendor"),
    Column("domestic", "信创", "Domestic", "label", YES_NO), Column("hosts", "服务器", "Servers", "int"),
    Column("cores", "物理核", "Cores", "int"), Column("share", "核数占比", "Share of cores",
                                                     "percent"),
)
UNKNOWN = (Column("model", "CPU型号", "CPU model"), Column("hosts", "服务器", "Servers", "int"),
           Column("cores", "物理核", "Cores", "int"))
GIB = 1024 ** 3


def _figures(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {c.key: values.get(c.key, 0) for c in FIGURES}
    out["vm_memory_gib"] = round((values.get("vm_memory_bytes") or 0) / GIB, 1)
    return out


def report(ledger: Mapping[str, Any], scope: Scope, *, scope_name: str | None,
           now: dt.datetime, timezone: str) -> Report:
    """The report of one :func:`~ledger.analyses.compute_ledger` result."""
    by = ledger["by"]
    totals = _figures(ledger["totals"])
    usage = ledger.get("utilization") or {}
    metrics = [{"metric": column.key, "value": totals[column.key]} for column in FIGURES] + [
        {"metric": "domestic_share", "value": ledger["domestic_share"]},
        {"metric": "physical_cpu", "value": usage.get("physical")},
        {"metric": "virtual_cpu", "value": usage.get("virtual")}]
    zh, en = GROUP_KEYS.get(by, (by, by))
    groups = [{"key": g["key"], **_figures(g)} for g in ledger["groups"]]
    composition = [{**c, "domestic": "yes" if c["domestic"] else "no"}
                   for c in ledger["composition"]]
    return Report("compute", scope.root, scope_name, None, now, timezone, [
        Section("totals", "总量", "Totals", TOTALS, metrics),
        Section("groups", f"按{zh}", f"By {en.lower()}", (Column("key", zh, en),) + FIGURES,
                groups, {"key": None, **totals} if groups else None),
        Section("composition", "CPU架构与厂商构成", "CPU architecture and vendor", COMPOSITION,
                composition),
        Section("unknown_cpu", "未识别的CPU型号", "Unclassified CPU models", UNKNOWN,
                list(ledger["unknown_cpu_models"])),
    ], [("峰值算力来源：" + "；".join(ledger["flops_sources"]) if ledger["flops_sources"]
         else "无峰值算力数据", "Peak FLOPS sources: " + "; ".join(ledger["flops_sources"])
         if ledger["flops_sources"] else "no peak FLOPS figures")])
