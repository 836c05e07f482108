"""The overview screen (领导大屏, first cut): what the caller's scope declares, in totals.

Counts of declared rows per category and the investment they record, from
:meth:`CallerScope.census` (so a department leader sees their subtree only).
"""

from __future__ import annotations

import decimal

from flask import Blueprint, render_template

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language
from ledger.census.fields import CATEGORIES
from ledger.identity.roles import OVERVIEW_READ

bp = Blueprint("overview", __name__)
INVESTED = ("data_center", "cloud_platform", "dedicated_network", "information_system")


@bp.get("/overview")
@requires(OVERVIEW_READ)
def show():
    """Counts per category and total investment in the caller's scope."""
    scope = caller_scope()
    data = scope.census().export([key for key in CATEGORIES if key != "region"])
    counts = {key: len(rows) for key, rows in data.items()}
    invested = sum((row.get("total_investment") or decimal.Decimal(0)
                    for key in INVESTED for row in data.get(key, ())), decimal.Decimal(0))
    return render_template("overview.html", counts=counts, invested=invested,
                           categories=CATEGORIES, department=scope.department,
                           language=current_language())
