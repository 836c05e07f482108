"""Mailing the configured report schedules over SMTP (STARTTLS or TLS, with login).

:func:`send_schedule` builds the schedule's report (a utilization report covers the month
before the current one) in each configured format, attaches the files to one message and
sends it through ``reports.smtp``. The password is read from its reference (``env:NAME``
or ``file:PATH``) only when a message goes out, and never logged.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from zoneinfo import ZoneInfo

from core.secrets import resolve_secret
from ledger.census.snapshot import Scope
from ledger.db import Ledger
from ledger.reports import build, previous_month
from ledger.reports.export import MIME, filename, render
from monitor.config import Settings
from monitor.config_reports import ReportSchedule, SmtpSettings

UTC = dt.timezone.utc
APP = {"zh": "政务云网算力一本账", "en": "Infra Ledger"}


class MailError(RuntimeError):
    """The message could not be sent: the server, TLS, login or a recipient refused."""


def send_schedule(settings: Settings, ledger: Ledger, schedule: ReportSchedule, *,
                  now: dt.datetime | None = None) -> dict:
    """Build and mail ``schedule`` now; returns the subject, recipients and file names."""
    now = now or dt.datetime.now(UTC)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    with ledger.engine.connect() as conn:
        scope = Scope.for_department(conn, schedule.department) if schedule.department \
            else Scope.everything()
    month = previous_month(today) if schedule.report == "utilization" else None
    report = build(ledger.engine, settings.analysis, schedule.report, scope, month=month,
                   now=now)
    language = schedule.language
    files = [(filename(report, fmt), fmt, render(report, fmt, language,
                                                font=settings.reports.pdf_font))
             for fmt in schedule.formats]
    subject = f"[{APP[language]}] {report.title(language)}"
    if report.period:
        subject += f" {report.period}"
    if report.scope:
        subject += f" ({report.scope})"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.reports.smtp.sender
    message["To"] = ", ".join(schedule.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="infra-ledger")
    body = [report.title(language)] + [f"{k}: {v}" for k, v in report.header(language)]
    message.set_content("\n".join(body) + "\n")
    for name, fmt, data in files:
        maintype, subtype = MIME[fmt].split(";")[0].split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    deliver(settings.reports.smtp, message, schedule.recipients)
    return {"subject": subject, "recipients": list(schedule.recipients),
            "attachments": [name for name, _f, _d in files]}


def deliver(smtp: SmtpSettings, message: EmailMessage, recipients) -> None:
    """Send ``message`` through ``smtp``; raises :class:`MailError` naming what failed."""
    context = ssl.create_default_context(cafile=smtp.ca_file)
    try:
        password = resolve_secret(smtp.password) if smtp.password else None
    except ValueError as exc:
        raise MailError(f"reports.smtp.password: {exc}") from None
    try:
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                      context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, password, initial_response_ok=False)
            refused = client.send_message(message, to_addrs=list(recipients))
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise MailError(f"SMTP {smtp.host}:{smtp.port} refused {', '.join(refused)}")
