"""REST API of the analyses: reconciliation, findings, compute ledger, migration, KPIs.

- ``GET /reconciliation?outcome=&page=&per_page=``: the summary and a page of pairs (the
  same objects as ``monitor reconcile --json``); ``POST /reconciliation`` runs it now.
- ``GET /findings?kind=&state=&active=&department=&page=&per_page=``, ``GET
  /findings/<id>``, ``POST /findings/<id>/state`` with ``{"state", "reason"}``.
- ``GET /compute?by=region|department|dc|platform|arch``, ``GET /migration``, ``GET /kpi``,
  ``GET /analysis/runs``.

Every read is limited to the caller's department scope (below the routes, in the ledger's
functions); the scope comes from the caller's identity (``X-Department`` until users and
roles exist). Documented in the OpenAPI document at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request

from dashboards.i18n import current_language
from dashboards.resources import get_ledger, get_settings
from ledger import analyses, findings
from ledger.census.snapshot import Scope, ScopeError
from ledger.compute import DIMENSIONS
from ledger.const import FINDING_KINDS, FINDING_STATES, OUTCOMES
from ledger.reconcile import store

bp = Blueprint("analysis", __name__, url_prefix="/api/v1")
MAX_PAGE = 1000


class BadRequest(ValueError):
    """A query parameter the API cannot take."""


def caller_scope() -> Scope:
    """The caller's department scope (``X-Department`` until identities exist)."""
    department = request.headers.get("X-Department")
    with get_ledger().engine.connect() as conn:
        scope = Scope.everything() if not department else Scope.for_department(conn, department)
        narrow = request.args.get("department")
        if narrow:
            inner = Scope.for_department(conn, narrow)
            if not scope.unrestricted:
                return Scope(narrow, inner.department_ids & scope.department_ids)
            return inner
    return scope


def _actor() -> str:
    return request.headers.get("X-Actor") or f"api:{request.remote_addr or '-'}"


def _paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PAGE, max(1, int(request.args.get("per_page", 100))))
    except ValueError:
        raise BadRequest("page and per_page must be integers") from None
    return page, per_page


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}")
    return value


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify({"errors": [{"reason": str(exc)}]}), 400


@bp.errorhandler(ScopeError)
def _bad_scope(exc: ScopeError):
    return jsonify({"errors": [{"reason": str(exc)}]}), 403


@bp.get("/reconciliation")
def reconciliation():
    """The summary and a page of reconciliation pairs."""
    page, per_page = _paging()
    outcome = _choice("outcome", OUTCOMES)
    scope = caller_scope()
    with get_ledger().engine.connect() as conn:
        pairs, total = store.list_pairs(conn, scope, outcome=outcome, page=page,
                                        per_page=per_page)
        return jsonify({"summary": store.summary(conn, scope), "pairs": pairs,
                        "total": total, "page": page, "per_page": per_page,
                        "last_run": _runs(conn, scope).get("reconcile")})


@bp.post("/reconciliation")
def reconcile():
    """Run reconciliation now; returns the whole ledger's summary and what changed."""
    settings = get_settings()
    result = store.run(get_ledger().engine, settings.analysis.reconcile, actor=_actor(),
                       algorithm=settings.audit_hash)
    scope = caller_scope()
    with get_ledger().engine.connect() as conn:
        summary = store.summary(conn, scope)
    out = {"run_id": result.run_id, "summary": summary}
    if scope.unrestricted:   # the run's own counts cover every department
        out["findings"] = {"opened": result.findings.opened,
                           "reopened": result.findings.reopened,
                           "resolved": result.findings.resolved}
    return jsonify(out)


@bp.get("/findings")
def list_findings():
    """A page of findings."""
    page, per_page = _paging()
    active = request.args.get("active", "true").lower() not in ("0", "false", "no", "all")
    with get_ledger().engine.connect() as conn:
        items, total = findings.page(conn, caller_scope(), page_number=page, per_page=per_page,
                                     kind=_choice("kind", FINDING_KINDS),
                                     state=_choice("state", FINDING_STATES),
                                     active_only=active)
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


@bp.get("/findings/<int:finding_id>")
def read_finding(finding_id: int):
    """One finding."""
    with get_ledger().engine.connect() as conn:
        items = findings.listing(conn, caller_scope(), active_only=False, ids=[finding_id])
    if not items:
        return jsonify({"errors": [{"reason": "not found"}]}), 404
    return jsonify(items[0])


@bp.post("/findings/<int:finding_id>/state")
def transition(finding_id: int):
    """Acknowledge, resolve or reopen a finding (``reason`` required to resolve/reopen)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("state"), str) or \
            not isinstance(body.get("reason") or "", str):
        raise BadRequest('a JSON object {"state": ..., "reason": ...} is expected')
    try:
        findings.transition(get_ledger().engine, finding_id, body["state"], actor=_actor(),
                            reason=body.get("reason"), scope=caller_scope(),
                            algorithm=get_settings().audit_hash,
                            request_id=(request.headers.get("X-Request-Id")
                                        or uuid.uuid4().hex)[:64])
    except findings.FindingError as exc:
        status = 404 if exc.reason == "not_found" else 409 if exc.reason == "bad_transition" \
            else 400
        return jsonify({"errors": [{"reason": findings.message(exc, current_language())}]}), \
            status
    return read_finding(finding_id)


@bp.get("/compute")
def compute():
    """The compute ledger, grouped ``by`` a dimension."""
    by = _choice("by", DIMENSIONS) or "department"
    settings = get_settings()
    return jsonify(analyses.compute_ledger(get_ledger().engine, settings.analysis,
                                           caller_scope(), by=by))


@bp.get("/migration")
def migration():
    """Migration and consolidation progress."""
    return jsonify(analyses.migration_progress(get_ledger().engine, get_settings().analysis,
                                               caller_scope()))


@bp.get("/kpi")
def kpi():
    """The KPIs against their targets."""
    return jsonify(analyses.kpis(get_ledger().engine, get_settings().analysis, caller_scope()))


def _runs(conn, scope: Scope) -> dict:
    """The newest runs; their summaries count the whole ledger, so only for the unscoped."""
    runs = analyses.last_runs(conn)
    if not scope.unrestricted:
        runs = {name: {k: v for k, v in run.items() if k != "summary"}
                for name, run in runs.items()}
    return runs


@bp.get("/analysis/runs")
def runs():
    """The newest run of each analysis."""
    with get_ledger().engine.connect() as conn:
        return jsonify(_runs(conn, caller_scope()))
