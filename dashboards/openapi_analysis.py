"""The OpenAPI paths and schemas of the analysis API (``dashboards/analysis_api.py``).

Built from the same constants the ledger uses (outcomes, finding kinds and states,
compute dimensions), so the document cannot drift from what the API returns.
"""

from __future__ import annotations

from ledger.compute import DIMENSIONS
from ledger.const import FINDING_KINDS, FINDING_STATES, OUTCOMES

NULLABLE_STRING = {"type": ["string", "null"]}
COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def schemas() -> dict:
    """Component schemas of the analysis API."""
    difference = {"type": "object", "required": ["field", "declared", "observed"],
                  "properties": {"field": {"type": "string"}, "declared": {}, "observed": {},
                                 "source": NULLABLE_STRING, "time": NULLABLE_STRING}}
    pair = {"type": "object", "required": ["outcome", "state", "declared", "observed",
                                           "matched_by", "differences", "first_seen",
                                           "last_seen"],
            "properties": {
                "outcome": {"type": "string", "enum": list(OUTCOMES)},
                "state": {"type": ["string", "null"], "enum": [*FINDING_STATES, None]},
                "declared": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {
                    "category": {"type": "string"}, "code": {"type": "string"},
                    "department": NULLABLE_STRING}}]},
                "observed": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {
                    "source": {"type": "string"}, "kind": {"type": "string"},
                    "keys": {"type": "object"},
                    "also_seen_by": {"type": "array", "items": {"type": "string"}}}}]},
                "matched_by": NULLABLE_STRING,
                "differences": {"type": "array", "items": _ref("Difference")},
                "note": NULLABLE_STRING, "first_seen": NULLABLE_STRING,
                "last_seen": NULLABLE_STRING}}
    finding = {"type": "object", "required": ["id", "kind", "state", "active", "first_seen",
                                              "last_seen"],
               "properties": {
                   "id": {"type": "integer"}, "kind": {"type": "string",
                                                       "enum": list(FINDING_KINDS)},
                   "state": {"type": "string", "enum": list(FINDING_STATES)},
                   "active": {"type": "boolean"}, "department": NULLABLE_STRING,
                   "declared": {"type": ["object", "null"]},
                   "observed": {"type": ["object", "null"]}, "field": NULLABLE_STRING,
                   "details": {"type": "object"},
                   "amount": {"type": ["string", "null"], "description": "元 (CNY)"},
                   "first_seen": {"type": "string"}, "last_seen": {"type": "string"},
                   "state_changed_at": {"type": "string"},
                   "state_changed_by": {"type": "string"}, "state_reason": NULLABLE_STRING,
                   "reopened": {"type": "integer"}}}
    page = {"type": "integer"}
    return {
        "Difference": difference, "Pair": pair, "Finding": finding,
        "ReconciliationPage": {"type": "object", "required": ["summary", "pairs", "total"],
                               "properties": {"summary": COUNTS, "total": page, "page": page,
                                              "per_page": page,
                                              "pairs": {"type": "array", "items": _ref("Pair")},
                                              "last_run": {"type": ["object", "null"]}}},
        "FindingsPage": {"type": "object", "required": ["items", "total"], "properties": {
            "items": {"type": "array", "items": _ref("Finding")}, "total": page,
            "page": page, "per_page": page}},
        "Compute": {"type": "object", "required": ["by", "totals", "groups", "composition"],
                    "properties": {"by": {"type": "string", "enum": list(DIMENSIONS)},
                                   "as_of": {"type": "string"}, "totals": {"type": "object"},
                                   "groups": {"type": "array", "items": {"type": "object"}},
                                   "composition": {"type": "array",
                                                   "items": {"type": "object"}},
                                   "domestic_share": {"type": ["number", "null"]},
                                   "unknown_cpu_models": {"type": "array"},
                                   "flops_sources": {"type": "array"},
                                   "models_without_flops": {"type": "array"},
                                   "utilization": {"type": "object"}}},
        "Migration": {"type": "object", "required": ["rates", "systems", "networks",
                                                     "data_centers"],
                      "properties": {key: {"type": "array", "items": {"type": "object"}}
                                     for key in ("systems", "networks", "data_centers",
                                                 "overdue")} |
                      {"rates": {"type": "object"}, "by_department": {"type": "object"},
                       "by_region": {"type": "object"}}},
        "Kpi": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "value": {}, "target": {"type": ["number", "null"]},
            "met": {"type": ["boolean", "null"]}}}},
    }


def paths(error) -> dict:
    """Paths of the analysis API; ``error`` builds an error response. The caller's scope
    comes from its identity (the document's security schemes)."""
    def query(name: str, schema: dict) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema}
    paging = [query("page", {"type": "integer", "minimum": 1, "maximum": 10**9}),
              query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000}),
              query("department", {"type": "string"})]
    finding_id = {"name": "finding_id", "in": "path", "required": True,
                  "schema": {"type": "integer"}}
    return {
        "/reconciliation": {
            "get": {"operationId": "reconciliation", "summary": "reconciliation pairs",
                    "parameters": [*paging,
                                   query("outcome", {"type": "string", "enum": list(OUTCOMES)})],
                    "responses": {"200": _json("ReconciliationPage", "summary and a page"),
                                  "400": error("bad parameter"), "403": error("bad scope")}},
            "post": {"operationId": "reconcile", "summary": "run reconciliation now",
                     "parameters": [query("whole", {"type": "string",
                                                    "enum": ["true", "false"]})],
                     "responses": {"200": {"description": "summary of the run"},
                                   "400": error("bad parameter"),
                                   "403": error("not allowed")}}},
        "/findings": {"get": {
            "operationId": "list_findings", "summary": "findings",
            "parameters": [*paging,
                           query("kind", {"type": "string", "enum": list(FINDING_KINDS)}),
                           query("state", {"type": "string", "enum": list(FINDING_STATES)}),
                           query("active", {"type": "string", "enum": ["true", "false",
                                                                       "all"]})],
            "responses": {"200": _json("FindingsPage", "a page of findings"),
                          "400": error("bad parameter")}}},
        "/findings/{finding_id}": {"parameters": [finding_id], "get": {
            "operationId": "read_finding",
            "responses": {"200": _json("Finding", "the finding"), "404": error("not found")}}},
        "/findings/{finding_id}/state": {"parameters": [finding_id], "post": {
            "operationId": "transition_finding", "summary": "acknowledge, resolve or reopen",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["state"], "properties": {
                    "state": {"type": "string", "enum": list(FINDING_STATES)},
                    "reason": {"type": "string"}}}}}},
            "responses": {"200": _json("Finding", "the finding after the change"),
                          "400": error("reason missing or bad body"),
                          "404": error("not found"), "409": error("transition not allowed")}}},
        "/compute": {"get": {
            "operationId": "compute_ledger", "summary": "the compute ledger (算力一本账)",
            "parameters": [query("department", {"type": "string"}),
                           query("by", {"type": "string", "enum": list(DIMENSIONS)})],
            "responses": {"200": _json("Compute", "totals, groups, composition")}}},
        "/migration": {"get": {
            "operationId": "migration", "summary": "migration and consolidation progress",
            "parameters": [query("department", {"type": "string"})],
            "responses": {"200": _json("Migration", "progress with evidence")}}},
        "/kpi": {"get": {"operationId": "kpi", "summary": "KPIs against their targets",
                         "parameters": [query("department", {"type": "string"})],
                         "responses": {"200": _json("Kpi", "the KPIs")}}},
        "/analysis/runs": {"get": {"operationId": "analysis_runs",
                                   "responses": {"200": {"description": "newest runs"}}}},
    }
