"""Every GET route of the app (taken from ``app.url_map``, so later routes are included)
requested with hostile path arguments and hostile query values one at a time: never a
server error, and under ``/api/`` always the one JSON error shape; on SQLite and
PostgreSQL."""

from __future__ import annotations

import urllib.parse

from flask import url_for

HOSTILE = ["%20", "%E3%80%80", "x" * 3000, "%ED%A0%80", "-1", "1e30",
           "99999999999999999999999", "%7B%7D", "..%2F..%2Fetc", "%F0%9F%92%A5"]
IN_QUERY = ["x" * 3000, "-1", "99999999999999999999999", "%ED%A0%80"]
QUERY = ("page", "per_page", "department", "range", "q", "category", "kind", "state",
         "outcome", "by", "active", "format", "lang", "next", "code", "vendor", "dry_run")


def test_no_get_route_fails_on_hostile_input(app, client):
    rules = [rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and rule.endpoint != "static"]
    assert len(rules) > 20
    seen = set()
    for rule in rules:
        requests = []
        for value in HOSTILE:
            path = _build(app, rule, {name: urllib.parse.unquote(value)
                                      for name in rule.arguments})
            if path:
                requests.append(path)
        plain = _build(app, rule, {name: "DEV01" if name == "code" else "device"
                                   for name in rule.arguments}) or \
            _build(app, rule, {name: 1 for name in rule.arguments})
        requests += [f"{plain}?{name}={value}" for name in QUERY for value in IN_QUERY]
        for path in requests:
            response = client.get(path)
            assert response.status_code < 500, (path[:200], response.status_code)
            seen.add(response.status_code)
            if path.startswith("/api/") and response.status_code >= 400:
                assert response.mimetype == "application/json", path[:200]
                assert set(response.json) == {"errors"}, path[:200]
    assert {200, 400, 404} <= seen, seen


def _build(app, rule, args) -> str | None:
    """The rule's path with ``args``, or None if its converters take no such values."""
    with app.test_request_context():
        try:
            return url_for(rule.endpoint, **args)
        except (ValueError, TypeError, LookupError):
            return None
        except Exception as exc:   # werkzeug's BuildError
            if type(exc).__name__ == "BuildError":
                return None
            raise
