"""The audit administrator's view of the change log and the login records (审计).

Census changes, grants, logins, failures, lockouts and token use are one hash chain
(:mod:`ledger.census.audit`); only ``audit.read`` (the audit administrator) reads it here
or through ``GET /api/v1/audit``. Nothing on these routes changes data.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from dashboards.access import requires
from dashboards.i18n import current_language
from dashboards.resources import get_ledger, get_settings
from ledger.census.audit import list_records, verify
from ledger.identity.roles import AUDIT_READ

bp = Blueprint("audit", __name__)
#: Actions of identity events, for the "login records" filter.
IDENTITY_TYPES = ("user", "api_token", "address", "oidc")


def _query() -> dict:
    args = request.args
    kind = args.get("kind")
    return {"object_types": IDENTITY_TYPES if kind == "security" else None,
            "exclude_types": IDENTITY_TYPES if kind == "census" else None,
            "actor": args.get("actor") or None, "action": args.get("action") or None,
            "before_seq": args.get("before", type=int), "limit": 200}


@bp.get("/audit")
@requires(AUDIT_READ)
def records():
    """The newest records (all, census changes only, or login and grant records)."""
    with get_ledger().engine.connect() as conn:
        rows = list_records(conn, **_query())
        check = verify(conn, chain=get_settings().audit_chain, language=current_language()) \
            if request.args.get("verify") else None
    return render_template("audit.html", rows=rows, check=check, args=request.args)


@bp.get("/api/v1/audit")
@requires(AUDIT_READ)
def records_json():
    """The same records as JSON (``kind=security|census``, ``actor``, ``action``, ``before``)."""
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
