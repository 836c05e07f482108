"""Reports for finance and audit (财务·审计): utilization, idle resources, findings, compute.

:func:`build` reads the ledger once and hands plain rows to the pure builders
(:mod:`.utilization`, :mod:`.idle`, :mod:`.findings`, :mod:`.compute`); :mod:`.export`
writes the result as XLSX or CSV and :mod:`.pdf` as PDF, in Chinese or English. The
command line (``python -m monitor report``), the pages (``/reports``) and the mailed
schedule all go through here, always within one department scope.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.const import IDLE_KINDS, RECONCILE_KINDS
from ledger.policy import AnalysisPolicy
from ledger.reports.model import TITLES, Report

KINDS = tuple(TITLES)
FORMATS = ("xlsx", "pdf", "csv")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
UTC = dt.timezone.utc


class ReportError(ValueError):
    """A report that cannot be made as asked; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} ({en})")
        self.zh, self.en = zh, en

    def text(self, language: str) -> str:
        """The reason in ``language``."""
        return self.zh if language == "zh" else self.en


def month_range(month: str | None, today: dt.date) -> tuple[dt.date, dt.date, str | None]:
    """First and last day of ``month`` (YYYY-MM), or of the twelve months up to yesterday;
    raises :class:`ReportError` for a malformed month."""
    if month is None:
        last = today - dt.timedelta(days=1)
        first = (last.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        return first, last, None
    match = MONTH.match(month)
    if not match:
        raise ReportError(f"月份应为 YYYY-MM 格式: {month!r}",
                          f"the month must be YYYY-MM: {month!r}")
    first = dt.date(int(match[1]), int(match[2]), 1)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1), month


def previous_month(today: dt.date) -> str:
    """YYYY-MM of the month before ``today``'s."""
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def build(engine: Engine, policy: AnalysisPolicy, kind: str, scope: Scope, *,
          month: str | None = None, now: dt.datetime | None = None) -> Report:
    """The report ``kind`` of ``scope`` (``month`` only narrows the utilization report)."""
    if kind not in KINDS:
        raise ReportError(f"未知报表: {kind!r}", f"unknown report: {kind!r}")
    now = now or dt.datetime.now(UTC)
    today = now.astimezone(ZoneInfo(policy.timezone)).date()
    first, last, period = month_range(month, today)
    with engine.connect() as conn:
        scope_name = _department_name(conn, scope.root)
        options = {"scope_name": scope_name, "now": now}
        if kind == "utilization":
            from ledger.reports import utilization, utilization_query
            built = utilization_query.build(conn, policy, scope, first, last)
            return utilization.report_of(built, department_names(conn), first, last, policy,
                                         scope, period=period, **options)
        from ledger import findings
        if kind in ("idle", "findings"):
            from ledger.reports import findings as findings_report
            from ledger.reports import idle
            module = idle if kind == "idle" else findings_report
            kinds = IDLE_KINDS if kind == "idle" else RECONCILE_KINDS
            items = [i for k in sorted(kinds) for i in findings.listing(conn, scope, kind=k)]
            return module.report(items, scope, timezone=policy.timezone, **options)
    from ledger import analyses
    from ledger.reports import compute
    result = analyses.compute_ledger(engine, policy, scope, by="department", now=now)
    return compute.report(result, scope, timezone=policy.timezone, **options)


def department_names(conn) -> dict[int, tuple[str, str]]:
    """Department id -> (code, name)."""
    table = TABLES["department"]
    return {row.id: (row.code, row.name) for row in conn.execute(
        select(table.c.id, table.c.code, table.c.name))}


def _department_name(conn, code: str | None) -> str | None:
    if code is None:
        return None
    table = TABLES["department"]
    return conn.execute(select(table.c.name).where(table.c.code == code)).scalar()
