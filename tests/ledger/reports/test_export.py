"""Each report written as XLSX, CSV and PDF and read back: openpyxl, the csv module, pypdf."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest

from ledger.census.snapshot import Scope
from ledger.db import Ledger
from ledger.reports import KINDS, ReportError, build
from ledger.reports.export import csv_bytes, render, safe_text, xlsx
from ledger.reports.model import Column, Report, Section
from ledger.reports.pdf import find_font, pdf
from tests.ledger.reports.estate import NOW, POLICY, build_estate


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every report of the estate (the builders' tests cover both database backends)."""
    folder = tmp_path_factory.mktemp("estate")
    ledger = Ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    build_estate(ledger, folder)
    out = {kind: build(ledger.engine, POLICY, kind, Scope.everything(), now=NOW,
                       month="2026-11" if kind == "utilization" else None) for kind in KINDS}
    ledger.close()
    return out


def pdf_text(data: bytes) -> str:
    """The text of every page, without white space (table cells wrap words anywhere)."""
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def test_xlsx_read_back(reports):
    book = openpyxl.load_workbook(io.BytesIO(xlsx(reports["utilization"])))
    assert book.sheetnames == ["1 按部门与信息系统", "2 按部门", "3 按月份"]
    sheet = book.worksheets[0]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "资源利用率报表"
    assert cells[1][:2] == ["范围", "全部部门"] and cells[2][:2] == ["统计期间", "2026-11"]
    header = next(i for i, row in enumerate(cells) if row[0] == "月份")
    names = cells[header]
    assert names[:5] == ["月份", "部门编码", "部门名称", "系统编码", "信息系统"]
    rows = {r[3]: dict(zip(names, r)) for r in cells[header + 1:] if r[0] == "2026-11"}
    system = rows["IS01"]
    assert system["信息系统"] == "政务服务平台" and system["分配vCPU"] == 24
    assert system["投资额(元)"] == 3000000 and system["闲置投资(元)"] == 1000000
    assert system["闲置占比"] == pytest.approx(1 / 3, abs=1e-4)     # a number, shown as %
    row = header + 1 + [r[3] for r in cells[header + 1:]].index("IS01")
    assert sheet.cell(row + 1, names.index("闲置占比") + 1).number_format == "0.0%"
    total = cells[-1]
    assert total[0] == "合计" and total[names.index("资源数")] == 4
    english = openpyxl.load_workbook(io.BytesIO(xlsx(reports["idle"], "en")))
    assert english.worksheets[0]["A1"].value == "Idle resources and rightsizing"
    kinds = {row[0].value for row in english.worksheets[0].iter_rows()}
    assert {"idle resource", "oversized resource"} <= kinds


def test_csv_read_back(reports):
    data = csv_bytes(reports["findings"])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    kinds = {(r["类型"], r["资产编码"] or r["采集来源"]) for r in rows}
    assert kinds == {("信息不一致", "VM-POL"), ("未发现资产", "DEV-GHOST"),
                     ("漏报资产", "host-kp"), ("漏报资产", "vc-01")}
    mismatch = next(r for r in rows if r["类型"] == "信息不一致")
    assert (mismatch["差异字段"], mismatch["申报值"], mismatch["实测值"]) == ("vCPU", "8", "12")
    english = list(csv.DictReader(io.StringIO(
        csv_bytes(reports["utilization"], "en").decode("utf-8-sig"))))
    line = next(r for r in english if r["System"] == "IS01")
    assert Decimal(line["Idle investment (CNY)"]) == Decimal("1000000.00")
    assert english[-1]["Month"] == "Total"


def test_pdf_read_back_in_chinese_and_english(reports):
    text = pdf_text(pdf(reports["utilization"]))
    for word in ("资源利用率报表", "政务服务平台", "大数据中心运维科", "闲置投资", "合计"):
        assert word in text, word
    assert "1,000,000.00" in text
    idle = pdf_text(render(reports["idle"], "pdf", "en"))
    assert "Idleresourcesandrightsizing" in idle and "档案查询系统" in idle
    assert "Reclaimable" in idle
    compute = pdf_text(render(reports["compute"], "pdf"))
    assert "算力一本账汇总" in compute and "HuaweiKunpeng" in compute


def test_cells_that_look_like_formulas_stay_text():
    column = (Column("name", "名称", "Name"), Column("amount", "金额", "Amount", "money"))
    rows = [{"name": text, "amount": Decimal("-5")} for text in
            ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "a\0b", "安全")]
    report = Report("findings", None, None, None, NOW, "Asia/Shanghai",
                    [Section("items", "明细", "Items", column, rows)])
    parsed = list(csv.reader(io.StringIO(csv_bytes(report).decode("utf-8-sig"))))[1:]
    assert [r[0] for r in parsed] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)",
                                      "'\tx", "'\rx", "ab", "安全"]
    assert {r[1] for r in parsed} == {"-5.00"}            # numbers are numbers, not text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx(report))).worksheets[0]
    values = [(c.value, c.data_type) for c in sheet["A"] if c.value in {r["name"] for r in rows}]
    assert ("=HYPERLINK(\"http://x\")", "s") in values and all(t == "s" for _v, t in values)
    assert safe_text("普通") == "普通"


def test_missing_or_unusable_cjk_font_fails_clearly(tmp_path, reports):
    with pytest.raises(ReportError) as caught:
        pdf(reports["compute"], font=str(tmp_path / "nowhere.ttf"))
    assert "fonts-wqy-zenhei" in caught.value.zh and "nowhere.ttf: not found" in caught.value.en
    noto = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if noto.exists():          # CFF outlines: reportlab cannot embed them, and says so
        with pytest.raises(ReportError) as caught:
            find_font(str(noto))
        assert str(noto) in caught.value.en
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if latin.exists():
        with pytest.raises(ReportError) as caught:
            find_font(str(latin))
        assert "has no Chinese characters" in caught.value.en
    assert find_font() and find_font("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#0")


def test_every_report_renders_in_every_format_and_language(reports):
    for kind, report in reports.items():
        for fmt in ("xlsx", "csv", "pdf"):
            for language in ("zh", "en"):
                data = render(report, fmt, language)
                assert data[:4] in (b"PK\x03\x04", b"\xef\xbb\xbf" + data[3:4], b"%PDF"), \
                    (kind, fmt)
    now_empty = Report("idle", "D9", "九局", None, dt.datetime.now(dt.timezone.utc),
                       "Asia/Shanghai", [Section("items", "明细", "Items",
                                                 (Column("a", "甲", "A"),), [])])
    assert "（无数据）" in pdf_text(pdf(now_empty))
