"""The OpenAPI 3.1 document of the API, built from the census field definitions and the
analyses' constants (``dashboards/openapi_analysis.py``)."""

from __future__ import annotations

from dashboards import openapi_alerts, openapi_analysis
from ledger.census.const import CHOICES
from ledger.census.fields import CATEGORIES, Field

ERRORS = {"type": "object", "properties": {"errors": {"type": "array", "items": {
    "type": "object", "properties": {
        "sheet": {"type": ["string", "null"]}, "row": {"type": ["integer", "null"]},
        "column": {"type": ["string", "null"]}, "value": {},
        "reason": {"type": "string"}}}}}}


#: An API token (the caller's roles and department scope come from it), or the browser
#: session cookie with the CSRF token in a header for state-changing calls.
SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "ilt_…",
               "description": "API token from the account page or 'monitor user token create'"},
    "session": {"type": "apiKey", "in": "cookie", "name": "il_session"},
    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
             "description": "required with the session cookie on POST, PUT, PATCH, DELETE"},
}


def _field_schema(spec: Field) -> dict:
    schema = {
        "text": {"type": "string", "maxLength": spec.max_length},
        "int": {"type": "integer", "minimum": 0}, "float": {"type": "number", "minimum": 0},
        "bool": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
        "money": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$",
                  "description": "amount in 元 (CNY)"},
        "level": {"type": "integer", "minimum": 1, "maximum": 5},
        "choice": {"type": "string", "enum": [c[0] for c in CHOICES.get(spec.choices or "", ())]},
        "ref": {"type": "string", "description": f"code of a {spec.ref} row"},
        "ip": {"type": "string"}, "mac": {"type": "string"},
    }[spec.kind]
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "title": spec.zh, "description": spec.en}


def _schemas() -> dict:
    schemas = {"Errors": ERRORS, **openapi_analysis.schemas(), **openapi_alerts.schemas()}
    for key, category in CATEGORIES.items():
        schemas[key] = {
            "type": "object", "title": category.zh, "description": category.en,
            "properties": {f.key: _field_schema(f) for f in category.fields},
            "required": [f.key for f in category.fields if f.required],
            "additionalProperties": False}
        schemas[f"{key}_page"] = {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{key}"}},
            "total": {"type": "integer"}, "page": {"type": "integer"},
            "per_page": {"type": "integer"}}}
    return schemas


def _json(ref: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _error(description: str) -> dict:
    return {"description": description, **_json("Errors")}


def _paths() -> dict:
    paths = {}
    for key, category in CATEGORIES.items():
        filters = [{"name": f.key, "in": "query", "required": False,
                    "schema": {"type": "string"}} for f in category.fields
                   if f.key != "department"]  # ?department= is the owner subtree
        paths[f"/census/{key}"] = {
            "get": {"operationId": f"list_{key}", "summary": f"list {category.en}",
                    "parameters": [{"name": "page", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1,
                                               "maximum": 10**9}},
                                   {"name": "per_page", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1,
                                               "maximum": 1000}},
                                   {"name": "q", "in": "query", "schema": {"type": "string"}},
                                   {"name": "department", "in": "query",
                                    "schema": {"type": "string"}}, *filters],
                    "responses": {"200": {"description": "a page", **_json(f"{key}_page")},
                                  "400": _error("bad filter")}},
            "post": {"operationId": f"create_{key}", "summary": f"declare one of {category.en}",
                     "requestBody": {"required": True, **_json(key)},
                     "responses": {"201": {"description": "created", **_json(key)},
                                   "400": _error("invalid row"), "409": _error("code exists")}},
        }
        item = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
        paths[f"/census/{key}/{{code}}"] = {
            "parameters": [item],
            "get": {"operationId": f"read_{key}", "responses": {
                "200": {"description": "the row", **_json(key)}, "404": _error("no such row")}},
            "put": {"operationId": f"replace_{key}", "requestBody": {"required": True,
                                                                    **_json(key)},
                    "responses": {"200": {"description": "replaced", **_json(key)},
                                  "400": _error("invalid row"), "404": _error("no such row")}},
            "patch": {"operationId": f"patch_{key}", "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "patched", **_json(key)},
                              "400": _error("invalid row"), "404": _error("no such row")}},
            "delete": {"operationId": f"delete_{key}", "responses": {
                "204": {"description": "removed"}, "404": _error("no such row"),
                "409": _error("still referenced")}},
        }
    paths["/census/import"] = {"post": {
        "operationId": "bulk_import", "summary": "import census rows, all or nothing",
        "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "boolean"}},
                       {"name": "replace", "in": "query", "schema": {"type": "boolean"}}],
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"},
                "category": {"type": "string"}}}},
            "application/json": {"schema": {"type": "object", "properties": {
                key: {"type": "array", "items": {"type": "object"}} for key in CATEGORIES}}}}},
        "responses": {"200": {"description": "the diff, and whether it was applied"},
                      "400": _error("errors; nothing written")}}}
    paths.update(openapi_analysis.paths(_error))
    paths.update(openapi_alerts.paths(_error))
    paths["/zones/ingest"] = _ingest_path()
    return paths


#: Errors any operation may answer, in the one error shape: a request the API cannot take,
#: no identity, a permission or department scope the caller lacks.
COMMON_ERRORS = {"400": "bad request", "401": "no valid token or session",
                 "403": "permission or department scope missing"}


def _with_common_errors(paths: dict) -> dict:
    """Declare the errors every operation can answer (and 404/413 where they apply)."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            for status, text in COMMON_ERRORS.items():
                responses.setdefault(status, _error(text))
            if "{" in path:
                responses.setdefault("404", _error("no such row"))
            if method in ("post", "put", "patch"):
                responses.setdefault("413", _error("request body too large"))
    return paths


def _ingest_path() -> dict:
    """A zone collector's delivery (``dashboards/zones.py``; record forms in ledger/zones.py)."""
    collector = {"type": "object", "required": ["member", "zone", "hostname", "version"],
                 "properties": {name: {"type": "string"} for name in
                                ("member", "zone", "hostname", "version")} | {
                     name: {"type": "integer"} for name in
                     ("targets_owned", "backlog_samples", "backlog_records")}}
    record = {"type": "object", "required": ["key", "type"], "properties": {
        "key": {"type": "string", "maxLength": 64},
        "type": {"type": "string", "enum": ["poll", "facts"]}}}
    body = {"type": "object", "required": ["collector", "records"], "properties": {
        "collector": collector, "records": {"type": "array", "items": record}}}
    answer = {"type": "object", "properties": {"applied": {"type": "integer"},
                                               "duplicates": {"type": "integer"}}}
    return {"post": {
        "operationId": "zone_ingest",
        "summary": "apply a zone collector's poll outcomes and facts, each key once "
                   "(role zone_collector)",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "applied and replayed records",
                              "content": {"application/json": {"schema": answer}}},
                      "409": _error("the same batch is being applied; retry"),
                      "422": _error("a malformed record or another zone's target; "
                                    "nothing applied")}}}


def openapi_document() -> dict:
    """The whole OpenAPI document."""
    return {"openapi": "3.1.0",
            "info": {"title": "Infra Ledger API (政务云网算力一本账): census, analyses and alerts",
                     "version": "1"},
            "servers": [{"url": "/api/v1"}], "paths": _with_common_errors(_paths()),
            "security": [{"bearer": []}, {"session": [], "csrf": []}],
            "components": {"schemas": _schemas(), "securitySchemes": SECURITY}}
