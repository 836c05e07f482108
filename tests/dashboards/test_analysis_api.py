"""The analysis API through the Flask test client: documented shapes, scope, lifecycle."""

from __future__ import annotations

import datetime as dt
import io

import jsonschema
import pytest
from openapi_spec_validator import validate

from collectors.base import Fact
from ledger.observed import record_facts
from tests.dashboards.users import make_token, make_user
from tests.ledger.census.builders import filled_workbook

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def estate(client, app, tmp_path):
    """The sample census, two observed assets (one declared wrongly, one undeclared)."""
    book = filled_workbook(tmp_path / "c.xlsx").read_bytes()
    assert client.post("/api/v1/census/import", data={"file": (io.BytesIO(book), "c.xlsx")},
                       content_type="multipart/form-data").status_code == 200
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        record_facts(session, source="core-sw-1", collector="snmp", seen_at=NOW,
                     tags={"department": "D001"}, facts=[Fact(
                         "device", {"serial_number": "2102351931DMK8000123"},
                         {"vendor": "Huawei", "model": "CE6881"})])
        record_facts(session, source="video-01", collector="host", seen_at=NOW,
                     tags={"department": "D00201"}, facts=[Fact(
                         "host", {"machine_uuid": "0b0b0b0b-1111-4222-8333-444444444444",
                                  "hostname": "shadow"}, {})])
        session.commit()
    response = client.post("/api/v1/reconciliation")
    assert response.status_code == 200, response.json
    return client


def as_user(app, username, roles, department=None):
    """A client calling with a token of a new account holding ``roles``."""
    make_user(app, username, roles, department)
    caller = app.test_client()
    caller.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {make_token(app, username, roles, department)}"
    return caller


def schema(client, name):
    document = client.get("/api/v1/openapi.json").json
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def test_reconciliation_pages_match_the_openapi_document(estate):
    validate(estate.get("/api/v1/openapi.json").json)
    page = estate.get("/api/v1/reconciliation").json
    jsonschema.validate(page, schema(estate, "ReconciliationPage"))
    assert page["summary"] == {"matched": 0, "undeclared": 1, "missing": 2, "suspect": 0,
                               "mismatch": 1, "conflict": 0}
    (mismatch,) = [p for p in page["pairs"] if p["outcome"] == "mismatch"]
    assert mismatch["declared"] == {"category": "device", "code": "DEV01", "department": "D001"}
    assert mismatch["differences"][0]["field"] == "model" and mismatch["state"] == "open"
    only = estate.get("/api/v1/reconciliation?outcome=missing&per_page=1").json
    assert (only["total"], len(only["pairs"])) == (2, 1)
    assert estate.get("/api/v1/reconciliation?outcome=nonsense").status_code == 400
    assert estate.get("/api/v1/reconciliation?page=x").status_code == 400


def test_a_department_sees_only_its_pairs_and_findings(estate, app):
    police = as_user(app, "police.officer", {"data_officer"}, "D002")
    page = police.get("/api/v1/reconciliation").json
    assert {p["declared"]["code"] if p["declared"] else p["observed"]["source"]
            for p in page["pairs"]} == {"DEV02", "video-01"}
    assert page["last_run"] is None or "summary" not in page["last_run"]
    findings = police.get("/api/v1/findings").json
    assert {f["department"] for f in findings["items"]} == {"D00201"}
    other = estate.get("/api/v1/findings?kind=mismatch").json["items"][0]["id"]
    assert police.get(f"/api/v1/findings/{other}").status_code == 404
    assert police.post(f"/api/v1/findings/{other}/state",
                       json={"state": "acknowledged"}).status_code == 404
    assert police.get("/api/v1/reconciliation?department=D001").json["pairs"] == []
    assert estate.get("/api/v1/reconciliation?department=NOPE").status_code == 403
    # Leadership reads the overview figures, not the findings; nobody runs without a role.
    leader = as_user(app, "the.leader", {"leader"})
    assert leader.get("/api/v1/kpi").status_code == 200
    assert leader.get("/api/v1/findings").status_code == 403
    assert leader.post("/api/v1/reconciliation").status_code == 403
    assert app.test_client().get("/api/v1/reconciliation").status_code == 401


