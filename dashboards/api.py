"""REST API of the declared census: ``/api/v1/census/...`` (OpenAPI at ``/api/v1/openapi.json``).

- ``GET /census``: the categories and their fields.
- ``GET /census/<category>``: a page of rows; ``page``, ``per_page`` (≤1000), ``q`` (code or
  name contains), ``department`` (owner subtree) and any field as an equality filter.
- ``POST /census/<category>``: declare a row; ``GET|PUT|PATCH|DELETE /census/<category>/<code>``.
- ``POST /census/import``: an xlsx/csv upload (field ``file``) or JSON ``{category: [rows]}``,
  with ``dry_run`` and ``replace``; all or nothing, like the command line.

Values use keys (``in_use``), ISO dates and amounts in 元 as strings; labels and the
census's other spellings are accepted on input. The caller's department scope and the
actor recorded in the change log come from the authenticated identity (an API token or a
session, see :mod:`dashboards.access`); ``X-Department`` and ``X-Actor`` mean nothing.
Reads need ``census.read``, writes ``census.write``. Every call goes through
:class:`ledger.census.service.CensusService`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from flask import Blueprint, abort, jsonify, request, url_for

from dashboards.access import body_limit, caller_scope, requires
from dashboards.errors import json_error
from dashboards.i18n import current_language, translate
from dashboards.openapi import openapi_document
from dashboards.resources import get_settings
from ledger.census.fields import CATEGORIES
from ledger.census.files import FileRejected
from ledger.census.isolate import read_isolated
from ledger.census.messages import message
from ledger.census.planner import CensusError, InputSheet, Plan, clip
from ledger.census.service import CensusRejected, CensusService, Conflict, NotFound
from ledger.census.snapshot import ScopeError
from ledger.census.values import InvalidValue, to_json
from ledger.identity.roles import CENSUS_READ, CENSUS_WRITE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
RESERVED = {"page", "per_page", "q", "department", "lang"}
MAX_PAGE = 1000
MAX_PAGE_NUMBER = 10**9


def _service() -> CensusService:
    return caller_scope().census()


def _json_record(category: str, record: dict) -> dict:
    spec = CATEGORIES[category]
    return {f.key: to_json(f, record.get(f.key)) for f in spec.fields}


def _errors(errors: list[CensusError], status: int = 400):
    return jsonify({"errors": [e.as_dict() for e in errors]}), status


def _category(category: str) -> None:
    if category not in CATEGORIES:
        abort(404)


@bp.errorhandler(CensusRejected)
def _rejected(exc: CensusRejected):
    return _errors(exc.errors)


@bp.errorhandler(ScopeError)
def _bad_scope(exc: ScopeError):
    return jsonify({"errors": [{"reason": str(exc)}]}), 403


@bp.errorhandler(NotFound)
def _not_found(_exc: NotFound):
    return json_error(404, translate("not_found"))


@bp.get("/census")
@requires(CENSUS_READ)
def categories():
    """The census categories and their fields."""
    language = current_language()
    return jsonify({key: {"label": c.label(language), "fields": [
        {"key": f.key, "label": f.label(language), "kind": f.kind, "required": f.required,
         **({"choices": f.choices} if f.choices else {}), **({"ref": f.ref} if f.ref else {})}
        for f in c.fields]} for key, c in CATEGORIES.items()})


@bp.get("/census/<category>")
@requires(CENSUS_READ)
def list_rows(category: str):
    """A page of the caller's rows of ``category``."""
    _category(category)
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PAGE, max(1, int(request.args.get("per_page", 50))))
    except ValueError:
        return json_error(400, translate("page_integers"))
    if page > MAX_PAGE_NUMBER:   # an offset the database cannot take
        return json_error(400, translate("page_integers"))
    spec = CATEGORIES[category]
    filters = {k: v for k, v in request.args.items() if k not in RESERVED}
    unknown = [k for k in filters if k not in spec.by_key]
    if unknown:
        return jsonify({"errors": [{"column": clip(k), "reason": translate("unknown_filter")}
                                   for k in unknown[:20]]}), 400
    try:
        items, total = _service().list(category, filters=filters, search=request.args.get("q"),
                                       department=request.args.get("department"), page=page,
                                       per_page=per_page)
    except InvalidValue as exc:
        return json_error(400, message(exc.reason, current_language(), **exc.params))
    return jsonify({"items": [_json_record(category, r) for r in items], "total": total,
                    "page": page, "per_page": per_page})


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description=translate("json_expected"))
    return body


@bp.post("/census/<category>")
@requires(CENSUS_READ, CENSUS_WRITE)
def create_row(category: str):
    """Declare one row."""
    _category(category)
    try:
        record = _service().create(category, _body())
    except Conflict as exc:
        return jsonify({"errors": [{"column": "code", "value": str(exc),
                                    "reason": "already exists"}]}), 409
    response = jsonify(_json_record(category, record))
    response.status_code = 201
    response.headers["Location"] = url_for("api.read_row", category=category,
                                           code=record["code"])
    return response


