"""Errors in one shape, and request text the ledger can hold.

- Every HTTP error of a program's request (``/api/...``, ``/metrics``, ``/healthz``, or a
  bearer token) is JSON ``{"errors": [{"reason": ...}]}`` in the request's language, the
  same shape the census API uses for its own errors; browsers still get pages.
- JSON bodies are parsed strictly: ``NaN``/``Infinity`` (not JSON), nesting deeper than
  :data:`MAX_DEPTH` and lone UTF-16 surrogates (which no database or UTF-8 encoder takes)
  are a 400, not a value that fails later.
- NUL bytes in the path, the query or form fields are a 400 before any view runs:
  PostgreSQL text cannot hold them, and no census code or name needs them.
- ``<int:...>`` route arguments stop at 2^31 - 1 (a larger id is a 404, not an overflow).

Values that come back in an error are clipped (:func:`core.text.clip`): a
megabyte key is never echoed.
"""

from __future__ import annotations

import json
import math
import re

from flask import Flask, Response, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from core.text import clip
from dashboards.i18n import translate

MAX_DEPTH = 64
MAX_ID = 2**31 - 1   # the ledger's INTEGER primary keys (PostgreSQL's int4)
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJSON(ValueError):
    """A body that is not JSON the API takes."""


def _refuse_constant(name: str):
    raise InvalidJSON(f"{name} is not JSON")


def _check_tree(value) -> None:
    """Depth and surrogates of a parsed body, without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidJSON("nested too deeply")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidJSON("lone surrogate")
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _finite(text: str) -> float:
    """A JSON number as a float, refused when it overflows (``1e999`` would be infinity,
    which the strict parser refuses when spelled ``Infinity``)."""
    value = float(text)
    if math.isinf(value):
        raise InvalidJSON(f"number out of range: {text[:40]}")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but loads refuses what the API cannot store or answer with."""

    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, parse_constant=_refuse_constant, parse_float=_finite,
                               **kwargs)
        except RecursionError:
            raise InvalidJSON("nested too deeply") from None
        _check_tree(value)
        return value


def json_error(status: int, reason: str):
    """The API's error response."""
    from flask import jsonify

    response = jsonify({"errors": [{"reason": reason}]})
    response.status_code = status
    return response


def request_has_nul() -> bool:
    """Whether the path, the query or a form field holds a NUL byte."""
    if "\x00" in request.path:
        return True
    pairs = list(request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        pairs += request.form.items(multi=True)
    return any("\x00" in key or "\x00" in value for key, value in pairs)


class LedgerIdConverter(IntegerConverter):
    """``<int:...>`` in every route: ids are the ledger's INTEGER keys, so a larger number
    is a 404 rather than an overflow in SQLite or PostgreSQL."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Install the id converter, the strict JSON provider and the JSON error handlers
    (before the blueprints are registered)."""
    app.url_map.converters["int"] = LedgerIdConverter
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.json.ensure_ascii = False

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        from dashboards.access import wants_json

        if exc.code is None or exc.code < 400:
            return exc
        if exc.description and exc.description != type(exc).description:
            reason = clip(exc.description, 200)   # worded by the view
        else:
            reason = translate(f"http_{exc.code}")
            reason = exc.name if reason == f"http_{exc.code}" else reason
        if not wants_json():
            return error_page(exc, reason)
        return json_error(exc.code, reason)


def error_page(exc: HTTPException, reason: str) -> Response:
    """The product's own error page in the request's language (not Werkzeug's English
    HTML); a page that cannot be drawn (a broken template) falls back to plain text."""
    try:
        body, mimetype = render_template("refused.html", reason=reason, status=exc.code), \
            "text/html"
    except Exception:   # noqa: BLE001 -- the error page itself must not fail
        body, mimetype = f"{exc.code} {reason}\n", "text/plain"
    response = Response(body, exc.code, mimetype=mimetype)
    for name in ("Allow", "Retry-After"):
        if name in (headers := dict(exc.get_headers())):
            response.headers[name] = headers[name]
    return response
