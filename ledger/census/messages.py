"""Wording of census errors and reports in Simplified Chinese (default) and English.

Registered in the product's one catalogue (:mod:`ledger.i18n`, domain ``census``);
:func:`message` is the adapter the census code calls.
"""

from __future__ import annotations

import errno

from ledger import i18n

MESSAGES: dict[str, tuple[str, str]] = {
    # Cell values.
    "required": ("必填项为空", "required value is empty"),
    "too_long": ("超过 {limit} 个字符", "longer than {limit} characters"),
    "not_int": ("不是整数", "not a whole number"),
    "not_number": ("不是数字", "not a number"),
    "int_range": ("数值过大", "number too large"),
    "negative": ("不能为负数", "must not be negative"),
    "not_bool": ("应填 是/否", "expected yes/no (是/否)"),
    "not_date": ("不是日期（可填 2020-05-01、2020/5/1、2020年5月）",
                 "not a date (2020-05-01, 2020/5/1 or 2020年5月)"),
    "not_money": ("不是金额（可填 12345.67、12345.67元、1.2万元）",
                  "not an amount (12345.67, 12345.67元 or 1.2万元)"),
    "money_precision": ("金额精度超过分", "amount is finer than one fen (0.01 元)"),
    "money_range": ("金额超出范围（应小于 10^15 元）", "amount out of range (below 10^15 元)"),
    "level_range": ("等保级别应为 1-5 级", "protection level must be 1 to 5"),
    "not_choice": ("不在可选值中（{allowed}）", "not one of the allowed values ({allowed})"),
    "not_ip": ("不是 IP 地址", "not an IP address"),
    "not_mac": ("不是 MAC 地址", "not a MAC address"),
    "not_scalar": ("应为单个值，不能是列表或对象", "expected a single value, not a list or object"),
    "not_text": ("应为文本，不能是是/否值", "expected text, not true/false"),
    "code_slash": ("不能包含“/”", "cannot contain '/'"),
    "invisible": ("含不可见字符（控制符、零宽字符或双向控制符）",
                  "contains invisible characters (control, zero-width or bidi characters)"),
    # Rows and references.
    "unknown_ref": ("引用的{target}不存在", "no such {target}"),
    "out_of_scope": ("不在本部门范围内", "outside your department's scope"),
    "code_taken": ("编号已被其他部门使用", "code belongs to another department's row"),
    "duplicate_in_file": ("与第 {row} 行重复（{fields}）", "duplicates row {row} ({fields})"),
    "duplicate_in_ledger": ("与台账中已有的 {code} 重复（{fields}）",
                            "duplicates {code} already in the ledger ({fields})"),
    "duplicate_hidden": ("与台账中其他部门的记录重复（{fields}）",
                         "duplicates another department's row in the ledger ({fields})"),
    "still_referenced": ("仍被 {other} {code} 引用，不能删除",
                         "still referenced by {other} {code}, cannot be removed"),
    "cycle": ("上级关系形成循环", "parent chain forms a cycle"),
    "one_of": ("应填写且只填写一组：{groups}", "fill in exactly one group: {groups}"),
    "same_as": ("不能与{other}相同", "must differ from the {other}"),
    "unknown_field": ("未知字段", "unknown field"),
    "regions_global": ("地区为全局数据，仅管理员可修改", "regions are shared; only an "
                       "administrator may change them"),
    # Files.
    "not_workbook": ("不是有效的 Excel 工作簿（.xlsx）", "not an Excel workbook (.xlsx)"),
    "encrypted": ("工作簿已加密，请取消密码后再导入", "the workbook is encrypted; remove the password"),
    "legacy_xls": ("不支持旧版 .xls 格式，请另存为 .xlsx", "old .xls format; save as .xlsx"),
    "corrupt": ("文件已损坏，无法读取：{detail}", "the file is corrupt: {detail}"),
    "empty": ("文件中没有可导入的数据", "the file holds no census rows"),
    "formula": ("单元格含公式 {cell}，请复制后“粘贴为数值”", "cell {cell} holds a formula; "
                "paste values instead"),
    "merged_header": ("表头有合并单元格 {cells}", "merged header cells {cells}"),
    "no_header": ("找不到表头（第 1 行应为字段名）", "no header row (row 1 must name the fields)"),
    "duplicate_column": ("列 {column} 重复", "column {column} appears twice"),
    "unknown_column": ("未知列 {column}", "unknown column {column}"),
    "missing_column": ("缺少必填列 {column}", "required column {column} is missing"),
    "unknown_sheet": ("未知工作表", "unknown sheet"),
    "csv_category": ("无法判断 CSV 属于哪个类别，请用 --category 指定",
                     "cannot tell which category this CSV holds; use --category"),
    "encoding": ("无法可靠识别文件编码{detail}，请另存为 UTF-8（或 GB18030/GBK）编码的 CSV",
                 "cannot tell the text encoding with confidence{detail}; save the CSV as UTF-8 "
                 "(or GB18030/GBK)"),
    "encoding_guess": ("（按 GB18030 解码后有 {count} 个生僻或非中文字符，如“{sample}”，"
                       "可能是繁体 Big5 或日文 Shift-JIS 编码）",
                       " (read as GB18030 it holds {count} rare or non-Chinese characters, "
                       "such as \"{sample}\": Big5 or Shift-JIS perhaps)"),
    "encoding_control": ("（含控制字符 {char}，可能是 UTF-16 编码）",
                         " (it holds the control character {char}: UTF-16 perhaps)"),
    "encoding_used": ("按 {encoding} 编码读取", "read as {encoding}"),
    "macros": ("工作簿含宏（.xlsm），请另存为不含宏的 .xlsx 后再导入",
               "the workbook holds macros (.xlsm); save it as a macro-free .xlsx"),
    "too_large_unpacked": ("工作簿解压后过大（{size}，上限 {limit}）",
                           "the workbook unpacks to too much ({size}; the limit is {limit})"),
    "too_large_sheet": ("工作表过大：单元格延伸到 {cell}（上限 {rows} 行数据、{columns} 列、"
                        "{cells} 个单元格）",
                        "sheet too large: cells reach {cell} (the limits are {rows} data rows, "
                        "{columns} columns, {cells} cells)"),
    "too_many_strings": ("共享字符串过多（上限 {limit} 个）",
                         "too many shared strings (the limit is {limit})"),
    "too_many_rows": ("数据超过 {limit} 行，请分成多个文件导入",
                      "more than {limit} data rows; split the file"),
    "too_many_columns": ("第 {row} 行超过 {limit} 列", "row {row} has more than {limit} columns"),
    "reader_failed": ("读取文件时超出资源限制或读取程序异常退出（{detail}），文件可能过大或已损坏",
                      "reading the file exceeded its resource limits or the reader failed "
                      "({detail}); the file may be too large or corrupt"),
    "not_found": ("记录不存在", "no such row"),
    "unknown_department": ("错误：没有编号为 {code} 的部门", "error: no department with code {code}"),
    "code_fixed": ("编号不能修改", "a row's code cannot change"),
    # Verifying the change log (audit verify, /audit).
    "audit_missing": ("第 {first}..{last} 条记录缺失", "records {first}..{last} are missing"),
    "audit_unlinked": ("第 {seq} 条记录与前一条不衔接",
                       "record {seq}: does not follow the record before it"),
    "audit_downgraded": ("第 {seq} 条记录在带密钥的第 {keyed} 条之后却未带密钥（链被无密钥改写）",
                         "record {seq}: unkeyed after keyed record {keyed} (chain rewritten "
                         "without the key)"),
    "audit_edited": ("第 {seq} 条记录内容与其哈希不符（被修改）",
                     "record {seq}: content does not match its hash (edited)"),
    "audit_checkpoint_differs": ("第 {seq} 条记录与 {time} 的检查点不符（链被改写）",
                                 "record {seq}: differs from the checkpoint of {time} (chain "
                                 "rewritten)"),
    "audit_truncated": ("日志止于第 {last} 条，而 {time} 的检查点记录了 {seq} 条（末尾记录被删除："
                        "清空或回拨）", "the chain ends at record {last}, the checkpoint of "
                        "{time} saw {seq} records (records removed from the end: truncated or "
                        "rewound)"),
    "audit_no_key": ("自第 {seq} 条起的记录带密钥，无法校验：{reason}",
                     "records from {seq} are keyed and cannot be checked: {reason}"),
    "audit_pre_key": ("第 1–{last} 条记录（共 {count} 条）未用链密钥计算哈希，写于启用密钥之前；"
                      "自第 {seq} 条起带密钥",
                      "records 1–{last} ({count}) are hashed without the chain key, written "
                      "before it was in use; records are keyed from {seq} on"),
    "audit_no_head": ("审计链头缺失", "the audit head is missing"),
    "audit_head_mismatch": ("链头记录为 {head_seq} 条、以 {head_hash}… 结尾，日志实际止于第 {last} "
                            "条 {last_hash}…（末尾记录被删除或链头被修改）", "the head says "
                            "{head_seq} records ending in {head_hash}…, the log ends at {last} "
                            "with {last_hash}… (records removed from the end or head edited)"),
    "checkpoint_unreadable": ("检查点 {path} 第 {line} 行无法读取",
                              "checkpoint {path} line {line}: unreadable"),
    "checkpoint_forged": ("检查点 {path} 第 {line} 行的签名与链密钥不符（伪造、损坏或另一把密钥）",
                          "checkpoint {path} line {line}: signature does not match the chain "
                          "key (forged, damaged or another key)"),
    "row_not_logged": ("{category} {code}：表中存在，但变更日志中从未创建（绕过应用写入）",
                       "{category} {code}: in the table, never created in the change log "
                       "(written outside the application)"),
    "row_edited": ("{category} {code}：{field} 在表中为 {now}，变更日志中为 {was}（绕过应用修改）",
                   "{category} {code}: {field} is {now} in the table, {was} in the change log "
                   "(edited outside the application)"),
    "row_deleted": ("{category} {code}：变更日志中存在，表中缺失（绕过应用删除）",
                    "{category} {code}: in the change log, missing from the table (deleted "
                    "outside the application)"),
    # Progress of an import (stderr).
    "progress_read": ("已读取 {path}", "read {path}"),
    "progress_cells": ("已检查单元格", "checked cells"),
    "progress_refs": ("已检查引用与重复", "checked references and duplicates"),
    "progress_written": ("已写入", "written"),
    # Files that cannot be opened (an OSError's errno, never "[Errno 2]").
    "os_missing": ("文件不存在", "no such file"),
    "os_missing_dir": ("所在目录不存在", "its folder does not exist"),
    "os_is_dir": ("是目录，不是文件", "is a directory, not a file"),
    "os_not_dir": ("路径中有一段不是目录", "a part of the path is not a folder"),
    "os_denied": ("没有权限", "permission denied"),
    "os_full": ("磁盘空间不足", "no space left on the disk"),
}


i18n.register("census", MESSAGES)


def message(key: str, language: str = "zh", **params) -> str:
    """The message ``key`` in ``language`` with ``params`` filled in."""
    if key not in MESSAGES:
        raise KeyError(key)
    return i18n.dgettext("census", key, language, **params)


_ERRNO = {errno.EISDIR: "os_is_dir", errno.ENOTDIR: "os_not_dir", errno.EACCES: "os_denied",
          errno.EPERM: "os_denied", errno.ENOSPC: "os_full", errno.EROFS: "os_denied"}


def file_reason(exc: OSError, language: str = "zh", *, writing: bool = False) -> str:
    """Why ``exc`` stopped reading (or ``writing``) a file, in words, without the errno."""
    if exc.errno == errno.ENOENT:
        return message("os_missing_dir" if writing else "os_missing", language)
    key = _ERRNO.get(exc.errno)
    return message(key, language) if key else (exc.strerror or str(exc))
