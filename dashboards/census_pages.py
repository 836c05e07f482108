"""Census pages: the caller's declared rows per category, and the workbook export.

Rows come from :meth:`CallerScope.census` alone, so a department data officer sees and
exports their department and its sub-departments only; estate-wide readers see all.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, abort, render_template, request, send_file

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language
from dashboards.officer import shown
from ledger.census.fields import CATEGORIES
from ledger.census.snapshot import ScopeError
from ledger.census.template import write_csv, write_workbook
from ledger.identity.roles import CENSUS_READ

bp = Blueprint("census", __name__)
PAGE = 100


@bp.get("/census")
@requires(CENSUS_READ)
def rows():
    """One category's rows in the caller's scope (100 a page), searched by code or name and
    narrowed to a department's subtree."""
    category = request.args.get("category", "department")
    if category not in CATEGORIES:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int))
    try:
        items, total = caller_scope().census().list(
            category, page=page, per_page=PAGE, search=request.args.get("q") or None,
            department=request.args.get("department") or None)
    except ScopeError:
        items, total = [], 0    # an unknown department narrows to nothing
    spec = CATEGORIES[category]
    return render_template("census.html", categories=CATEGORIES, category=spec, items=items,
                           total=total, page=page, pages=max(1, -(-total // PAGE)),
                           language=current_language(), show=shown)


@bp.get("/census/export.<fmt>")
@requires(CENSUS_READ)
def export(fmt: str):
    """The caller's census as a workbook (``xlsx``) or one category as ``csv``."""
    category = request.args.get("category")
    if fmt not in ("xlsx", "csv") or (category is not None and category not in CATEGORIES) \
            or (fmt == "csv" and category is None):
        abort(404)
    language = current_language()
    data = caller_scope().census().export([category] if category else None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"census.{fmt}"
        if fmt == "xlsx":
            write_workbook(path, data, language=language)
        else:
            write_csv(path, category, data[category], language=language)
        payload = path.read_bytes()
    name = f"census-{category}.{fmt}" if category else f"census.{fmt}"
    return send_file(io.BytesIO(payload), as_attachment=True, download_name=name,
                     mimetype="text/csv" if fmt == "csv" else
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
