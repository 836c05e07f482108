"""The ``reports:`` section of the configuration: the PDF font, SMTP and mailed schedules.

::

    reports:
      pdf_font: /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc   # PATH or PATH#INDEX
      smtp:
        host: smtp.example.gov.cn
        port: 587
        security: starttls            # starttls | ssl | none
        username: ledger
        password: env:SMTP_PASSWORD   # or file:/etc/infra-ledger/smtp, never in the file
        sender: 一本账 <ledger@example.gov.cn>
        ca_file: /etc/ssl/certs/internal-ca.pem   # optional
        timeout: 30s
      schedules:
        - name: monthly-utilization
          report: utilization          # utilization | idle | findings | compute
          formats: [xlsx, pdf]
          when: monthly                # 1st of the month, 08:00; or cron "M H DOM MON DOW"
          department: D001             # optional: that department's subtree only
          language: zh
          recipients: [finance@example.gov.cn]

A scheduled utilization report covers the month before the one it is sent in. Errors name
the key below ``reports`` and the reason; ``monitor.config`` adds the file.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from monitor.units import parse_duration

MONTHLY = "0 8 1 * *"
SECURITY = ("starttls", "ssl", "none")
ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class ReportsConfigError(ValueError):
    """A bad ``reports`` value: ``key`` is its path below ``reports``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    """The mail server the schedules send through."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None            # a literal, env:NAME or file:PATH
    sender: str = "infra-ledger@localhost"
    ca_file: str | None = None
    timeout: float = 30.0


@dataclasses.dataclass(frozen=True)
class ReportSchedule:
    """One report mailed on a schedule."""

    name: str
    report: str
    formats: tuple[str, ...]
    cron: str
    recipients: tuple[str, ...]
    department: str | None = None
    language: str = "zh"


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    """Validated ``reports:`` settings."""

    pdf_font: str | None = None
    smtp: SmtpSettings | None = None
    schedules: tuple[ReportSchedule, ...] = ()


def parse_reports(data: Any, base: Path | None, timezone: str) -> ReportSettings:
    """Validate the ``reports`` mapping (None: no font configured, nothing mailed)."""
    data = _mapping(data, "")
    _known(data, {"pdf_font", "smtp", "schedules"}, "")
    font = _text(data, "pdf_font", "")
    if font:
        path, _, index = font.partition("#")
        resolved = Path(path).expanduser()
        if not resolved.is_absolute() and base is not None:
            resolved = base / resolved
        if index and not index.isdigit():
            raise ReportsConfigError("pdf_font", f"the font index after '#' must be a number: "
                                                 f"{font!r}")
        font = str(resolved) + (f"#{index}" if index else "")
    smtp = _smtp(_mapping(data.get("smtp"), "smtp")) if data.get("smtp") is not None else None
    raw = data.get("schedules") or []
    if not isinstance(raw, list):
        raise ReportsConfigError("schedules", "expected a list of schedules")
    schedules = tuple(_schedule(_mapping(item, f"schedules[{i}]"), f"schedules[{i}].",
                                timezone) for i, item in enumerate(raw))
    names = [s.name for s in schedules]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ReportsConfigError(f"schedules[{index}].name", f"duplicate name {name!r}")
    if schedules and smtp is None:
        raise ReportsConfigError("smtp", "required when schedules are configured")
    return ReportSettings(font or None, smtp, schedules)


def _smtp(data: dict) -> SmtpSettings:
    _known(data, {"host", "port", "security", "username", "password", "sender", "ca_file",
                  "timeout"}, "smtp.")
    host = _text(data, "host", "smtp.")
    if not host:
        raise ReportsConfigError("smtp.host", "required")
    security = _text(data, "security", "smtp.") or "starttls"
    if security not in SECURITY:
        raise ReportsConfigError("smtp.security", f"must be one of {', '.join(SECURITY)}, "
                                                  f"got {security!r}")
    port = data.get("port", 465 if security == "ssl" else 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ReportsConfigError("smtp.port", f"must be 1-65535, got {port!r}")
    username, password = _text(data, "username", "smtp."), _text(data, "password", "smtp.")
    if bool(username) != bool(password):
        raise ReportsConfigError("smtp.password" if username else "smtp.username",
                                 "username and password go together")
    if password and security == "none":
        raise ReportsConfigError("smtp.security", "a password is never sent without TLS "
                                                  "(use starttls or ssl)")
    sender = _text(data, "sender", "smtp.") or "infra-ledger@localhost"
    if not ADDRESS.match(_address(sender)):
        raise ReportsConfigError("smtp.sender", f"not a mail address: {sender!r}")
    try:
        timeout = parse_duration(data.get("timeout", 30))
    except ValueError as exc:
        raise ReportsConfigError("smtp.timeout", str(exc)) from None
    return SmtpSettings(host, port, security, username, password, sender,
                        _text(data, "ca_file", "smtp."), timeout)


def _schedule(data: dict, prefix: str, timezone: str) -> ReportSchedule:
    from ledger.reports import FORMATS, KINDS
    _known(data, {"name", "report", "formats", "format", "when", "department", "language",
                  "recipients"}, prefix)
    name = _text(data, "name", prefix)
    if not name or not NAME.match(name):
        raise ReportsConfigError(f"{prefix}name", "required; letters, digits, '-', '_', '.'")
    report = _text(data, "report", prefix)
    if report not in KINDS:
        raise ReportsConfigError(f"{prefix}report", f"must be one of {', '.join(KINDS)}, "
                                                    f"got {report!r}")
    formats = data.get("formats", data.get("format", ["xlsx"]))
    formats = [formats] if isinstance(formats, str) else formats
    if not isinstance(formats, list) or not formats or \
            any(f not in FORMATS for f in formats):
        raise ReportsConfigError(f"{prefix}formats", f"a list of {', '.join(FORMATS)}, "
                                                     f"got {formats!r}")
    when = _text(data, "when", prefix) or "monthly"
    cron = MONTHLY if when == "monthly" else when
    try:
        cron_trigger(cron, timezone)
    except ValueError as exc:
        raise ReportsConfigError(f"{prefix}when", f"'monthly' or a cron expression "
                                                  f"'M H DOM MON DOW': {exc}") from None
    recipients = data.get("recipients")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not recipients:
        raise ReportsConfigError(f"{prefix}recipients", "a list of mail addresses is required")
    for index, address in enumerate(recipients):
        if not isinstance(address, str) or not ADDRESS.match(address):
            raise ReportsConfigError(f"{prefix}recipients[{index}]",
                                     f"not a mail address: {address!r}")
    language = _text(data, "language", prefix) or "zh"
    if language not in ("zh", "en"):
        raise ReportsConfigError(f"{prefix}language", f"must be zh or en, got {language!r}")
    return ReportSchedule(name, report, tuple(dict.fromkeys(formats)), cron, tuple(recipients),
                          _text(data, "department", prefix), language)


def cron_trigger(expression: str, timezone: str):
    """The APScheduler trigger of a standard cron expression (``M H DOM MON DOW``).

    APScheduler counts days of the week from Monday = 0; cron from Sunday = 0 (or 7), so
    numbers in the last field are given as day names first (``1-5`` is ``mon-fri``)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    fields[4] = re.sub(r"(?<![/\d])\d+", lambda m: DAYS[int(m.group()) % 7], fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)


def _address(sender: str) -> str:
    """The address of ``Name <address>`` (or the text itself)."""
    match = re.search(r"<([^<>]+)>\s*$", sender)
    return match.group(1) if match else sender


def _mapping(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReportsConfigError(key or "(section)", "expected a mapping of keys")
    return value


def _known(data: dict, allowed: set[str], prefix: str) -> None:
    for name in data:
        if name not in allowed:
            raise ReportsConfigError(f"{prefix}{name}",
                                     f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _text(data: dict, name: str, prefix: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ReportsConfigError(f"{prefix}{name}", f"expected a string, got {value!r}")
    text = str(value)
    if any(ch in text for ch in "\r\n\0"):
        raise ReportsConfigError(f"{prefix}{name}", "must not contain line breaks or NUL")
    return text
