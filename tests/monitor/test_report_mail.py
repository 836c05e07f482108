"""Mailed report schedules: the ``reports:`` configuration, a real SMTP server (aiosmtpd,
STARTTLS and login), the attachments read back, the scheduler's job and ``report send``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pypdf
import pytest

from ledger.db import Ledger
from monitor.config import ConfigError, parse_settings
from monitor.report_mail import MailError, send_schedule
from monitor.scheduler import Monitor
from tests.ledger.reports.estate import NOW, build_estate
from tests.monitor.fakes import RecordingStore
from tests.monitor.smtpserver import PASSWORD, USERNAME, SmtpServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp(tmp_path):
    with SmtpServer(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def estate_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("estate")
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    ledger = Ledger(url)
    build_estate(ledger, folder)
    ledger.close()
    return url


def reports_config(smtp, password="env:REPORT_SMTP_PASSWORD", **schedule):
    return {"smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "starttls",
                     "username": USERNAME, "password": password, "ca_file": str(smtp.cert),
                     "sender": "一本账 <ledger@example.gov.cn>", "timeout": "10s"},
            "schedules": [{"name": "monthly", "report": "utilization",
                           "formats": ["xlsx", "pdf", "csv"], "when": "monthly",
                           "department": "D001", "recipients": ["cfo@example.gov.cn",
                                                                "audit@example.gov.cn"],
                           **schedule}]}


def settings_for(smtp, url, tmp_path, **reports):
    return parse_settings({"ledger": {"url": url}, "targets": [],
                           "reports": reports_config(smtp, **reports)}, "site.yaml",
                          data_dir=str(tmp_path / "data"))


def attachments(message) -> dict[str, bytes]:
    """Each attachment's bytes as they were sent."""
    return {part.get_filename(): part.get_payload(decode=True)
            for part in message.iter_attachments()}


