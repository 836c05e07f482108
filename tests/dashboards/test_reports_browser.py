"""Finance and audit in Debian's Chromium: the /reports page of the report estate, every
export downloaded through its button and read back, in Chinese and in English; the audit
log searched, with its verification status."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pypdf
import pytest

from dashboards import create_app
from ledger.db import Ledger
from tests.dashboards.test_browser import SECRET, serving, sign_in
from tests.dashboards.users import FAST_HASHER, make_user
from tests.ledger.reports.estate import build_estate


@pytest.fixture
def server(settings, embedded_store, tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    build_estate(ledger, tmp_path)
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "PASSWORD_HASHER": FAST_HASHER})
    make_user(app, "finance", {"finance"}, "D001")
    make_user(app, "auditor", {"audit_admin"}, totp=SECRET)
    with serving(app) as base:
        yield base
    ledger.close()


def download(page, button: str) -> bytes:
    with page.expect_download() as info:
        page.click(button)
    return Path(info.value.path()).read_bytes()


def test_finance_downloads_every_export_from_the_reports_page(chromium, server):
    context = chromium.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, server, "finance")
        page.click("#nav a:has-text('报表')")
        page.wait_for_selector("#section-by_system")
        assert page.locator("#report-title").inner_text() == "资源利用率报表"
        assert page.locator("#month").input_value() == "2026-11"      # newest month with data
        systems = page.locator("#section-by_system tr:not(.totals) td[data-key=system]").all_inner_texts()
        assert sorted(systems) == ["IS01", "IS02"]                     # D001 and its section

        book = openpyxl.load_workbook(io.BytesIO(download(page, "#download-xlsx")))
        cells = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
        assert cells[0][0] == "资源利用率报表" and cells[2][:2] == ["统计期间", "2026-11"]
        assert {row[3] for row in cells if row[0] == "2026-11"} == {"IS01", "IS02"}
        text = "".join("".join(p.extract_text().split()) for p in pypdf.PdfReader(
            io.BytesIO(download(page, "#download-pdf"))).pages)
        assert "资源利用率报表" in text and "政务服务平台" in text and "IS03" not in text
        rows = list(csv.DictReader(io.StringIO(
            download(page, "#download-csv").decode("utf-8-sig"))))
        assert {r["系统编码"] for r in rows if r["月份"] == "2026-11"} == {"IS01", "IS02"}

        page.click("#kinds a[data-report=idle]")
        page.wait_for_selector("#section-items")
        page.fill("#q", "VM-WEB")
        page.click("#filters button")
        page.wait_for_load_state()
        codes = page.locator("#section-items td[data-key=code]").all_inner_texts()
        assert codes and set(codes) == {"VM-WEB"}

        page.goto(f"{server}/reports?report=findings&lang=en")
        assert page.locator("#report-title").inner_text() == "Census against observed findings"
        rows = list(csv.DictReader(io.StringIO(
            download(page, "#download-csv").decode("utf-8-sig"))))
        assert {(r["Kind"], r["Observed by"]) for r in rows} == {("undeclared asset", "vc-01")}
        english = "".join(p.extract_text() for p in pypdf.PdfReader(
            io.BytesIO(download(page, "#download-pdf"))).pages)
        assert "Census against observed findings" in english
    finally:
        context.close()


def test_auditor_searches_the_log_and_sees_it_verified(chromium, server):
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, server, "auditor")
        page.goto(f"{server}/audit")
        assert page.locator("#check").get_attribute("data-state") == "intact"
        page.fill("#object_key", "VM-ARC")
        page.click("#search button")
        page.wait_for_load_state()
        objects = page.locator("#records tbody td:nth-child(6)").all_inner_texts()
        assert objects and all("VM-ARC" in o for o in objects)
        page.click("#verify")
        page.wait_for_load_state()
        assert "哈希链完整" in page.locator("#status").inner_text()
        assert page.locator("#object_key").input_value() == "VM-ARC"
    finally:
        context.close()
