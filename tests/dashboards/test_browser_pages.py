"""The audience pages in Debian's Chromium (Playwright) on a generated estate: each
audience loads its pages, key figures match the ledger, the language switches, a data
officer edits a census row and acknowledges a finding through the UI, and the leadership
screen fits 1920x1080 without scrolling. No page may break its Content-Security-Policy."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from bench.estate import fill
from dashboards import create_app
from ledger import analyses
from ledger.census.service import CensusService
from ledger.census.snapshot import Scope
from ledger.db import Ledger
from tests.dashboards.test_browser import sign_in
from tests.dashboards.users import FAST_HASHER, make_user

PEOPLE = {"ops": ({"operator"}, None), "officer": ({"data_officer"}, "D002"),
          "leader": ({"leader"}, None), "finance": ({"finance"}, "D003")}
SHOTS = None   # a folder to keep screenshots in while developing


@pytest.fixture
def served(settings, tmp_path, embedded_store):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "PASSWORD_HASHER": FAST_HASHER})
    estate = fill(ledger, embedded_store, settings, assets=80)
    for name, (roles, department) in PEOPLE.items():
        make_user(app, name, roles, department)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", ledger, estate, settings
    httpd.shutdown()
    thread.join(10)
    httpd.server_close()
    ledger.close()


def page_of(chromium, width=1400, height=900):
    context = chromium.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_operator_pages_in_the_browser(chromium, served):
    base, _ledger, estate, _settings = served
    context, page, errors = page_of(chromium)
    try:
        sign_in(page, base, "ops")
        assert page.url.endswith("/estate")
        assert page.locator("#count-failing").inner_text() == str(len(estate.failing))
        first = page.locator("#targets tbody tr td:nth-child(2)").all_inner_texts()[:2]
        assert sorted(first) == sorted(estate.failing)
        shot(page, "estate")
        page.click("#targets a:text('sw-core')")
        page.wait_for_selector("section[data-kind=state] .main-svg", timeout=20000)
        page.wait_for_selector("section[data-kind=gauge] .main-svg", timeout=20000)
        assert page.locator("#interfaces tbody tr").count() == 3
        page.click("#ranges a[data-range='1w']")
        page.wait_for_selector("section[data-kind=gauge] .main-svg", timeout=20000)
        # A week of a target polled for three hours: the axis spans the points it has.
        span = page.evaluate("""() => {
            const g = document.querySelector("section[data-kind=gauge] div[data-figure]");
            const r = g._fullLayout.xaxis.range; return Date.parse(r[1]) - Date.parse(r[0]);
        }""")
        assert 2 * 3600e3 < span < 5 * 3600e3
        shot(page, "target")
        page.fill("#search", "SN000000001")
        page.press("#search", "Enter")
        page.wait_for_selector("#found-assets")
        page.click("#found-assets a")
        assert "512.0 GiB" in page.locator("#facts").inner_text()
        shot(page, "asset")
        assert errors == []
    finally:
        context.close()


def test_officer_edits_a_row_and_acknowledges_a_finding(chromium, served):
    base, ledger, estate, _settings = served
    context, page, errors = page_of(chromium)
    try:
        sign_in(page, base, "officer")
        page.goto(f"{base}/census?category=device")
        codes = page.locator("#rows tbody tr td:first-child").all_inner_texts()
        mine = [c for i, c in enumerate(estate.devices) if i % 4 == 1]
        assert codes == mine
        page.click(f"#rows a:text('{mine[0]}')")
        page.click("#edit")
        page.fill("#f-rack", "A-12")
        page.click("#save")
        page.wait_for_selector("#saved")
        assert page.locator("td[data-field=rack]").inner_text() == "A-12"
        assert "A-12" in page.locator("#history").inner_text()
        assert CensusService(ledger.engine).get("device", mine[0])["rack"] == "A-12"
        shot(page, "row")
        page.goto(f"{base}/findings?state=open")
        first = page.locator("#findings tbody tr").first
        finding = first.get_attribute("data-id")
        first.locator("button.ack").click()
        page.wait_for_selector("#done")
        row = page.locator(f"#findings tr[data-id='{finding}']")
        assert row.get_attribute("data-state") == "acknowledged" if row.count() else True
        page.goto(f"{base}/findings?state=acknowledged")
        assert page.locator(f"#findings tr[data-id='{finding}']").count() == 1
        shot(page, "findings")
        page.click("header a.lang")
        assert "Findings" in page.locator("h1").inner_text()
        assert errors == []
    finally:
        context.close()


def test_officer_uploads_a_workbook_after_its_dry_run(chromium, served, tmp_path):
    from ledger.census.template import write_workbook
    base, ledger, _estate, _settings = served
    service = CensusService(ledger.engine, department="D002")
    data = service.export(["device"])
    data["device"][1]["rack"] = "B-07"
    code = data["device"][1]["code"]
    write_workbook(tmp_path / "d002.xlsx", data)
    context, page, errors = page_of(chromium)
    try:
        sign_in(page, base, "officer")
        page.goto(f"{base}/census?category=device")
        page.click("#upload")
        page.set_input_files("#file", str(tmp_path / "d002.xlsx"))
        page.click("#preview")
        page.wait_for_selector("#dry-run")
        summary = page.locator(".diff-summary[data-category=device]").inner_text()
        assert summary.startswith("新增 0，变更 1") and code in page.content()
        assert service.get("device", code)["rack"] is None        # not written yet
        page.click("#confirm")
        page.wait_for_selector("#applied")
        assert service.get("device", code)["rack"] == "B-07"
        assert errors == []
    finally:
        context.close()


def test_leadership_screen_fits_a_large_display(chromium, served):
    base, ledger, _estate, settings = served
    context, page, errors = page_of(chromium, 1920, 1080)
    try:
        sign_in(page, base, "leader")
        page.goto(f"{base}/screen")
        page.wait_for_selector(".screen-grid .panel:nth-child(6) .main-svg", timeout=30000)
        compute = analyses.compute_ledger(ledger.engine, settings.analysis, Scope.everything(),
                                          by="department")
        assert page.locator("li[data-total=cores] b").inner_text() == \
            f"{compute['totals']['cores']:,}"
        size = page.evaluate("() => [document.documentElement.scrollHeight, innerHeight,"
                             " document.documentElement.scrollWidth, innerWidth]")
        assert size[0] <= size[1] and size[2] <= size[3], size
        assert page.locator("body").get_attribute("data-refresh") == "60"
        shot(page, "screen")
        page.click("header a.lang")
        page.wait_for_selector(".screen-grid .panel .main-svg", timeout=30000)
        assert "physical cores" in page.locator("#totals").inner_text()
        size = page.evaluate("() => [document.documentElement.scrollHeight, innerHeight]")
        assert size[0] <= size[1], size          # English labels do not make it scroll
        storage = page.locator("li[data-total=storage] b").inner_text()
        assert storage == "—" or float(storage.replace(",", "")) > 0
        assert errors == []
    finally:
        context.close()


def test_finance_browses_the_resource_graph(chromium, served):
    base, _ledger, estate, _settings = served
    context, page, errors = page_of(chromium)
    try:
        sign_in(page, base, "finance")
        page.goto(f"{base}/graph")
        assert page.locator("#roots a").all_inner_texts() == ["D003局"]
        page.click("#roots a")
        page.click("#down a:text('D003业务系统')")
        device = next(c for i, c in enumerate(estate.devices) if i % 4 == 2)
        page.click(f"#down a[href$='/graph/device/{device}']")
        assert page.locator("table.side").count() == 1
        page.click("#up a[href$='/graph/information_system/IS-D003']")
        assert page.url.endswith("/graph/information_system/IS-D003")
        shot(page, "graph")
        assert page.goto(f"{base}/graph/department/D002").status == 404
        assert errors == []
    finally:
        context.close()