def test_mailed_over_starttls_with_login_and_readable_attachments(smtp, estate_url, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("REPORT_SMTP_PASSWORD", PASSWORD)
    settings = settings_for(smtp, estate_url, tmp_path)
    ledger = Ledger(estate_url)
    try:
        sent = send_schedule(settings, ledger, settings.reports.schedules[0], now=NOW)
    finally:
        ledger.close()
    (recipients, message), = smtp.messages
    assert recipients == ["cfo@example.gov.cn", "audit@example.gov.cn"]
    assert message["Subject"] == "[政务云网算力一本账] 资源利用率报表 2026-11 (D001)" == \
        sent["subject"]
    assert "ledger@example.gov.cn" in message["From"]
    assert "范围: D001 大数据中心" in message.get_body(("plain",)).get_content()
    files = attachments(message)
    assert set(files) == {f"report-utilization-D001-2026-11.{f}" for f in ("xlsx", "pdf", "csv")}
    sheet = openpyxl.load_workbook(io.BytesIO(files["report-utilization-D001-2026-11.xlsx"]))
    rows = [[c.value for c in row] for row in sheet.worksheets[0].iter_rows()]
    assert {row[3] for row in rows if row[0] == "2026-11"} == {"IS01", "IS02"}
    pdf = pypdf.PdfReader(io.BytesIO(files["report-utilization-D001-2026-11.pdf"]))
    text = "".join("".join(p.extract_text().split()) for p in pdf.pages)
    assert "资源利用率报表" in text and "政务服务平台" in text and "公安厅" not in text
    raw = files["report-utilization-D001-2026-11.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["系统编码"] for r in table if r["月份"] == "2026-11"} == {"IS01", "IS02"}


def test_refusals_are_reported_not_swallowed(smtp, estate_url, tmp_path, monkeypatch):
    ledger = Ledger(estate_url)
    try:
        wrong = settings_for(smtp, estate_url, tmp_path, password="not-it")
        with pytest.raises(MailError) as caught:
            send_schedule(wrong, ledger, wrong.reports.schedules[0], now=NOW)
        assert "SMTPAuthenticationError" in str(caught.value)
        unset = settings_for(smtp, estate_url, tmp_path, password="env:NO_SUCH_VARIABLE")
        with pytest.raises(MailError) as caught:
            send_schedule(unset, ledger, unset.reports.schedules[0], now=NOW)
        assert "NO_SUCH_VARIABLE" in str(caught.value)
    finally:
        ledger.close()
    assert smtp.messages == []


def test_the_scheduler_mails_on_its_cron_job(smtp, estate_url, tmp_path, monkeypatch):
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    settings = settings_for(smtp, estate_url, tmp_path, password=f"file:{secret}",
                            report="idle", when="30 7 * * 1", formats=["csv"], language="en")
    ledger = Ledger(estate_url)
    monitor = Monitor(settings, ledger, RecordingStore())
    monitor.start()
    try:
        job = monitor._scheduler.get_job("report:monthly")
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        upcoming = job.next_run_time
        assert (upcoming.weekday(), upcoming.hour, upcoming.minute) == (0, 7, 30)
        job.func(*job.args)           # what the scheduler runs at that time
    finally:
        monitor.stop()
        ledger.close()
    (_to, message), = smtp.messages
    assert message["Subject"] == "[Infra Ledger] Idle resources and rightsizing (D001)"
    (name, data), = attachments(message).items()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert name == "report-idle-D001.csv"
    assert {r["Asset code"] for r in rows} == {"IS02", "VM-WEB", "VM-ARC", "VM-DB"}


def test_report_send_from_the_command_line(smtp, estate_url, tmp_path):
    config = tmp_path / "site.yaml"
    import yaml
    config.write_text(yaml.safe_dump({"ledger": {"url": estate_url}, "targets": [],
                                      "reports": reports_config(smtp, formats=["xlsx"])},
                                     allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "REPORT_SMTP_PASSWORD": PASSWORD}
    done = subprocess.run([sys.executable, "-m", "monitor", "report", "send", "monthly",
                           "--config", str(config), "--data-dir", str(tmp_path / "data")],
                          cwd=REPO, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    assert "cfo@example.gov.cn" in done.stdout
    (_to, message), = smtp.messages
    assert list(attachments(message))[0].startswith("report-utilization-D001-")
    checked = subprocess.run([sys.executable, "-m", "monitor", "check-config", "--config",
                              str(config), "--data-dir", str(tmp_path / "data")], cwd=REPO,
                             capture_output=True, text=True, timeout=180,
                             env={k: v for k, v in env.items() if k != "REPORT_SMTP_PASSWORD"})
    assert checked.returncode == 0, checked.stderr
    assert "report monthly: utilization as xlsx at '0 8 1 * *' (Asia/Shanghai)" in checked.stdout
    assert "reports.smtp.password: environment variable REPORT_SMTP_PASSWORD is not set" in \
        checked.stdout


@pytest.mark.parametrize("reports, key, reason", [
    ({"smtp": {"host": "h"}, "schedules": [{"name": "m", "report": "payroll",
                                            "recipients": ["a@b.cn"]}]},
     "reports.schedules[0].report", "must be one of utilization, idle, findings, compute"),
    ({"smtp": {"host": "h"}, "schedules": [{"name": "m", "report": "idle", "when": "daily",
                                            "recipients": ["a@b.cn"]}]},
     "reports.schedules[0].when", "cron expression"),
    ({"smtp": {"host": "h"}, "schedules": [{"name": "m", "report": "idle",
                                            "recipients": ["a@b.cn\nBcc: x@y.cn"]}]},
     "reports.schedules[0].recipients[0]", "not a mail address"),
    ({"smtp": {"host": "h"}, "schedules": [{"name": "m", "report": "idle", "formats": ["doc"],
                                            "recipients": ["a@b.cn"]}]},
     "reports.schedules[0].formats", "xlsx, pdf, csv"),
    ({"schedules": [{"name": "m", "report": "idle", "recipients": ["a@b.cn"]}]},
     "reports.smtp", "required when schedules are configured"),
    ({"smtp": {"host": "h", "security": "none", "username": "u", "password": "env:P"}},
     "reports.smtp.security", "never sent without TLS"),
    ({"smtp": {"host": "h", "port": 70000}}, "reports.smtp.port", "1-65535"),
    ({"smtp": {"host": "h", "username": "u"}}, "reports.smtp.password", "go together"),
    ({"pdf_font": "/x.ttc#first"}, "reports.pdf_font", "index"),
    ({"smtp": {"host": "h"}, "schedules": [{"name": "m", "report": "idle",
                                            "recipients": ["a@b.cn"]},
                                           {"name": "m", "report": "compute",
                                            "recipients": ["a@b.cn"]}]},
     "reports.schedules[1].name", "duplicate"),
    ({"mail": {}}, "reports.mail", "unknown key"),
])
def test_configuration_errors_name_the_key(reports, key, reason, tmp_path):
    with pytest.raises(ConfigError) as caught:
        parse_settings({"reports": reports}, "site.yaml", data_dir=str(tmp_path))
    assert caught.value.file == "site.yaml" and caught.value.key == key
    assert reason in caught.value.reason