def test_findings_are_acknowledged_and_resolved_with_a_reason(estate, app):
    page = estate.get("/api/v1/findings?kind=mismatch").json
    jsonschema.validate(page, schema(estate, "FindingsPage"))
    finding = page["items"][0]
    officer = as_user(app, "li.si", {"data_officer"}, "D001")
    url = f"/api/v1/findings/{finding['id']}/state"
    acked = officer.post(url, json={"state": "acknowledged", "reason": "核实中"},
                         headers={"X-Actor": "forged"})
    assert acked.status_code == 200
    assert acked.json["state"] == "acknowledged"
    assert acked.json["state_changed_by"].startswith("li.si[token ")   # never X-Actor
    refused = officer.post(url, json={"state": "resolved"})
    assert refused.status_code == 400 and "原因" in refused.json["errors"][0]["reason"]
    english = officer.post(url + "?lang=en", json={"state": "resolved"})
    assert "reason" in english.json["errors"][0]["reason"]
    done = officer.post(url, json={"state": "resolved", "reason": "台账已更正"}).json
    assert (done["state"], done["state_reason"]) == ("resolved", "台账已更正")
    assert officer.post(url, json={"state": "acknowledged"}).status_code == 409
    assert officer.post(url, data="x").status_code == 400
    jsonschema.validate(done, schema(estate, "Finding"))
    finance = as_user(app, "fin.wang", {"finance"})
    assert finance.get(f"/api/v1/findings/{finding['id']}").status_code == 200
    assert finance.post(url, json={"state": "open", "reason": "x"}).status_code == 403


def test_compute_migration_and_kpis_are_served(estate, app):
    compute = estate.get("/api/v1/compute?by=arch").json
    jsonschema.validate(compute, schema(estate, "Compute"))
    assert estate.get("/api/v1/compute?by=colour").status_code == 400
    migration = estate.get("/api/v1/migration").json
    jsonschema.validate(migration, schema(estate, "Migration"))
    assert {s["code"] for s in migration["systems"]} == {"IS01", "IS02"}
    police = as_user(app, "police.lead", {"leader"}, "D002").get("/api/v1/migration").json
    assert {s["code"] for s in police["systems"]} == {"IS02"}
    kpi = estate.get("/api/v1/kpi").json
    jsonschema.validate(kpi, schema(estate, "Kpi"))
    assert kpi["ledger_accuracy"]["denominator"] == 3
    assert set(estate.get("/api/v1/analysis/runs").json) == {"reconcile"}


def test_only_an_estate_wide_role_runs_reconciliation(estate, app):
    # A run reads and rewrites every department's findings: a department's data officer
    # (who may only read its own) is refused; the coordinator and an operator may run it.
    officer = as_user(app, "officer.d2", {"data_officer"}, "D002")
    assert officer.post("/api/v1/reconciliation").status_code == 403
    assert officer.get("/api/v1/reconciliation").status_code == 200
    operator = as_user(app, "the.operator", {"operator"})
    assert operator.post("/api/v1/reconciliation").status_code == 200
    coordinator = as_user(app, "the.coordinator", {"census_admin"})
    assert coordinator.post("/api/v1/reconciliation").status_code == 200


def test_a_run_through_the_api_recomputes_what_changed_or_everything(estate):
    """Nothing changed since the fixture's run: nothing recomputed; ``?whole=true`` recomputes
    everything; any other value is refused."""
    again = estate.post("/api/v1/reconciliation")
    assert again.status_code == 200
    assert again.json["recomputed"] == {"whole": False, "observed": 0, "declared": 0}
    whole = estate.post("/api/v1/reconciliation?whole=true")
    assert whole.status_code == 200 and whole.json["recomputed"] == {"whole": True, "why": "asked"}
    assert whole.json["summary"] == again.json["summary"]
    assert estate.post("/api/v1/reconciliation?whole=yes").status_code == 400
