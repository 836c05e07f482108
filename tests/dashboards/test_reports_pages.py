"""The finance and audit pages: /reports with its filters and downloads, within the caller's
department scope, and the audit log's search with the chain's verification status."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pypdf
from sqlalchemy import select

from ledger.models import ObservedAsset, UtilizationDay
from tests.dashboards.test_scope_matrix import DEPARTMENTS, world  # noqa: F401 - a fixture
from tests.ledger.reports.estate import day_row


def busy_month(app) -> str:
    """Yesterday and the day before as summaries of every observed asset (CPU 40 %)."""
    ledger = app.extensions["infra_ledger"]["ledger"]
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = [today - dt.timedelta(days=n) for n in (1, 2)]
    with ledger.engine.begin() as conn:
        ids = list(conn.execute(select(ObservedAsset.id)).scalars())
        conn.execute(UtilizationDay.__table__.insert(),
                     [day_row(i, d, 40.0, 50.0) for i in ids for d in days])
    return f"{days[0]:%Y-%m}"


def csv_rows(data: bytes) -> list[dict]:
    """The rows of a downloaded CSV, without its totals row."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    return [r for r in rows if next(iter(r.values())) not in ("合计", "Total")]


def test_reports_show_only_the_callers_departments(app, world):  # noqa: F811
    month = busy_month(app)
    everyone = world["finance-all"].get(f"/reports?report=utilization&month={month}")
    assert everyone.status_code == 200
    page = everyone.get_data(as_text=True)
    for dept in DEPARTMENTS:
        assert f'data-key="department">{dept}<' in page, dept
    police = world["finance-b"]
    page = police.get(f"/reports?report=utilization&month={month}").get_data(as_text=True)
    assert 'data-key="department">DEPB<' in page and 'data-key="department">SUBB<' in page
    assert "DEPA" not in page and "部门DEPA" not in page
    # Asking for another department's rows narrows nothing: the caller's scope stays.
    other = police.get(f"/reports/utilization.csv?month={month}&department=DEPA").data
    assert {r["部门编码"] for r in csv_rows(other)} == {"DEPB", "SUBB"}
    narrowed = police.get(f"/reports/utilization.csv?month={month}&department=SUBB").data
    assert {r["部门编码"] for r in csv_rows(narrowed)} == {"SUBB"}
    book = openpyxl.load_workbook(io.BytesIO(police.get("/reports/findings.xlsx").data))
    cells = {c.value for row in book.worksheets[0].iter_rows() for c in row}
    assert "DEPB" in cells and not {"DEPA", "SUBA"} & cells
    pdf = pypdf.PdfReader(io.BytesIO(police.get("/reports/compute.pdf?lang=en").data))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Compute ledger summary" in text and "SUBB" in text and "DEPA" not in text
    leader = world["leader-subb"].get("/reports?report=findings").get_data(as_text=True)
    assert "SUBB" in leader and "DEPB" not in leader.replace("SUBB", "")


def test_filters_search_and_download_links(app, world):  # noqa: F811
    month = busy_month(app)
    finance = world["finance-all"]
    page = finance.get(f"/reports?report=utilization&month={month}&department=DEPA&q=SUBA")
    text = page.get_data(as_text=True)
    assert 'data-key="department">SUBA<' in text and 'data-key="department">DEPA<' not in \
        text.split('id="section-by_department"')[0]
    assert f'href="/reports/utilization.xlsx?lang=zh&amp;month={month}&amp;department=DEPA"' \
        in text
    idle = finance.get("/reports?report=idle&lang=en").get_data(as_text=True)
    assert "Idle resources and rightsizing" in idle and 'id="download-pdf"' in idle
    assert finance.get("/reports?report=payroll").status_code == 404
    assert finance.get("/reports/idle.docx").status_code == 404
    bad = finance.get("/reports?report=utilization&month=2026-13")
    assert bad.status_code == 200 and "YYYY-MM" in bad.get_data(as_text=True)
    assert finance.get("/reports/utilization.csv?month=13").status_code == 400
    for refused in ("officer-a", "operator", "auditor"):
        assert world[refused].get("/reports").status_code == 403, refused


def _audit_status(auditor) -> str:
    status = auditor.get("/audit").get_data(as_text=True).split('id="status"')[1]
    return status.split("</p>")[0]


def test_audit_log_search_and_verify_status(app, world):  # noqa: F811
    auditor = world["auditor"]
    # The world changed the census through the application only: the chain is intact.
    assert 'data-state="intact"' in _audit_status(auditor)
    # A row edited with SQL, behind the application: the status says so, naming the row.
    from ledger.census.tables import TABLES
    device = TABLES["device"]
    with app.extensions["infra_ledger"]["ledger"].engine.begin() as conn:
        conn.execute(device.update().where(device.c.code == "DEV-DEPA").values(name="forged"))
    status = _audit_status(auditor)
    assert 'data-state="broken"' in status
    assert "DEV-DEPA" in status and "forged" in status and "绕过应用修改" in status
    found = auditor.get("/audit?actor=finance&action=login").get_data(as_text=True)
    rows = found.split('id="records"')[1]
    assert "finance-b" in rows and "finance-all" in rows and "officer-a" not in rows
    keyed = auditor.get("/audit?object_key=DEV-SUBB&kind=census").get_data(as_text=True)
    assert "DEV-SUBB" in keyed.split('id="records"')[1]
    assert "DEV-DEPA" not in keyed.split('id="records"')[1]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    later = auditor.get(f"/audit?since={tomorrow}").get_data(as_text=True)
    assert "<tbody>\n  \n  </tbody>" in later
    assert 'href="/audit?verify=1&amp;since=' in later
    items = auditor.get("/api/v1/audit?actor=finance-b&action=login").json["items"]
    assert items and {i["actor"] for i in items} == {"finance-b"}
