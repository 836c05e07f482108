"""The department data officer's pages: one census row, its edit form and change history,
the workbook upload with its dry-run diff, and the department's findings.

Every read and write goes through :class:`ledger.census.service.CensusService` bound to the
caller (:meth:`CallerScope.census`), so the form is validated exactly as an import is, and a
row outside the caller's department is "not found". Findings change state only through
:func:`ledger.findings.transition` (a reason is required to resolve), which writes the
change log.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, url_for

from dashboards.access import body_limit, caller_scope, csrf_token, requires
from dashboards.finding_details import detail_parts, state_reason_text
from dashboards.i18n import current_language, label_of, translate
from dashboards.resources import get_ledger, get_settings
from ledger import browse, findings
from ledger.census.fields import CATEGORIES
from ledger.census.files import FileRejected, read_file
from ledger.census.planner import clip
from ledger.census.report import cleared_text
from ledger.census.service import CensusRejected, NotFound
from ledger.census.snapshot import ScopeError
from ledger.census.values import readable
from ledger.const import FINDING_KINDS, FINDING_STATES
from ledger.identity.roles import CENSUS_READ, CENSUS_WRITE, FINDINGS_READ

bp = Blueprint("officer", __name__)
PAGE = 50
UPLOAD_SUFFIXES = (".xlsx", ".csv")


def _row(category: str, code: str) -> dict:
    if category not in CATEGORIES:
        abort(404)
    try:
        return caller_scope().census().get(category, code)
    except (NotFound, ScopeError):
        abort(404)


def shown(value, spec=None) -> str:
    """A census value as the page shows it: with its field, choice labels and 是/否 in the
    page's language (the form keeps what the parser reads back)."""
    return form_value(readable(spec, value, current_language()) if spec else value)


