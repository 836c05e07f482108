"""The OpenAPI paths and schemas of the alert API (``dashboards/alerts_api.py``), built from
the alert package's constants so the document cannot drift from the answers."""

from __future__ import annotations

from alerts.const import KINDS, SEVERITIES
from alerts.queries import LIST_STATES

NULLABLE_STRING = {"type": ["string", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def schemas() -> dict:
    """Component schemas of the alert API."""
    alert = {"type": "object", "required": ["id", "rule", "kind", "severity", "state", "labels",
                                            "summary", "active_at"],
             "properties": {
                 "id": {"type": "integer"}, "fingerprint": {"type": "string"},
                 "rule": {"type": "string"}, "kind": {"type": "string", "enum": list(KINDS)},
                 "kind_label": {"type": "string"},
                 "severity": {"type": "string", "enum": list(SEVERITIES)},
                 "severity_label": {"type": "string"},
                 "state": {"type": "string", "enum": list(LIST_STATES)},
                 "state_label": {"type": "string"},
                 "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                 "summary": {"type": "string"}, "value": {"type": ["number", "null"]},
                 "department": NULLABLE_STRING, "data_center": NULLABLE_STRING,
                 "muted_by": NULLABLE_STRING, "active_at": {"type": "string"},
                 "fired_at": NULLABLE_STRING, "resolved_at": NULLABLE_STRING,
                 "last_eval_at": {"type": "string"}}}
    detail = {"allOf": [_ref("Alert"), {"type": "object", "properties": {
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "at": {"type": "string"}, "state": {"type": "string"},
            "value": {"type": ["number", "null"]}, "note": NULLABLE_STRING}}},
        "samples": {"type": "array", "items": {"type": "object", "properties": {
            "measurement": {"type": "string"}, "field": {"type": "string"},
            "tags": {"type": "object"},
            "points": {"type": "array", "items": {"type": "array", "items": {
                "type": "number"}, "minItems": 2, "maxItems": 2}}}}}}}]}
    silence = {"type": "object", "required": ["id", "matchers", "starts_at", "ends_at",
                                              "created_by", "comment", "status"],
               "properties": {"id": {"type": "integer"},
                              "matchers": {"type": "array", "items": {"type": "string"}},
                              "starts_at": {"type": "string"}, "ends_at": {"type": "string"},
                              "created_by": {"type": "string"}, "comment": {"type": "string"},
                              "created_at": {"type": "string"},
                              "status": {"type": "string",
                                         "enum": ["pending", "active", "expired"]},
                              "expired_by": NULLABLE_STRING, "expired_at": NULLABLE_STRING}}
    return {"Alert": alert, "AlertDetail": detail, "Silence": silence,
            "AlertsPage": {"type": "object", "required": ["items", "total", "counts"],
                           "properties": {"items": {"type": "array", "items": _ref("Alert")},
                                          "total": {"type": "integer"},
                                          "page": {"type": "integer"},
                                          "per_page": {"type": "integer"},
                                          "counts": {"type": "object", "additionalProperties":
                                                     {"type": "integer"}}}},
            "Silences": {"type": "object", "properties": {
                "items": {"type": "array", "items": _ref("Silence")}}}}


def paths(error) -> dict:
    """Paths of the alert API; ``error`` builds an error response."""
    def query(name: str, schema: dict) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema}
    alert_id = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    silence_id = {"name": "silence_id", "in": "path", "required": True,
                  "schema": {"type": "integer"}}
    return {
        "/alerts": {"get": {
            "operationId": "list_alerts", "summary": "alerts (告警) in the caller's scope",
            "parameters": [query("state", {"type": "array", "items": {
                "type": "string", "enum": list(LIST_STATES)}}),
                query("severity", {"type": "string", "enum": list(SEVERITIES)}),
                query("department", {"type": "string"}), query("data_center", {"type": "string"}),
                query("page", {"type": "integer", "minimum": 1}),
                query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000})],
            "responses": {"200": _json("AlertsPage", "a page of alerts"),
                          "400": error("bad parameter"), "403": error("not allowed")}}},
        "/alerts/{alert_id}": {"parameters": [alert_id], "get": {
            "operationId": "read_alert", "summary": "one alert, its history and samples",
            "responses": {"200": _json("AlertDetail", "the alert"),
                          "404": error("not found")}}},
        "/silences": {
            "get": {"operationId": "list_silences", "summary": "silences (静默)",
                    "responses": {"200": _json("Silences", "every silence")}},
            "post": {"operationId": "create_silence", "summary": "silence alerts",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"type": "object", "required": ["matchers", "comment"],
                                    "properties": {
                                        "matchers": {"type": "array",
                                                     "items": {"type": "string"}},
                                        "starts_at": {"type": "string"},
                                        "ends_at": {"type": "string"},
                                        "duration": {"type": "string"},
                                        "comment": {"type": "string"}}}}}},
                     "responses": {"201": _json("Silence", "created"),
                                   "400": error("bad matcher, time or comment")}}},
        "/silences/{silence_id}": {"parameters": [silence_id], "delete": {
            "operationId": "expire_silence", "summary": "end a silence now",
            "responses": {"200": _json("Silence", "expired"), "404": error("not found")}}},
    }
