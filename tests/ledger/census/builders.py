"""A census filled in as a department would: the project's own template, real-looking rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from ledger.census.template import write_workbook

ROWS = {
    "地区": [["440000", "广东省", "省级", None], ["440300", "深圳市", "市级", "440000"],
             ["440304", "福田区", "县级", "440300"]],
    "部门": [["D001", "深圳市政务服务数据管理局", None, "440300", "张三", "0755-88120000"],
             ["D002", "深圳市公安局", None, "440300", "李四", None],
             ["D00201", "深圳市公安局福田分局", "D002", "440304", None, None]],
    "数据中心": [["DC01", "市政务云主数据中心", "D001", "440300", "自建", "政务云", "福田区",
                  "A级", "电信/联通双出口", "三级", "市发改委", dt.datetime(2018, 3, 1),
                  "财政资金", "2018年5月", 43466, "1,234.5万元", 120, 40, "在用", None],
                 ["DC02", "公安局自建机房", "D002", "440304", "自建", "业务机房", "福田区",
                  "C级", None, 2, None, None, "财政资金", None, "2012-01-01", 3500000, 30, 8,
                  "待关停", "计划 2027 年关停"]],
    "云平台": [["CP01", "市政务云", "D001", "DC01", "自建", "OpenStack", "鲲鹏+x86", "分布式存储",
                "达梦/PostgreSQL", "VPC", "等保三级安全资源池", "同城灾备", "容器平台", 4096,
                16384, 500, 3, None, None, None, None, "2019-01-01", "8000万元", None]],
    "业务专网": [["NET01", "公安视频专网", "D002", "市级", "MSTP 专线", 120, "否", 3, "市发改委",
                  "2015-06-01", "财政资金", "2015-08-01", "2016-01-01", "2,000万元",
                  "与电子政务外网互联互通", "进行中", "2027-06-30", None]],
    "信息系统": [["IS01", "一网通办", "D001", "电子政务外网", None, "已建", "在用", "业务系统",
                  3, None, None, "财政资金", None, "2019-06-01", "300万", "政务云", "CP01",
                  None, "已上云", None, None, "已完成", None],
                 ["IS02", "警务综合平台", "D002", "业务专网", "NET01", "已建", "在用", "业务系统",
                  "第三级", None, None, "财政资金", None, "2014-03-01", 5800000, "自建机房",
                  None, "DC02", "计划迁移", "CP01", "2027年6月", "进行中", None]],
    "设备": [["DEV01", "核心交换机", "D001", "交换机", "Huawei", "CE12808",
              "2102351931DMK8000123", "10.0.0.1", "00-11-22-AA-BB-CC", "core-sw-1", "DC01",
              None, "A01-20U", None, None, None, "在用", "2018-05-01", "1200000.00", "财政资金", None],
             ["DEV02", "视频存储服务器", "D00201", "服务器", "Inspur", "NF5280M6", "21A8765432",
              "10.20.0.15", "0011.22dd.eeff", "video-01", "DC02", "IS02", "B03", "Intel Xeon Gold 6330",
              56, 512, "闲置", "2021-11-01", 185000.5, "财政资金", "利用率低"]],
    "云资源": [["VM01", "一网通办-web1", "D001", "云主机", "6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60",
                "CP01", "IS01", 8, 16, 200, "10.1.1.5", "web1", "在用", "2019-06-01",
                "12000", None]],
    "灾备关系": [["DR01", "警务平台灾备", "D002", "异地灾备", "IS02", "IS01", None, None, 15, 240,
                  None]],
}


def filled_workbook(path: Path, rows: dict | None = None) -> Path:
    """The template written by the product, filled with ``rows`` (default: ROWS)."""
    write_workbook(path)
    workbook = openpyxl.load_workbook(path)
    for sheet, values in (ROWS if rows is None else rows).items():
        for row in values:
            workbook[sheet].append(row)
    workbook.save(path)
    return path
