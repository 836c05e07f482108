"""The audit administrator's view of the change log and the login records (审计).

Census changes, grants, logins, failures, lockouts and token use are one hash chain
(:mod:`ledger.census.audit`); only ``audit.read`` (the audit administrator) reads it here
or through ``GET /api/v1/audit``. Nothing on these routes changes data.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import func, select

from dashboards.access import requires
from dashboards.i18n import current_language
from dashboards.resources import get_ledger, get_settings
from dashboards.officer import form_value
from ledger.census.audit import list_records, verify
from ledger.census.fields import CATEGORIES
from ledger.census.tables import audit_record
from ledger.census.values import readable
from ledger.identity.roles import AUDIT_READ

bp = Blueprint("audit", __name__)
#: Actions of identity events, for the "login records" filter.
IDENTITY_TYPES = ("user", "api_token", "address", "oidc")
#: The search fields of the page (kept in the "older" link).
SEARCH = ("kind", "actor", "action", "object_type", "object_key", "since", "until")


#: Up to this many records the page verifies the chain on every visit; beyond, on request.
AUTO_VERIFY = 20_000


def _day(name: str, shift: int = 0) -> dt.datetime | None:
    """``?since=`` / ``?until=`` (YYYY-MM-DD, local days) as a UTC bound; bad dates are
    ignored (the form's date fields send only good ones)."""
    try:
        day = dt.date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None
    local = dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(),
                                ZoneInfo(get_settings().timezone))
    return local.astimezone(dt.timezone.utc)


def _sequence(value: str | None) -> int | None:
    """``before=``: a record number the ledger can hold (a BIGINT), else 400."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19 \
            or int(value) > 2**63 - 1:
        abort(400, description="before: expected a record number")
    return int(value)


def _query() -> dict:
    args = request.args
    kind = args.get("kind")
    object_type = args.get("object_type") or None
    return {"object_types": [object_type] if object_type else
            IDENTITY_TYPES if kind == "security" else None,
            "exclude_types": IDENTITY_TYPES if kind == "census" else None,
            "actor": args.get("actor") or None, "action": args.get("action") or None,
            "object_key": args.get("object_key") or None, "since": _day("since"),
            "until": _day("until", 1), "before_seq": _sequence(args.get("before")),
            "limit": 200}


def _status(conn):
    """The chain's verification: always when asked, else when the log is small enough."""
    total = conn.execute(select(func.count()).select_from(audit_record)).scalar_one()
    if request.args.get("verify") or total <= AUTO_VERIFY:
        return verify(conn, chain=get_settings().audit_chain,
                      language=current_language()), total
    return None, total


def change_lines(object_type: str | None, changes, language: str) -> list[str]:
    """A record's content as lines people read: ``label: before → after`` per field of a
    census row (choice labels, not stored keys), ``name: value`` otherwise; never escaped
    JSON."""
    if not isinstance(changes, dict):
        return [] if changes in (None, "") else [_plain(changes)]
    spec = CATEGORIES.get(object_type or "")
    lines = []
    for key, value in changes.items():
        field = spec.by_key.get(key) if spec else None
        name = field.label(language) if field else key
        if isinstance(value, (list, tuple)) and len(value) == 2:
            before, after = (_shown(v, field, language) for v in value)
            lines.append(f"{name}: {before} → {after}")
        else:
            lines.append(f"{name}: {_shown(value, field, language)}")
    return lines


def _shown(value, field, language: str) -> str:
    if value is None:
        return "∅"
    if field is not None:
        return form_value(readable(field, value, language))
    return _plain(value)


def _plain(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@bp.get("/audit")
@requires(AUDIT_READ)
def records():
    """The newest records matching the search (actor, action, object, days), with the
    status of ``audit verify``."""
    with get_ledger().engine.connect() as conn:
        rows = list_records(conn, **_query())
        check, total = _status(conn)
        actions = sorted(conn.execute(select(audit_record.c.action).distinct()).scalars())
    keep = {k: v for k, v in request.args.items() if k in SEARCH and v}
    return render_template("audit.html", rows=rows, check=check, total=total,
                           args=request.args, keep=keep, actions=actions,
                           lines=change_lines, language=current_language())


@bp.get("/api/v1/audit")
@requires(AUDIT_READ)
def records_json():
    """The same records as JSON (``kind=security|census``, ``actor``, ``action``,
    ``object_type``, ``object_key``, ``since``, ``until``, ``before``)."""
    with get_ledger().engine.connect() as conn:
        rows = list_records(conn, **_query())
    return jsonify({"items": [{**row, "time": row["time"].isoformat()} for row in rows]})


@bp.get("/api/v1/audit/verify")
@requires(AUDIT_READ)
def verify_json():
    """Recompute the whole chain."""
    with get_ledger().engine.connect() as conn:
        result = verify(conn, chain=get_settings().audit_chain, language=current_language())
    return jsonify({"records": result.records, "head_hash": result.head_hash,
                    "checkpoints": result.checkpoints, "problems": result.problems,
                    "notes": result.notes})
