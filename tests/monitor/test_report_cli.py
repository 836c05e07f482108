"""``python -m monitor report …`` end to end: files written, read back, errors that say why."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pypdf
import pytest

from ledger.db import Ledger
from tests.ledger.reports.estate import build_estate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A configuration whose ledger holds the report estate."""
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    ledger = Ledger(url)
    build_estate(ledger, folder)
    ledger.close()
    config = folder / "site.yaml"
    config.write_text(f'ledger: {{url: "{url}"}}\ntargets: []\n', encoding="utf-8")
    return config, folder


def monitor(site, *args: str) -> subprocess.CompletedProcess:
    config, folder = site
    return subprocess.run([sys.executable, "-m", "monitor", *args, "--config", str(config),
                           "--data-dir", str(folder / "data")], cwd=REPO, capture_output=True,
                          text=True, timeout=180)


def test_each_report_in_each_format(site, tmp_path):
    out = tmp_path / "利用率.xlsx"
    done = monitor(site, "report", "utilization", "--format", "xlsx", "--out", str(out),
                   "--month", "2026-11", "--department", "D001")
    assert done.returncode == 0, done.stderr
    assert "资源利用率报表" in done.stdout and str(out) in done.stdout
    sheet = openpyxl.load_workbook(out).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:2] == ["范围", "D001 大数据中心（含下级部门）"]
    systems = {row[3] for row in values if row[0] == "2026-11"}
    assert systems == {"IS01", "IS02"}                  # D002's IS03 is outside the scope

    idle = tmp_path / "idle.csv"
    done = monitor(site, "report", "idle", "--format", "csv", "--out", str(idle), "--lang", "en")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(idle.read_bytes().decode("utf-8-sig"))))
    assert {r["Asset code"] for r in rows if r["Kind"] == "idle resource"} == {
        "IS02", "VM-WEB", "VM-ARC"}

    findings = tmp_path / "findings.pdf"
    done = monitor(site, "report", "findings", "--format", "pdf", "--out", str(findings),
                   "--department", "D002")
    assert done.returncode == 0, done.stderr
    text = "".join("".join(p.extract_text().split()) for p in pypdf.PdfReader(findings).pages)
    assert "普查与实际发现差异清单" in text and "DEV-GHOST" in text and "VM-POL" in text
    assert "host-kp" in text and "D001" not in text       # D001's undeclared VM stays out

    compute = tmp_path / "compute.csv"
    done = monitor(site, "report", "compute", "--format", "csv", "--out", str(compute))
    assert done.returncode == 0, done.stderr
    metrics = {r["指标"]: r["数值"] for r in csv.DictReader(
        io.StringIO(compute.read_bytes().decode("utf-8-sig")))}
    assert metrics["物理核"] == "64" and metrics["云主机"] == "5"


def test_errors_name_the_problem(site, tmp_path):
    bad_month = monitor(site, "report", "utilization", "--out", str(tmp_path / "x.xlsx"),
                        "--month", "2026-13")
    assert bad_month.returncode == 1 and "YYYY-MM" in bad_month.stderr
    unknown = monitor(site, "report", "idle", "--out", str(tmp_path / "x.xlsx"),
                      "--department", "D404")
    assert unknown.returncode == 2 and "D404" in unknown.stderr
    no_out = monitor(site, "report", "idle")
    assert no_out.returncode == 2 and "--out" in no_out.stderr
    unwritable = monitor(site, "report", "idle", "--out", str(tmp_path / "none" / "x.csv"),
                         "--format", "csv")
    assert unwritable.returncode == 1 and "x.csv" in unwritable.stderr
    not_configured = monitor(site, "report", "send", "monthly")
    assert not_configured.returncode == 2 and "monthly" in not_configured.stderr
