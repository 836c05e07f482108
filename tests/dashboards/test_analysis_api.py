"""The analysis API through the Flask test client: documented shapes, scope, lifecycle."""

from __future__ import annotations

import datetime as dt
import io

import jsonschema
import pytest
from openapi_spec_validator import validate

from collectors.base import Fact
from ledger.observed import record_facts
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


def test_a_department_sees_only_its_pairs_and_findings(estate):
    police = {"X-Department": "D002"}
    page = estate.get("/api/v1/reconciliation", headers=police).json
    assert {p["declared"]["code"] if p["declared"] else p["observed"]["source"]
            for p in page["pairs"]} == {"DEV02", "video-01"}
    assert page["last_run"] is None or "summary" not in page["last_run"]
    findings = estate.get("/api/v1/findings", headers=police).json
    assert {f["department"] for f in findings["items"]} == {"D00201"}
    other = estate.get("/api/v1/findings?kind=mismatch").json["items"][0]["id"]
    assert estate.get(f"/api/v1/findings/{other}", headers=police).status_code == 404
    assert estate.post(f"/api/v1/findings/{other}/state", headers=police,
                       json={"state": "acknowledged"}).status_code == 404
    assert estate.get("/api/v1/reconciliation",
                      headers={"X-Department": "NOPE"}).status_code == 403


def test_findings_are_acknowledged_and_resolved_with_a_reason(estate):
    page = estate.get("/api/v1/findings?kind=mismatch").json
    jsonschema.validate(page, schema(estate, "FindingsPage"))
    finding = page["items"][0]
    url = f"/api/v1/findings/{finding['id']}/state"
    acked = estate.post(url, json={"state": "acknowledged", "reason": "核实中"},
                        headers={"X-Actor": "李四"})
    assert acked.status_code == 200
    assert (acked.json["state"], acked.json["state_changed_by"]) == ("acknowledged", "李四")
    refused = estate.post(url, json={"state": "resolved"})
    assert refused.status_code == 400 and "原因" in refused.json["errors"][0]["reason"]
    english = estate.post(url + "?lang=en", json={"state": "resolved"})
    assert "reason" in english.json["errors"][0]["reason"]
    done = estate.post(url, json={"state": "resolved", "reason": "台账已更正"}).json
    assert (done["state"], done["state_reason"]) == ("resolved", "台账已更正")
    assert estate.post(url, json={"state": "acknowledged"}).status_code == 409
    assert estate.post(url, data="x").status_code == 400
    jsonschema.validate(done, schema(estate, "Finding"))


def test_compute_migration_and_kpis_are_served(estate):
    compute = estate.get("/api/v1/compute?by=arch").json
    jsonschema.validate(compute, schema(estate, "Compute"))
    assert estate.get("/api/v1/compute?by=colour").status_code == 400
    migration = estate.get("/api/v1/migration").json
    jsonschema.validate(migration, schema(estate, "Migration"))
    assert {s["code"] for s in migration["systems"]} == {"IS01", "IS02"}
    police = estate.get("/api/v1/migration", headers={"X-Department": "D002"}).json
    assert {s["code"] for s in police["systems"]} == {"IS02"}
    kpi = estate.get("/api/v1/kpi").json
    jsonschema.validate(kpi, schema(estate, "Kpi"))
    assert kpi["ledger_accuracy"]["denominator"] == 3
    assert set(estate.get("/api/v1/analysis/runs").json) == {"reconcile"}
