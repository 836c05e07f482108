"""The census REST API through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import jsonschema
import pytest
from openapi_spec_validator import validate

from ledger.census.audit import verify
from tests.dashboards.users import make_token, make_user
from tests.ledger.census.builders import filled_workbook


@pytest.fixture
def loaded(client, tmp_path):
    """The sample census uploaded through the bulk import endpoint."""
    book = filled_workbook(tmp_path / "c.xlsx").read_bytes()
    response = client.post("/api/v1/census/import", data={
        "file": (io.BytesIO(book), "普查表.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    assert response.json["applied"] and response.json["diff"]["device"]["new"] == ["DEV01",
                                                                                  "DEV02"]
    return client


def schema_of(client, name: str) -> dict:
    document = client.get("/api/v1/openapi.json").json
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def test_openapi_document_is_valid_and_describes_responses(loaded):
    document = loaded.get("/api/v1/openapi.json").json
    validate(document)
    assert "/census/device/{code}" in document["paths"]
    page = loaded.get("/api/v1/census/device").json
    jsonschema.validate(page, schema_of(loaded, "device_page"))
    for category in ("data_center", "information_system", "cloud_resource", "dr_pair"):
        for item in loaded.get(f"/api/v1/census/{category}").json["items"]:
            jsonschema.validate(item, schema_of(loaded, category))


def test_list_filters_search_and_pages(loaded):
    first = loaded.get("/api/v1/census/device?per_page=1").json
    assert (first["total"], [i["code"] for i in first["items"]]) == (2, ["DEV01"])
    second = loaded.get("/api/v1/census/device?per_page=1&page=2").json
    assert [i["code"] for i in second["items"]] == ["DEV02"]
    assert [i["code"] for i in loaded.get(
        "/api/v1/census/device?status=闲置").json["items"]] == ["DEV02"]
    assert [i["code"] for i in loaded.get(
        "/api/v1/census/device?data_center=DC01").json["items"]] == ["DEV01"]
    assert loaded.get("/api/v1/census/device?data_center=DC99").json["total"] == 0
    assert [i["code"] for i in loaded.get(
        "/api/v1/census/device?q=核心").json["items"]] == ["DEV01"]
    assert [i["code"] for i in loaded.get(
        "/api/v1/census/device?department=D002").json["items"]] == ["DEV02"]
    item = loaded.get("/api/v1/census/data_center/DC01").json
    assert (item["total_investment"], item["build_date"], item["consolidation_status"]) == \
        ("12345000.00", "2018-05-01", "in_use")
    assert loaded.get("/api/v1/census/device?colour=red").status_code == 400
    assert loaded.get("/api/v1/census/device?status=broken").status_code == 400
    assert loaded.get("/api/v1/census/nothing").status_code == 404


def test_create_update_patch_delete_are_audited(loaded, ledger, settings):
    body = {"code": "DEV20", "name": "汇聚交换机", "department": "D001", "device_type": "switch",
            "status": "in_use", "vendor": "Ruijie", "serial_number": "G1PD12345",
            "purchase_price": "8.5万元", "purchase_date": "2023年3月"}
    created = loaded.post("/api/v1/census/device", json=body, headers={"X-Actor": "李四"})
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/api/v1/census/device/DEV20")
    assert (created.json["purchase_price"], created.json["purchase_date"]) == \
        ("85000.00", "2023-03-01")
    assert loaded.post("/api/v1/census/device", json=body).status_code == 409
    unknown = loaded.patch("/api/v1/census/device/DEV20", json={"colour": "red"})
    assert unknown.status_code == 400 and unknown.json["errors"][0]["column"] == "colour"
    renamed = loaded.patch("/api/v1/census/device/DEV20", json={"code": "DEV21"})
    assert renamed.status_code == 400 and renamed.json["errors"][0]["column"] == "code"
    patched = loaded.patch("/api/v1/census/device/DEV20", json={"status": "闲置"})
    assert (patched.status_code, patched.json["status"], patched.json["vendor"]) == \
        (200, "idle", "Ruijie")
    replaced = loaded.put("/api/v1/census/device/DEV20", json={
        "name": "汇聚交换机", "department": "D001", "device_type": "switch", "status": "spare"})
    assert (replaced.json["status"], replaced.json["vendor"]) == ("spare", None)
    assert loaded.delete("/api/v1/census/device/DEV20").status_code == 204
    assert loaded.get("/api/v1/census/device/DEV20").status_code == 404
    with ledger.engine.connect() as conn:
        result = verify(conn, chain=settings.audit_chain)
        rows = conn.exec_driver_sql(
            "SELECT action, actor, changes FROM audit_record WHERE object_key = 'DEV20' "
            "ORDER BY seq").all()
    assert result.problems == []
    assert [r[0] for r in rows] == ["create", "update", "update", "delete"]
    assert rows[0][1] == "tester[token 1]"   # the identity, never the X-Actor header


def test_errors_name_the_field_and_value(loaded):
    bad = loaded.post("/api/v1/census/device", json={
        "code": "DEV21", "name": "x", "department": "D999", "device_type": "switch",
        "status": "in_use", "mac": "zz:zz"})
    assert bad.status_code == 400
    found = {(e["column"], e["value"]) for e in bad.json["errors"]}
    assert found == {("department", "D999"), ("mac", "zz:zz")}
    english = loaded.post("/api/v1/census/device?lang=en", json={"code": "DEV22", "colour": "red"})
    assert english.json["errors"][0]["reason"] == "unknown field"
    busy = loaded.delete("/api/v1/census/cloud_platform/CP01")
    assert busy.status_code == 409
    assert any("VM01" in e["reason"] for e in busy.json["errors"])


def test_department_scope_comes_from_the_token(loaded, app):
    make_user(app, "police", {"data_officer"}, "D002")
    police = {"Authorization": f"Bearer {make_token(app, 'police', {'data_officer'}, 'D002')}",
              "X-Department": "D001"}   # a header naming another department changes nothing
    assert [i["code"] for i in loaded.get("/api/v1/census/device", headers=police)
            .json["items"]] == ["DEV02"]
    assert loaded.get("/api/v1/census/device/DEV01", headers=police).status_code == 404
    denied = loaded.patch("/api/v1/census/device/DEV02", headers=police,
                          json={"department": "D001"})
    assert denied.status_code == 400
    # The department of a token whose department was removed from the census: refused.
    make_user(app, "gone", {"finance"}, "D00201")
    gone = make_token(app, "gone", {"finance"}, "D00201")
    assert loaded.delete("/api/v1/census/device/DEV02").status_code == 204
    assert loaded.delete("/api/v1/census/department/D00201").status_code == 204
    assert loaded.get("/api/v1/census/device", headers={
        "Authorization": f"Bearer {gone}"}).status_code == 403


def test_identity_keys_are_unique_across_departments_without_naming_the_other(loaded, app):
    # A department declaring another department's server by its serial (vendor left blank,
    # or another vendor) would steal it in reconciliation: refused, naming no code.
    make_user(app, "police2", {"data_officer"}, "D002")
    police = {"Authorization": f"Bearer {make_token(app, 'police2', {'data_officer'}, 'D002')}"}
    for extra in ({}, {"vendor": "Inspur"}, {"serial_number": "x", "mac": "00:11:22:aa:bb:cc"}):
        row = {"code": "EV8", "name": "x", "department": "D002", "device_type": "server",
               "status": "in_use", "serial_number": "2102351931DMK8000123", **extra}
        refused = loaded.post("/api/v1/census/device", headers=police, json=row)
        assert refused.status_code == 400, refused.json
        assert "DEV01" not in refused.get_data(as_text=True)
        assert "其他部门" in refused.json["errors"][0]["reason"]
    assert loaded.get("/api/v1/census/device/EV8").status_code == 404


def test_references_resolve_within_the_callers_subtree_or_shared_rows(loaded, app):
    # D002 may host its device in D001's data center (shared infrastructure) but cannot hang
    # it on D001's information system; "not yours" reads exactly like "does not exist".
    make_user(app, "police3", {"data_officer"}, "D002")
    police = {"Authorization": f"Bearer {make_token(app, 'police3', {'data_officer'}, 'D002')}"}
    row = {"code": "EV9", "name": "x", "department": "D002", "device_type": "server",
           "status": "in_use"}
    reasons = {}
    for system in ("IS01", "IS99"):
        refused = loaded.post("/api/v1/census/device", headers=police,
                              json={**row, "information_system": system})
        assert refused.status_code == 400, refused.json
        (error,) = refused.json["errors"]
        reasons[system] = error["reason"]
    assert reasons["IS01"] == reasons["IS99"] == "引用的信息系统不存在"
    mine = loaded.post("/api/v1/census/device", headers=police,
                       json={**row, "information_system": "IS02", "data_center": "DC01"})
    assert mine.status_code in (200, 201), mine.json
    # The coordinator (unscoped) links across departments as before.
    assert loaded.patch("/api/v1/census/device/EV9",
                        json={"information_system": "IS01"}).status_code == 200
    # ... and the department keeps that reference when it changes something else.
    assert loaded.patch("/api/v1/census/device/EV9", headers=police,
                        json={"name": "y"}).status_code == 200


@pytest.mark.parametrize("flag", ["dry_run=on", "dry_run=2", "replace=maybe", "dry_run=是"])
def test_a_yes_no_parameter_takes_only_yes_or_no(loaded, flag):
    rows = {"device": [{"code": "DEV01", "name": "核心交换机", "department": "D001",
                        "device_type": "switch", "status": "idle"}]}
    refused = loaded.post(f"/api/v1/census/import?{flag}", json=rows)
    assert refused.status_code == 400 and "true/false" in refused.json["errors"][0]["reason"]
    assert loaded.get("/api/v1/census/device/DEV01").json["status"] == "in_use"
    assert loaded.post("/api/v1/census/import?dry_run=no&replace=0",
                       json=rows).json["applied"] is True


def test_bulk_json_import_dry_run_and_bad_upload(loaded):
    rows = {"device": [{"code": "DEV01", "name": "核心交换机", "department": "D001",
                        "device_type": "switch", "status": "idle"}]}
    dry = loaded.post("/api/v1/census/import?dry_run=1", json=rows).json
    assert (dry["applied"], dry["diff"]["device"]["changed"]) == (
        False, {"DEV01": {"status": ["in_use", "idle"]}})
    assert loaded.get("/api/v1/census/device/DEV01").json["status"] == "in_use"
    # A field a row leaves out is kept, whatever the other rows carry.
    mixed = {"device": [{"code": "DEV01", "name": "核心交换机", "department": "D001",
                         "device_type": "switch", "status": "idle"},
                        {"code": "DEV02", "name": "视频存储服务器", "department": "D00201",
                         "device_type": "server", "status": "idle", "vendor": "Inspur"}]}
    applied = loaded.post("/api/v1/census/import", json=mixed).json
    assert applied["diff"]["device"]["changed"] == {"DEV01": {"status": ["in_use", "idle"]}}
    assert loaded.get("/api/v1/census/device/DEV01").json["vendor"] == "Huawei"
    unknown = loaded.post("/api/v1/census/import", json={"device": [{"code": "X", "colour": 1}]})
    assert unknown.status_code == 400
    upload = loaded.post("/api/v1/census/import", data={
        "file": (io.BytesIO(b"not a workbook"), "x.xlsx")}, content_type="multipart/form-data")
    assert upload.status_code == 400
    assert "不是有效的 Excel 工作簿" in upload.json["errors"][0]["reason"]


@pytest.mark.parametrize("field, value, reason", [
    ("name", ["a"], "expected a single value, not a list or object"),
    ("code", True, "expected text, not true/false"),
    ("code", "DEV/30", "cannot contain '/'"),
    ("code", "DEV\u200b30", "contains invisible characters"),
    ("code", "DEV\u202e03", "contains invisible characters"),
])
def test_values_are_refused_not_coerced_and_codes_stay_reachable(loaded, field, value, reason):
    body = {"code": "DEV30", "name": "接入交换机", "department": "D001",
            "device_type": "switch", "status": "in_use", field: value}
    refused = loaded.post("/api/v1/census/device?lang=en", json=body)
    assert refused.status_code == 400, refused.json
    assert [(e["column"], e["reason"].startswith(reason)) for e in refused.json["errors"]] == \
        [(field, True)]
    assert loaded.get("/api/v1/census/device?per_page=100").json["total"] == 2
