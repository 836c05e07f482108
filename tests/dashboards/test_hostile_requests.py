"""Requests built to make the API fail: every one is a 4xx with the API's JSON error shape,
in the caller's language, never a 500 or an HTML page; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from dashboards.resources import get_ledger, get_settings
from ledger import findings
from tests.ledger.census.builders import filled_workbook
from tests.ledger.census.hostile import sheet_xml, write_xlsx
from tests.dashboards.users import csrf_of, login, make_user


@pytest.fixture
def loaded(client, tmp_path):
    book = filled_workbook(tmp_path / "c.xlsx").read_bytes()
    response = client.post("/api/v1/census/import", data={
        "file": (io.BytesIO(book), "普查表.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    return client


def error_reason(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"errors"} and body["errors"]
    assert all(isinstance(e.get("reason"), str) and e["reason"] for e in body["errors"])
    return body["errors"][0]["reason"]


@pytest.mark.parametrize("code", ["%20", "%20%20%09", "%E3%80%80"])
def test_a_whitespace_only_code_in_a_path_is_not_found(loaded, code):
    path = f"/api/v1/census/device/{code}"
    error_reason(loaded.get(path), 404)
    error_reason(loaded.delete(path), 404)
    error_reason(loaded.put(path, json={"name": "x"}), 404)
    error_reason(loaded.patch(path, json={"name": "x"}), 404)


@pytest.mark.parametrize("where", ["path", "query", "filter", "department", "body"])
def test_a_nul_byte_anywhere_is_refused(loaded, where):
    if where == "body":
        response = loaded.post("/api/v1/census/device", json={
            "code": "DEV\x0009", "name": "x", "department": "D001", "device_type": "switch",
            "status": "in_use"})
        assert "不可见字符" in json.dumps(response.json, ensure_ascii=False)
        error_reason(response, 400)
        return
    path = {"path": "/api/v1/census/device/DEV%0001", "query": "/api/v1/census/device?q=%00",
            "filter": "/api/v1/census/device?vendor=a%00",
            "department": "/api/v1/findings?department=%00"}[where]
    error_reason(loaded.get(path), 400)
    assert loaded.get("/api/v1/census/device/DEV01").status_code == 200


def test_a_lone_surrogate_is_refused(loaded):
    body = ('{"code": "DEV77", "name": "\\ud800", "department": "D001", '
            '"device_type": "switch", "status": "in_use"}')
    response = loaded.post("/api/v1/census/device", data=body,
                           content_type="application/json")
    error_reason(response, 400)
    rows = '{"device": [{"code": "DEV78\\udfff", "name": "x"}]}'
    error_reason(loaded.post("/api/v1/census/import", data=rows,
                             content_type="application/json"), 400)
    assert loaded.get("/api/v1/census/device/DEV77").status_code == 404


def test_json_nested_100k_deep_is_refused(loaded):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/census/import", "/api/v1/census/device", "/api/v1/findings/1/state"):
        error_reason(loaded.post(path, data=deep, content_type="application/json"), 400)


def test_nan_and_infinity_are_refused_not_echoed(loaded):
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = ('{"code": "DEV79", "name": "x", "department": "D001", "device_type": "switch",'
                f' "status": "in_use", "cpu_cores": {constant}}}')
        response = loaded.post("/api/v1/census/device", data=body,
                               content_type="application/json")
        error_reason(response, 400)
        json.loads(response.get_data(as_text=True), parse_constant=pytest.fail)


def test_an_unknown_multipart_category_is_refused(loaded):
    upload = {"file": (io.BytesIO("code,name\nX,y\n".encode()), "x.csv"), "category": "nope"}
    reason = error_reason(loaded.post("/api/v1/census/import", data=upload,
                                      content_type="multipart/form-data"), 400)
    assert "CSV" in reason


def test_large_values_are_never_echoed(loaded):
    big = "x" * 1_000_000
    for body in ({"device": [{"code": "X", big: 1}]}, {big: []},
                 {"device": [{"code": "X", "cpu_cores": big}]}):
        response = loaded.post("/api/v1/census/import", json=body)
        assert response.status_code == 400
        assert len(response.get_data()) < 2000


def test_a_json_body_has_its_own_smaller_limit(loaded, app):
    with app.app_context():
        limit = get_settings().security.import_max_json
    body = '{"device": [' + ",".join(['{"code": "X"}'] * (limit // 10)) + "]}"
    assert len(body) > limit
    error_reason(loaded.post("/api/v1/census/import", data=body,
                             content_type="application/json"), 413)


@pytest.mark.parametrize("lang, word", [("zh", "未找到"), ("en", "not found")])
def test_framework_errors_are_json_in_the_callers_language(loaded, lang, word):
    assert word in error_reason(loaded.get(f"/api/v1/nothing-here?lang={lang}"), 404).lower()
    assert word in error_reason(loaded.get(f"/api/v1/census/nope?lang={lang}"), 404).lower()
    assert word in error_reason(loaded.get(f"/api/v1/census/device/NOPE?lang={lang}"),
                                404).lower()
    error_reason(loaded.delete(f"/api/v1/census?lang={lang}"), 405)
    bad = error_reason(loaded.post(f"/api/v1/census/device?lang={lang}", data="{",
                                   content_type="application/json"), 400)
    assert ("JSON" in bad) and ((lang == "zh") == any("\u4e00" <= c <= "\u9fff" for c in bad))


def test_an_uploaded_bomb_is_refused_and_the_server_goes_on(loaded, tmp_path):
    body = ('<row r="1"><c r="A1" t="inlineStr"><is><t>编号</t></is></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    bomb = write_xlsx(tmp_path / "bomb.xlsx", {"设备": sheet_xml(body)}).read_bytes()
    response = loaded.post("/api/v1/census/import?lang=en", data={
        "file": (io.BytesIO(bomb), "bomb.xlsx")}, content_type="multipart/form-data")
    assert "1048576" in error_reason(response, 400)
    assert loaded.get("/api/v1/census/device/DEV01").status_code == 200


def test_numbers_past_what_the_database_holds_are_refused(loaded):
    error_reason(loaded.get("/api/v1/findings/2147483648"), 404)
    error_reason(loaded.post("/api/v1/findings/99999999999999999999999/state",
                             json={"state": "acknowledged"}), 404)
    for path in ("/api/v1/census/device?page=10000000000000000000000",
                 "/api/v1/findings?page=10000000000000000000000",
                 "/api/v1/reconciliation?page=10000000000000000000000"):
        error_reason(loaded.get(path), 400)


def test_a_nul_byte_in_a_finding_reason_is_refused(loaded, app):
    with app.app_context():
        engine = get_ledger().engine
    with engine.begin() as conn:
        findings.sync(conn, frozenset({"undeclared"}), [findings.Found(
            kind="undeclared", fingerprint="fp-nul", details={}, department_id=None)],
            now=dt.datetime.now(dt.timezone.utc))
    finding = loaded.get("/api/v1/findings").json["items"][0]["id"]
    for reason in ("fixed\x00", "x" * 2001):
        response = loaded.post(f"/api/v1/findings/{finding}/state",
                               json={"state": "resolved", "reason": reason})
        assert "控制字符" in error_reason(response, 400)
    assert loaded.get(f"/api/v1/findings/{finding}").json["state"] == "open"


def test_a_huge_record_number_or_token_lifetime_is_refused(app):
    from werkzeug.exceptions import BadRequest

    from dashboards.auditlog import _sequence
    assert _sequence("42") == 42 and _sequence(None) is None
    for value in ("9" * 400, str(2**63), "-1", "x", "٣"):
        with pytest.raises(BadRequest):
            _sequence(value)
    make_user(app, "officer", {"finance"})
    client = app.test_client()
    assert login(client, "officer").status_code == 302
    answer = client.post("/account/tokens", data={"csrf_token": csrf_of(client), "name": "t",
                                                  "roles": "finance", "days": "9" * 400})
    assert answer.status_code == 400 and "ilt_" not in answer.get_data(as_text=True)
