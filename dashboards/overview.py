"""The overview screen (领导大屏, first cut): what the caller's scope declares, in totals.

Counts of declared rows per category and the investment they record, counted in the
database within the caller's department scope (a department leader sees their subtree only).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language
from dashboards.resources import get_ledger
from ledger import browse
from ledger.census.fields import CATEGORIES
from ledger.identity.roles import OVERVIEW_READ

bp = Blueprint("overview", __name__)
INVESTED = ("data_center", "cloud_platform", "dedicated_network", "information_system")


@bp.get("/overview")
@requires(OVERVIEW_READ)
def show():
    """Counts per category and total investment in the caller's scope."""
    scope = caller_scope()
    with get_ledger().engine.connect() as conn:
        counts, invested = browse.declared_totals(
            conn, scope.ledger_scope(conn), [key for key in CATEGORIES if key != "region"],
            INVESTED)
    return render_template("overview.html", counts=counts, invested=invested,
                           categories=CATEGORIES, department=scope.department,
                           language=current_language())
