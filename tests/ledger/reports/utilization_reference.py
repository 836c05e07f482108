"""The utilization report the way its definition reads: entities rebuilt in Python and
:func:`ledger.reports.utilization.report` over them. The set-based figures must give the
same report."""

from __future__ import annotations

import datetime as dt

from ledger.analyses import entities
from ledger.estate import declared_assets, matched_declared
from ledger.policy import AnalysisPolicy
from ledger.reports import department_names
from ledger.reports.utilization import UtilizationInputs
from ledger.utilization import recent


def utilization_inputs(conn, policy: AnalysisPolicy, first: dt.date,
                       last: dt.date) -> UtilizationInputs:
    return UtilizationInputs(entities(conn, policy), recent(conn, first, last),
                             matched_declared(conn), declared_assets(conn),
                             department_names(conn), first, last)
