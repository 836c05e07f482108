"""Schemathesis against the OpenAPI document, in process on the WSGI app with an API token,
a bounded number of examples per operation, on SQLite and PostgreSQL.

Every generated request must get no server error, a status code and content type the
document declares for that operation, a body matching the declared schema, and, for every
error, the API's one error shape: ``{"errors": [{"reason": ...}, ...]}`` as JSON.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from tests.dashboards.users import make_token, make_user
from tests.ledger.census.builders import filled_workbook

EXAMPLES = 10


def errors_in_one_shape(ctx, response, case) -> None:
    """Every 4xx/5xx is JSON ``{"errors": [{"reason": str, ...}]}``."""
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), \
        f"{case.operation.label}: {response.status_code} is not JSON"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"errors"}, body
    assert body["errors"] and all(isinstance(e, dict) and isinstance(e.get("reason"), str)
                                  for e in body["errors"]), body


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, errors_in_one_shape]


@pytest.fixture
def token(app, tmp_path):
    """A census coordinator's token, with the sample census imported."""
    make_user(app, "fuzzer", {"operator", "census_admin"})
    token = make_token(app, "fuzzer", {"operator", "census_admin"})
    book = filled_workbook(tmp_path / "c.xlsx").read_bytes()
    response = app.test_client().post(
        "/api/v1/census/import", headers={"Authorization": f"Bearer {token}"},
        data={"file": (io.BytesIO(book), "c.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    return token


def test_the_api_holds_its_document_under_generated_requests(app, token):
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