@bp.get("/census/<category>/<code>")
@requires(CENSUS_READ)
def read_row(category: str, code: str):
    """One row."""
    _category(category)
    return jsonify(_json_record(category, _service().get(category, code)))


@bp.route("/census/<category>/<code>", methods=["PUT", "PATCH"])
@requires(CENSUS_READ, CENSUS_WRITE)
def update_row(category: str, code: str):
    """Replace (PUT) or patch (PATCH) one row."""
    _category(category)
    record = _service().update(category, code, _body(), partial=request.method == "PATCH")
    return jsonify(_json_record(category, record))


@bp.delete("/census/<category>/<code>")
@requires(CENSUS_READ, CENSUS_WRITE)
def delete_row(category: str, code: str):
    """Remove one row (409 while other rows reference it)."""
    _category(category)
    try:
        _service().delete(category, code)
    except CensusRejected as exc:
        return _errors(exc.errors, 409)
    return "", 204


def _diff_json(plan: Plan) -> dict:
    out = {}
    for key, diff in plan.diffs.items():
        spec = CATEGORIES[key]
        out[key] = {
            "new": [r["code"] for _row, r in diff.new],
            "changed": {code: {f: [to_json(spec.by_key[f], b), to_json(spec.by_key[f], a)]
                               for f, (b, a) in fields.items()}
                        for _row, code, fields in diff.changed},
            "unchanged": diff.unchanged, "removed": diff.removed, "cleared": diff.cleared}
    return out


def _sheets_from_json(body: dict) -> list[InputSheet]:
    """One sheet per category and set of given fields: a field a row leaves out is kept as
    the ledger has it (as a column left out of a workbook), never cleared."""
    sheets = []
    for key, rows in body.items():
        if key not in CATEGORIES or not isinstance(rows, list) or \
                not all(isinstance(r, dict) for r in rows):
            abort(400, description=translate("json_rows_expected").format(key=clip(key, 40)))
        order = [f.key for f in CATEGORIES[key].fields]
        unknown = [CensusError(key, index, field, value,
                               message("unknown_field", current_language()), current_language())
                   for index, row in enumerate(rows, start=1)
                   for field, value in row.items() if field not in order]
        if unknown:
            raise CensusRejected(unknown)
        groups: dict[tuple, list] = {}
        for index, row in enumerate(rows, start=1):
            fields = tuple(sorted(row, key=order.index))
            groups.setdefault(fields, []).append((index, [row[f] for f in fields]))
        for fields, numbered in groups.items():
            sheets.append(InputSheet(key, key, list(fields), list(fields), numbered))
        if not rows:
            sheets.append(InputSheet(key, key, order, order, []))
    return sheets


def _flag(name: str) -> bool | None:
    """A yes/no query parameter (absent: no); None for anything else, which is refused
    rather than read as "no" (``dry_run=on`` must not import for real)."""
    value = request.args.get(name, "false").strip().lower()
    return {"1": True, "true": True, "yes": True,
            "0": False, "false": False, "no": False, "": False}.get(value)


@bp.post("/census/import")
@requires(CENSUS_READ, CENSUS_WRITE)
@body_limit("import_max_body")
def bulk_import():
    """Import a census file or JSON rows, all or nothing."""
    dry_run, replace = _flag("dry_run"), _flag("replace")
    if dry_run is None or replace is None:
        return json_error(400, translate("bad_flag"))
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(400, description=translate("upload_expected"))
        sheets = _read_upload(upload)
        if isinstance(sheets, tuple):
            return sheets
    else:
        if (request.content_length or 0) > get_settings().security.import_max_json:
            return json_error(413, translate("body_too_large"))
        request.max_content_length = get_settings().security.import_max_json
        sheets = _sheets_from_json(_body())
    result = _service().apply(sheets, replace=replace, dry_run=dry_run)
    out = {"applied": result.applied, "dry_run": dry_run, "batch_id": result.batch_id,
           "diff": _diff_json(result.plan)}
    encodings = {sheet.encoding for sheet in sheets if sheet.encoding}
    if encodings:   # the text encoding a CSV upload was read in
        out["encoding"] = encodings.pop()
    return jsonify(out)


def _read_upload(upload):
    """The sheets of an uploaded file, read in a resource-limited child process (a crash
    or a memory bomb ends that process, not the server); or an error response."""
    suffix = re.sub(r"[^.A-Za-z0-9]", "", Path(upload.filename or "").suffix)[:8] or ".xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            return read_isolated(path, category=request.form.get("category"),
                                 language=current_language())
        except FileRejected as exc:
            reason = str(exc).split(": ", 1)[-1]
            return jsonify({"errors": [{"sheet": clip(upload.filename), "reason": reason}]}), \
                400


@bp.get("/openapi.json")
@requires(CENSUS_READ)
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())
