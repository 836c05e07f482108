"""Reading alerts for people: lists with filters, one alert with its history, as JSON.

Used by the REST API, the pages and ``monitor alerts list``. A caller's view is a
:class:`View`: its department scope (only alerts owned by its departments when restricted)
and whether it sees infrastructure alerts at all or only ledger events (a department's
data officer sees the findings of its own department, never device or target alerts).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from alerts.const import KIND_LABELS, SEVERITY_LABELS, STATE_LABELS
from alerts.payload import summary
from ledger.alert_tables import alert, alert_event
from ledger.census.snapshot import Scope
from ledger.db import page_offset

#: States a list can filter on; ``silenced`` is a firing alert that something mutes.
LIST_STATES = ("firing", "pending", "silenced", "resolved", "inactive")


@dataclasses.dataclass(frozen=True)
class View:
    """What a caller may see."""

    scope: Scope = dataclasses.field(default_factory=Scope.everything)
    ledger_only: bool = False

    def clause(self):
        """The WHERE clause of this view (None: everything)."""
        parts = []
        if self.ledger_only:
            parts.append(alert.c.kind == "ledger_event")
        if not self.scope.unrestricted:
            parts.append(alert.c.department_id.in_(sorted(self.scope.department_ids)))
        return and_(*parts) if parts else None


def _state_clause(state: str):
    if state == "silenced":
        return and_(alert.c.state == "firing", alert.c.muted_by.is_not(None))
    if state == "firing":
        return and_(alert.c.state == "firing", alert.c.muted_by.is_(None))
    return alert.c.state == state


def query(view: View, *, states=None, severity: str | None = None,
          department: str | None = None, data_center: str | None = None,
          ids=None):
    """The SELECT of alerts in ``view`` with the filters, newest change first."""
    statement = select(alert)
    clause = view.clause()
    if clause is not None:
        statement = statement.where(clause)
    if states:
        statement = statement.where(or_(*[_state_clause(s) for s in states]))
    if severity:
        statement = statement.where(alert.c.severity == severity)
    if department:
        statement = statement.where(alert.c.department == department)
    if data_center:
        statement = statement.where(alert.c.data_center == data_center)
    if ids is not None:
        statement = statement.where(alert.c.id.in_(list(ids)))
    return statement.order_by(alert.c.last_eval_at.desc(), alert.c.id.desc())


def page(conn: Connection, view: View, language: str, *, page_number: int = 1,
         per_page: int = 100, **filters: Any) -> tuple[list[dict], int]:
    """A page of alerts as JSON objects, and the total."""
    statement = query(view, **filters)
    total = conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    offset = page_offset(total, page_number, per_page)
    if offset is None:
        return [], total
    rows = conn.execute(statement.limit(per_page).offset(offset))
    return [as_json(row, language) for row in rows.mappings()], total


def counts(conn: Connection, view: View) -> dict[str, int]:
    """How many alerts are in each list state."""
    return {state: conn.execute(select(func.count()).select_from(
        query(view, states=[state]).subquery())).scalar_one() for state in LIST_STATES}


def one(conn: Connection, view: View, alert_id: int, language: str) -> dict | None:
    """One alert with its history, or None when it is not in the view."""
    row = conn.execute(query(view, ids=[alert_id])).mappings().first()
    if row is None:
        return None
    out = as_json(row, language)
    out["history"] = [{"at": e.at.isoformat(), "state": e.state, "value": e.value,
                       "note": e.note} for e in conn.execute(
        select(alert_event).where(alert_event.c.alert_id == alert_id)
        .order_by(alert_event.c.at, alert_event.c.id))]
    return out


def list_state(row) -> str:
    """The state a person sees (``silenced`` for a muted firing alert)."""
    return "silenced" if row["state"] == "firing" and row["muted_by"] else row["state"]


def as_json(row, language: str) -> dict:
    """One alert as the API and ``--json`` show it."""
    notes = row["annotations"] or {}
    pick = 0 if language == "zh" else 1
    state = list_state(row)
    return {
        "id": row["id"], "fingerprint": row["fingerprint"], "rule": row["rule"],
        "kind": row["kind"], "kind_label": KIND_LABELS[row["kind"]][pick],
        "severity": row["severity"],
        "severity_label": SEVERITY_LABELS.get(row["severity"], ("", ""))[pick],
        "state": state, "state_label": STATE_LABELS[state][pick],
        "labels": row["labels"],
        "summary": summary(row["kind"], notes.get(f"summary_{language}", ""), row["labels"],
                           row["value"], language),
        "value": row["value"], "department": row["department"],
        "data_center": row["data_center"], "muted_by": row["muted_by"],
        "active_at": row["active_at"].isoformat(),
        "fired_at": row["fired_at"].isoformat() if row["fired_at"] else None,
        "resolved_at": row["resolved_at"].isoformat() if row["resolved_at"] else None,
        "last_eval_at": row["last_eval_at"].isoformat()}
