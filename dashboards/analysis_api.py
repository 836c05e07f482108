"""REST API of the analyses: reconciliation, findings, compute ledger, migration, KPIs.

- ``GET /reconciliation?outcome=&page=&per_page=``: the summary and a page of pairs (the
  same objects as ``monitor reconcile --json``); ``POST /reconciliation`` runs it now.
- ``GET /findings?kind=&state=&active=&department=&page=&per_page=``, ``GET
  /findings/<id>``, ``POST /findings/<id>/state`` with ``{"state", "reason"}``.
- ``GET /compute?by=region|department|dc|platform|arch``, ``GET /migration``, ``GET /kpi``,
  ``GET /analysis/runs``.

Every read is limited to the caller's department scope (below the routes, in the ledger's
functions); the scope and the actor come from the caller's identity (``dashboards.access``),
``?department=`` only narrows it. Reading reconciliation and findings needs
``findings.read``; changing a finding's state ``census.write``; running reconciliation,
which reads and writes every department's findings, ``reconcile.run`` (estate-wide roles only:
census coordinator, operator);
the compute ledger, migration progress and KPIs ``overview.read``; when each analysis last
ran ``read`` (every person's role, no machine's). Documented in the
OpenAPI document at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language, translate
from dashboards.resources import get_ledger, get_settings
from ledger import analyses, findings
from ledger.census.snapshot import Scope, ScopeError
from ledger.compute import DIMENSIONS
from ledger.const import FINDING_KINDS, FINDING_STATES, OUTCOMES
from ledger.identity.roles import (CENSUS_WRITE, FINDINGS_READ, OVERVIEW_READ, READ,
                                   RECONCILE_RUN)
from ledger.reconcile import store

bp = Blueprint("analysis", __name__, url_prefix="/api/v1")
MAX_PAGE = 1000
MAX_PAGE_NUMBER = 10**9


class BadRequest(ValueError):
    """A query parameter the API cannot take."""


def ledger_scope() -> Scope:
    """The caller's department scope (from the identity), narrowed by ``?department=``."""
    caller = caller_scope()
    with get_ledger().engine.connect() as conn:
        scope = caller.ledger_scope(conn)
        narrow = request.args.get("department")
        if not narrow:
            return scope
        inner = Scope.for_department(conn, narrow)
    if scope.unrestricted:
        return inner
    return Scope(narrow, inner.department_ids & scope.department_ids)


def _paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PAGE, max(1, int(request.args.get("per_page", 100))))
    except ValueError:
        raise BadRequest(translate("page_integers")) from None
    if page > MAX_PAGE_NUMBER:   # an offset the database cannot take
        raise BadRequest(translate("page_integers"))
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
@requires(FINDINGS_READ)
def reconciliation():
    """The summary and a page of reconciliation pairs."""
    page, per_page = _paging()
    outcome = _choice("outcome", OUTCOMES)
    scope = ledger_scope()
    with get_ledger().engine.connect() as conn:
        pairs, total = store.list_pairs(conn, scope, outcome=outcome, page=page,
                                        per_page=per_page)
        return jsonify({"summary": store.summary(conn, scope), "pairs": pairs,
                        "total": total, "page": page, "per_page": per_page,
                        "last_run": _runs(conn, scope).get("reconcile")})


@bp.post("/reconciliation")
@requires(RECONCILE_RUN)
def reconcile():
    """Run reconciliation now (``?whole=true``: recompute every pair, not only what changed
    since the last run); returns the caller's summary (and, unscoped, what changed)."""
    settings = get_settings()
    whole = _choice("whole", ("true", "false")) == "true"
    result = store.run(get_ledger().engine, settings.analysis.reconcile,
                       actor=caller_scope().actor, algorithm=settings.audit_chain,
                       whole=whole)
    scope = ledger_scope()
    with get_ledger().engine.connect() as conn:
        summary = store.summary(conn, scope)
    out = {"run_id": result.run_id, "summary": summary}
    if scope.unrestricted:   # the run's own counts cover every department
        out["findings"] = {"opened": result.findings.opened,
                           "reopened": result.findings.reopened,
                           "resolved": result.findings.resolved}
        out["recomputed"] = result.recomputed
    return jsonify(out)


@bp.get("/findings")
@requires(FINDINGS_READ)
def list_findings():
    """A page of findings."""
    page, per_page = _paging()
    active = request.args.get("active", "true").lower() not in ("0", "false", "no", "all")
    with get_ledger().engine.connect() as conn:
        items, total = findings.page(conn, ledger_scope(), page_number=page, per_page=per_page,
                                     kind=_choice("kind", FINDING_KINDS),
                                     state=_choice("state", FINDING_STATES),
                                     active_only=active)
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


@bp.get("/findings/<int:finding_id>")
@requires(FINDINGS_READ)
def read_finding(finding_id: int):
    """One finding."""
    with get_ledger().engine.connect() as conn:
        items = findings.listing(conn, ledger_scope(), active_only=False, ids=[finding_id])
    if not items:
        return jsonify({"errors": [{"reason": "not found"}]}), 404
    return jsonify(items[0])


@bp.post("/findings/<int:finding_id>/state")
@requires(FINDINGS_READ, unsafe=CENSUS_WRITE)
def transition(finding_id: int):
    """Acknowledge, resolve or reopen a finding (``reason`` required to resolve/reopen)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("state"), str) or \
            not isinstance(body.get("reason") or "", str):
        raise BadRequest('a JSON object {"state": ..., "reason": ...} is expected')
    caller = caller_scope()
    try:
        findings.transition(get_ledger().engine, finding_id, body["state"], actor=caller.actor,
                            reason=body.get("reason"), scope=ledger_scope(),
                            algorithm=get_settings().audit_chain,
                            request_id=caller.request_id)
    except findings.FindingError as exc:
        status = 404 if exc.reason == "not_found" else 409 if exc.reason == "bad_transition" \
            else 400
        return jsonify({"errors": [{"reason": findings.message(exc, current_language())}]}), \
            status
    return read_finding(finding_id)


@bp.get("/compute")
@requires(OVERVIEW_READ)
def compute():
    """The compute ledger, grouped ``by`` a dimension."""
    by = _choice("by", DIMENSIONS) or "department"
    settings = get_settings()
    return jsonify(analyses.compute_ledger(get_ledger().engine, settings.analysis,
                                           ledger_scope(), by=by))


@bp.get("/migration")
@requires(OVERVIEW_READ)
def migration():
    """Migration and consolidation progress."""
    return jsonify(analyses.migration_progress(get_ledger().engine, get_settings().analysis,
                                               ledger_scope()))


@bp.get("/kpi")
@requires(OVERVIEW_READ)
def kpi():
    """The KPIs against their targets."""
    return jsonify(analyses.kpis(get_ledger().engine, get_settings().analysis, ledger_scope()))


def _runs(conn, scope: Scope) -> dict:
    """The newest runs; their summaries count the whole ledger, so only for the unscoped."""
    runs = analyses.last_runs(conn)
    if not scope.unrestricted:
        runs = {name: {k: v for k, v in run.items() if k != "summary"}
                for name, run in runs.items()}
    return runs


@bp.get("/analysis/runs")
@requires(READ)
def runs():
    """The newest run of each analysis."""
    with get_ledger().engine.connect() as conn:
        return jsonify(_runs(conn, ledger_scope()))