def form_value(value) -> str:
    """A typed census value as the form shows it (and the parser reads it back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dt.date, decimal.Decimal)):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_error(spec, error, language: str) -> str:
    """An edit form's error as its reader knows the form: the field's label, the value and
    the reason (no sheet or row: the form has one row)."""
    field = next((f for f in spec.fields if error.column in (f.key, f.zh, f.en)), None)
    where = field.label(language) if field is not None else clip(error.column or "")
    value = "" if error.value in (None, "") else f" [{clip(error.value)}]"
    return f"{where}{value}: {error.reason}" if where else error.reason


@bp.get("/census/<category>/<code>")
@requires(CENSUS_READ)
def row(category: str, code: str):
    """One row with every field, and its change history from the audit log."""
    record = _row(category, code)
    with get_ledger().engine.connect() as conn:
        changes = browse.history(conn, category, code)
    return render_template("census_row.html", category=CATEGORIES[category], record=record,
                           changes=changes, language=current_language(), show=shown)


@bp.route("/census/<category>/<code>/edit", methods=["GET", "POST"])
@requires(CENSUS_READ, unsafe=CENSUS_WRITE)
def edit(category: str, code: str):
    """The edit form; saving validates as an import does and records the change."""
    record = _row(category, code)
    spec = CATEGORIES[category]
    errors, values = [], {f.key: form_value(record.get(f.key)) for f in spec.fields}
    if request.method == "POST":
        values = {f.key: request.form.get(f.key, "").strip() for f in spec.fields
                  if f.key != "code"}
        try:
            caller_scope().census().update(category, code, {
                key: (value or None) for key, value in values.items()})
        except CensusRejected as exc:
            errors = [form_error(spec, e, current_language()) for e in exc.errors]
        else:
            return redirect(url_for("officer.row", category=category, code=code, saved=1))
        values["code"] = code
    return render_template("census_edit.html", category=spec, code=code, values=values,
                           errors=errors, language=current_language(),
                           choices=_choices(spec)), 400 if errors else 200


def _choices(spec) -> dict[str, list[tuple[str, str]]]:
    from ledger.census.const import CHOICES
    language = current_language()
    out = {}
    for field in spec.fields:
        if field.kind == "choice":
            out[field.key] = [(key, zh if language == "zh" else en)
                              for key, zh, en in CHOICES[field.choices]]
        elif field.kind == "bool":
            out[field.key] = [("是", translate("yes")), ("否", translate("no"))]
    return out


#: A dry run not confirmed within this many seconds is discarded.
STAGED_SECONDS = 3600


def _staging() -> Path:
    folder = get_settings().data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sweep() -> None:
    """Forget dry runs nobody confirmed (they hold a department's census)."""
    limit = time.time() - STAGED_SECONDS
    for path in _staging().iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def _owner_tag() -> str:
    caller = caller_scope()
    return hashlib.sha256(f"{caller.actor}|{caller.department}".encode()).hexdigest()[:16]


@bp.route("/census/upload", methods=["GET", "POST"])
@requires(CENSUS_READ, unsafe=CENSUS_WRITE)
@body_limit("import_max_body")
def upload():
    """Upload a workbook: first the dry-run diff, then (confirmed) the import."""
    if request.method == "GET":
        return render_template("census_upload.html", stage="form")
    if request.form.get("token"):
        return _confirm(request.form["token"])
    upload_file = request.files.get("file")
    suffix = Path(upload_file.filename or "").suffix.lower() if upload_file else ""
    if upload_file is None or suffix not in UPLOAD_SUFFIXES:
        return render_template("census_upload.html", stage="form",
                               errors=[translate("upload_pick_file")]), 400
    _sweep()
    token = secrets.token_hex(16)
    path = _staging() / f"{token}{suffix}"
    upload_file.save(path)
    (_staging() / f"{token}.json").write_text(json.dumps({
        "owner": _owner_tag(), "name": upload_file.filename,
        "category": request.form.get("category") or None}))
    return _preview(token, path)


def _sheets(path: Path, meta: dict):
    return read_file(path, category=meta.get("category"), language=current_language())


def _preview(token: str, path: Path):
    meta = json.loads((_staging() / f"{token}.json").read_text())
    try:
        result = caller_scope().census().apply(_sheets(path, meta), dry_run=True)
    except FileRejected as exc:
        return _discard(token, [exc.named(_shown_name(meta))])
    except CensusRejected as exc:
        return _discard(token, [str(e) for e in exc.errors])
    return render_template("census_upload.html", stage="preview", token=token,
                           name=meta["name"], diffs=_diffs(result.plan),
                           empty=result.plan.empty)


def _shown_name(meta: dict) -> str:
    """The uploaded file's own name (never the server path it was staged under)."""
    return clip(Path(meta.get("name") or "").name or "?")


def _discard(token: str, errors: list[str]):
    for path in _staging().glob(f"{token}.*"):
        path.unlink(missing_ok=True)
    return render_template("census_upload.html", stage="form", errors=errors), 400


def _confirm(token: str):
    if not token.isalnum():
        abort(400)
    meta_path = _staging() / f"{token}.json"
    files = [p for p in _staging().glob(f"{token}.*") if p.suffix in UPLOAD_SUFFIXES]
    if not meta_path.exists() or not files:
        return render_template("census_upload.html", stage="form",
                               errors=[translate("upload_expired")]), 400
    meta = json.loads(meta_path.read_text())
    if meta["owner"] != _owner_tag():
        abort(404)
    try:
        result = caller_scope().census().apply(_sheets(files[0], meta))
    except (FileRejected, CensusRejected) as exc:
        errors = [str(e) for e in exc.errors] if isinstance(exc, CensusRejected) \
            else [exc.named(_shown_name(meta))]
        return _discard(token, errors)
    _discard(token, [])
    return render_template("census_upload.html", stage="done", batch=result.batch_id,
                           diffs=_diffs(result.plan))


def _diffs(plan) -> list[dict]:
    language = current_language()
    out = []
    for key in [k for k in CATEGORIES if k in plan.diffs]:
        diff, spec = plan.diffs[key], CATEGORIES[key]
        out.append({"key": key, "label": spec.label(language),
                    "new": [(record["code"], record.get("name")) for _row, record in diff.new],
                    "changed": [(code, [(spec.by_key[name].label(language),
                                         shown(b, spec.by_key[name]),
                                         shown(a, spec.by_key[name]))
                                        for name, (b, a) in fields.items()])
                                for _row, code, fields in diff.changed],
                    "unchanged": diff.unchanged, "removed": list(diff.removed),
                    "cleared": cleared_text(spec, diff.cleared, language)
                    if diff.cleared else None})
    return out


@bp.get("/findings")
@requires(FINDINGS_READ)
def list_findings():
    """The caller's department's findings, filtered by kind and state."""
    kind = request.args.get("kind") if request.args.get("kind") in FINDING_KINDS else None
    state = request.args.get("state") if request.args.get("state") in FINDING_STATES else None
    page = max(1, request.args.get("page", 1, type=int))
    caller = caller_scope()
    with get_ledger().engine.connect() as conn:
        items, total = findings.page(conn, caller.ledger_scope(conn), page_number=page,
                                     per_page=PAGE, kind=kind, state=state,
                                     active_only=request.args.get("all") != "1")
    return render_template("findings.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PAGE)), kind=kind, state=state,
                           kinds=FINDING_KINDS, states=FINDING_STATES,
                           can_write=caller.identity.can(CENSUS_WRITE),
                           error=request.args.get("error"), language=current_language(),
                           kind_labels={k: label_of("finding_kind", k) for k in FINDING_KINDS},
                           state_labels={k: label_of("finding_state", k) for k in FINDING_STATES},
                           census_base=url_for("census.rows") + "/", csrf=csrf_token(),
                           detail_parts=detail_parts, state_reason_text=state_reason_text,
                           zone=get_settings().timezone)


@bp.post("/findings/<int:finding_id>/state")
@requires(FINDINGS_READ, unsafe=CENSUS_WRITE)
def change_state(finding_id: int):
    """Acknowledge, resolve (reason required) or reopen a finding, then back to the list."""
    caller = caller_scope()
    back = {k: v for k, v in request.args.items() if k in ("kind", "state", "page", "all")}
    try:
        with get_ledger().engine.connect() as conn:
            scope = caller.ledger_scope(conn)
        findings.transition(get_ledger().engine, finding_id, request.form.get("state", ""),
                            actor=caller.actor, reason=request.form.get("reason"), scope=scope,
                            algorithm=get_settings().audit_chain, request_id=caller.request_id)
    except findings.FindingError as exc:
        status = 404 if exc.reason == "not_found" else 400
        if status == 404:
            abort(404)
        return redirect(url_for("officer.list_findings", error=findings.message(exc),
                                **back), 303)
    return redirect(url_for("officer.list_findings", done=finding_id, **back), 303)
