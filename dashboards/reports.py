"""Finance and audit pages (财务·审计): the reports in the browser, and their downloads.

``/reports?report=utilization|idle|findings|compute`` shows a report's tables with filters
(month, department, a text search); ``/reports/<report>.<fmt>`` downloads the same report
as XLSX, PDF or CSV. Both read through :func:`ledger.reports.build` within the caller's
department scope; ``?department=`` only narrows it (a department outside the caller's
subtree is ignored, never shown).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request, send_file, url_for
from sqlalchemy import func, select

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language
from dashboards.resources import get_ledger, get_settings
from ledger.census.snapshot import Scope, ScopeError
from ledger.census.tables import TABLES
from ledger.identity.roles import REPORTS_READ
from ledger.models import UtilizationDay
from ledger.reports import FORMATS, KINDS, ReportError, build
from ledger.reports.export import MIME, filename, render
from ledger.reports.model import Report, cell_text

bp = Blueprint("reports", __name__)
#: Rows shown per section on the page (the downloads carry every row).
PAGE_ROWS = 500


def _scopes() -> tuple[Scope, list[tuple[str, str]]]:
    """The effective scope (the caller's, narrowed by ``?department=``) and the departments
    the caller may pick from."""
    caller = caller_scope()
    table = TABLES["department"]
    with get_ledger().engine.connect() as conn:
        own = caller.ledger_scope(conn)
        query = select(table.c.id, table.c.code, table.c.name).order_by(table.c.path)
        departments = [(code, name) for id_, code, name in conn.execute(query)
                       if own.covers(id_)]
        wanted = request.args.get("department")
        if wanted and wanted != own.root and wanted in dict(departments):
            try:
                return Scope.for_department(conn, wanted), departments
            except ScopeError:
                pass
    return own, departments


def _month(kind: str) -> str | None:
    """``?month=`` (YYYY-MM), else for the utilization page :func:`default_month`."""
    month = request.args.get("month") or None
    if month or kind != "utilization":
        return month
    with get_ledger().engine.connect() as conn:
        newest = conn.execute(select(func.max(UtilizationDay.day))).scalar()
        if not isinstance(newest, dt.date):
            return None
        start = (newest.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        days = conn.execute(select(UtilizationDay.day).distinct()
                            .where(UtilizationDay.day >= start)).scalars().all()
    from zoneinfo import ZoneInfo
    return default_month(days, dt.datetime.now(ZoneInfo(get_settings().timezone)).date())


def default_month(days, today: dt.date) -> str | None:
    """The month a report opens on, from the days with data: the newest month, unless it is
    the month still running and the month before holds more days (a month with one day of
    data is no report to open on)."""
    per_month: dict[str, int] = {}
    for day in days:
        per_month[f"{day:%Y-%m}"] = per_month.get(f"{day:%Y-%m}", 0) + 1
    if not per_month:
        return None
    newest = max(per_month)
    earlier = [m for m in per_month if m < newest]
    if newest >= f"{today:%Y-%m}" and earlier:
        previous = max(earlier)
        if per_month[previous] > per_month[newest]:
            return previous
    return newest


def _report(kind: str) -> Report:
    scope, _departments = _scopes()
    return build(get_ledger().engine, get_settings().analysis, kind, scope,
                 month=_month(kind))


def _matches(report: Report, text: str | None, language: str) -> Report:
    """Rows of the first section holding ``text`` in any cell (the search box)."""
    if not text:
        return report
    section = report.sections[0]
    needle = text.casefold()
    section.rows = [row for row in section.rows if any(
        needle in cell_text(c, row.get(c.key), language).casefold() for c in section.columns)]
    section.totals = None
    return report


@bp.get("/reports")
@requires(REPORTS_READ)
def show():
    """One report's tables, with the filters and the download buttons."""
    kind = request.args.get("report", "utilization")
    if kind not in KINDS:
        abort(404)
    language = current_language()
    scope, departments = _scopes()
    month, error = _month(kind), None
    try:
        report = _matches(build(get_ledger().engine, get_settings().analysis, kind, scope,
                                month=month), request.args.get("q"), language)
    except ReportError as exc:
        report, error = None, exc.text(language)
    keep = {k: v for k, v in request.args.items() if k in ("month", "department") and v}
    wanted = {**keep, **({"month": month} if month and kind == "utilization" else {})}
    downloads = {fmt: url_for("reports.download", report=kind, fmt=fmt, lang=language,
                              **wanted) for fmt in FORMATS}
    return render_template("reports.html", kinds=KINDS, kind=kind, report=report,
                           error=error, departments=departments, args=request.args,
                           keep=keep, downloads=downloads, language=language,
                           limit=PAGE_ROWS, cell_text=cell_text, month=month or "")


@bp.get("/reports/<report>.<fmt>")
@requires(REPORTS_READ)
def download(report: str, fmt: str):
    """The report as a file (``?lang=en`` for English; zh by default)."""
    if report not in KINDS or fmt not in FORMATS:
        abort(404)
    language = current_language()
    try:
        built = _report(report)
        data = render(built, fmt, language, font=get_settings().reports.pdf_font)
    except ReportError as exc:
        return render_template("refused.html", reason=exc.text(language), status=400), 400
    from io import BytesIO
    return send_file(BytesIO(data), as_attachment=True, download_name=filename(built, fmt),
                     mimetype=MIME[fmt].split(";")[0])   # Werkzeug adds the charset
