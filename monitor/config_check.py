"""What ``check-config`` says about census codes the targets name.

Target tags (``department``, ``datacenter``, ``platform``, ``network``) and the department
mappings of cloud collectors name census rows by code. A code the census lacks is not an
error — polls keep it as given and it shows as unknown until the census declares it — so
these are warnings, each naming the file, the key and the code.
"""

from __future__ import annotations

from pathlib import Path

from monitor.config import Settings

#: Target tag -> census category it names.
TAGS = {"department": "department", "datacenter": "data_center", "data_center": "data_center",
        "platform": "cloud_platform", "network": "dedicated_network"}


def census_warnings(settings: Settings) -> list[str]:
    """One line per code the census lacks (or a line saying why codes were not checked)."""
    from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

    from ledger.db import Ledger
    from ledger.estate import CodeBook

    if settings.ledger_url.startswith("sqlite:///") and \
            not Path(settings.ledger_url.removeprefix("sqlite:///")).exists():
        return ["census codes not checked: the ledger does not exist yet"]
    ledger = Ledger(settings.ledger_url, migrate=False)
    try:
        with ledger.engine.connect() as conn:
            books = {c: CodeBook.load(conn, c) for c in set(TAGS.values())}
    except ProgrammingError:   # no tables: a database nobody has set up yet
        return ["census codes not checked: the ledger has no tables yet "
                "(python -m monitor db upgrade)"]
    except SQLAlchemyError as exc:
        return [f"census codes not checked: the ledger cannot be read ({type(exc).__name__})"]
    finally:
        ledger.close()
    warnings = []
    for index, target in enumerate(settings.targets):
        named = [(f"tags.{tag}", TAGS[tag], value) for tag, value in target.tags.items()
                 if tag in TAGS]
        mapping = target.options.get("departments")
        if isinstance(mapping, dict):
            named += [(f"options.departments.{key}", "department", str(value))
                      for key, value in mapping.items()]
        for key, category, value in named:
            book = books[category]
            if value in book.by_code:
                continue
            named_id = book.by_name.get(value)
            where = f"{settings.source}: targets[{index}].{key}: {value!r}"
            if named_id:
                warnings.append(f"{where} is the name of {category} {book.code(named_id)}; "
                                "prefer its code (a name resolves only while it is unique)")
            else:
                warnings.append(f"{where} is no {category} code in the census (kept as "
                                "given and shown as unknown until the census declares it)")
    return warnings


def alert_warnings(alerts) -> list[str]:
    """One line per secret reference of an alert integration that cannot be read now (it
    names the option and the source, never a value)."""
    from core.secrets import resolve_secret
    from alerts.config_routing import OPTIONS

    warnings = []
    for integrations in alerts.routing.receivers.values():
        for integration in integrations:
            for option in sorted(OPTIONS[integration.kind][2]):
                value = integration.options.get(option)
                if not isinstance(value, str) or not value.startswith(("env:", "file:")):
                    continue
                try:
                    resolve_secret(value)
                except ValueError as exc:
                    warnings.append(f"alerts receiver {integration.key}: {option}: {exc}")
    return warnings


def report_lines(settings: Settings) -> list[str]:
    """What ``check-config`` says about ``reports:``: each schedule, and warnings for a
    password reference that does not resolve or a PDF font that cannot be used."""
    from core.secrets import resolve_secret
    from ledger.reports import ReportError

    reports, lines = settings.reports, []
    smtp = reports.smtp
    if smtp is not None:
        lines.append(f"smtp: {smtp.host}:{smtp.port} ({smtp.security})"
                     + (f" as {smtp.username}" if smtp.username else ""))
        if smtp.password:
            try:
                resolve_secret(smtp.password)
            except ValueError as exc:
                lines.append(f"警告 (warning): {settings.source}: reports.smtp.password: {exc}")
    for schedule in reports.schedules:
        lines.append(f"report {schedule.name}: {schedule.report} as "
                     f"{', '.join(schedule.formats)} at '{schedule.cron}' "
                     f"({settings.timezone}) to {', '.join(schedule.recipients)}")
    if reports.pdf_font or any("pdf" in s.formats for s in reports.schedules):
        from ledger.reports.pdf import find_font
        try:
            find_font(reports.pdf_font)
        except ReportError as exc:
            lines.append(f"警告 (warning): {settings.source}: reports.pdf_font: {exc.en}")
    return lines
