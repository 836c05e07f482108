"""The alert API and pages: scope by department and role, silences, the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest
from openapi_spec_validator import validate

from alerts.config import Rule
from alerts.evaluate import Active
from alerts.state import record
from ledger.estate import CodeBook
from tests.dashboards.test_api import schema_of
from tests.dashboards.users import csrf_of, login, make_token, make_user

UTC = dt.timezone.utc
DEPARTMENTS = [{"code": "DEPA", "name": "部门A"}, {"code": "SUBA", "name": "部门A1",
                                                  "parent": "DEPA"},
               {"code": "DEPB", "name": "部门B"}]
FINDINGS = Rule(name="undeclared_assets", kind="ledger_event", findings=("undeclared",),
                severity="info")
DISK = Rule(name="disk_full", kind="threshold", measurement="disk", severity="critical")


@pytest.fixture
def estate(app, client):
    assert client.post("/api/v1/census/import", json={"department": DEPARTMENTS}).json["applied"]
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.begin() as conn:
        book = CodeBook.load(conn, "department")
        record(conn, {
            FINDINGS.name: (FINDINGS, [Active({"finding_kind": "undeclared", "department": d,
                                               "observed_source": f"host-{d}"}, None,
                                              book.resolve(d)) for d in ("DEPA", "SUBA",
                                                                         "DEPB")]),
            DISK.name: (DISK, [Active({"target": "srv-DEPA", "department": "DEPA",
                                       "measurement": "disk",
                                       "datacenter": "DC01"}, 97.0, book.resolve("DEPA"))])},
            dt.datetime.now(UTC))
    return client


def token_client(app, name, roles, department=None):
    make_user(app, name, roles, department)
    browser = app.test_client()
    browser.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, name, roles, department)}"
    return browser


def sources(page) -> set[str]:
    return {item["labels"].get("observed_source") or item["labels"].get("target")
            for item in page["items"]}


def test_each_role_sees_its_own_alerts_only(app, estate):
    everything = estate.get("/api/v1/alerts").json
    jsonschema.validate(everything, schema_of(estate, "AlertsPage"))
    assert sources(everything) == {"host-DEPA", "host-SUBA", "host-DEPB", "srv-DEPA"}
    assert everything["counts"]["firing"] == 4
    officer = token_client(app, "officer-a", {"data_officer"}, "DEPA")
    own = officer.get("/api/v1/alerts").json
    assert sources(own) == {"host-DEPA", "host-SUBA"}       # ledger events, own subtree
    assert "DEPB" not in str(own) and "srv-DEPA" not in str(own)
    sub = token_client(app, "officer-sub", {"data_officer"}, "SUBA")
    assert sources(sub.get("/api/v1/alerts").json) == {"host-SUBA"}
    assert sources(officer.get("/api/v1/alerts?department=SUBA").json) == {"host-SUBA"}
    other = next(i["id"] for i in everything["items"] if i["labels"].get("department") == "DEPB")
    assert officer.get(f"/api/v1/alerts/{other}").status_code == 404
    coordinator = token_client(app, "coordinator", {"census_admin"})
    assert sources(coordinator.get("/api/v1/alerts").json) == {"host-DEPA", "host-SUBA",
                                                               "host-DEPB"}
    finance = token_client(app, "finance", {"finance"})
    assert finance.get("/api/v1/alerts").status_code == 403
    assert officer.get("/api/v1/silences").status_code == 403
    assert officer.post("/api/v1/silences", json={}).status_code == 403


def test_alert_detail_filters_and_openapi(estate):
    validate(estate.get("/api/v1/openapi.json").json)
    page = estate.get("/api/v1/alerts?severity=critical&data_center=DC01").json
    [disk] = page["items"]
    assert disk["summary"] == "disk_full：disk 当前值 97"
    detail = estate.get(f"/api/v1/alerts/{disk['id']}?lang=en").json
    jsonschema.validate(detail, schema_of(estate, "AlertDetail"))
    assert [e["state"] for e in detail["history"]] == ["firing"]
    assert detail["summary"] == "disk_full: disk is 97" and detail["samples"] == []
    assert estate.get("/api/v1/alerts?state=nonsense").status_code == 400
    assert estate.get("/api/v1/alerts?state=resolved").json["total"] == 0


def test_silences_through_the_api(estate):
    made = estate.post("/api/v1/silences", json={"matchers": ['alertname="disk_full"'],
                                                 "duration": "2h", "comment": "新硬盘已订购"})
    assert made.status_code == 201, made.json
    assert made.json["created_by"] == "tester[token 1]" and made.json["status"] == "active"
    bad = estate.post("/api/v1/silences", json={"matchers": ["no operator"], "duration": "1h",
                                                "comment": "x"})
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "matchers"
    assert estate.post("/api/v1/silences", json={"matchers": ['a="b"'], "duration": "1h"}
                       ).json["errors"][0]["field"] == "comment"
    assert estate.post("/api/v1/silences", json={"matchers": ['a="b"'], "ends_at": "soon",
                                                 "comment": "x"}).status_code == 400
    listed = estate.get("/api/v1/silences").json["items"]
    assert [s["comment"] for s in listed] == ["新硬盘已订购"]
    ended = estate.delete(f"/api/v1/silences/{made.json['id']}")
    assert ended.json["status"] == "expired" and ended.json["expired_by"] == "tester[token 1]"
    assert estate.delete("/api/v1/silences/999").status_code == 404


@pytest.mark.parametrize("body, field", [
    # Silences that would mute every alert, as Alertmanager refuses them.
    ({"matchers": ['alertname=~".+"']}, "matchers"),
    ({"matchers": ['alertname!="zzz"']}, "matchers"),
    ({"matchers": ['alertname=~".*"', 'severity!~"nothing"']}, "matchers"),
    ({"matchers": {"alertname": ""}}, "matchers"),
    # Regular expressions that backtrack for ever, values too long or holding NUL.
    ({"matchers": ['alertname=~"(x+x+)+y"']}, "matchers"),
    ({"matchers": ['alertname=~"(a*)*b"']}, "matchers"),
    ({"matchers": ['alertname="' + "x" * 900_000 + '"']}, "matchers"),
    ({"matchers": ['alertname="a\x00b"']}, "matchers"),
    ({"matchers": {"alertname": {"x": 1}}}, "matchers"),
    ({"matchers": ['alertname="disk_full"'], "comment": {"x": 1}}, "comment"),
    ({"matchers": ['alertname="disk_full"'], "comment": "x" * 600_000}, "comment"),
    # Times the ledger cannot hold, durations past the year 9999, huge values never echoed.
    ({"matchers": ['alertname="disk_full"'], "ends_at": "9999-12-31T23:59:59-12:00",
      "duration": None}, "ends_at"),
    ({"matchers": ['alertname="disk_full"'], "duration": "100y",
      "starts_at": "9950-01-01T00:00:00Z"}, "duration"),
    ({"matchers": ['alertname="disk_full"'], "duration": "9" * 600_000}, "duration"),
    ({"matchers": ['alertname="disk_full"'], "ends_at": "x" * 600_000, "duration": None},
     "ends_at"),
])
def test_hostile_silences_are_refused_briefly(estate, body, field):
    body = {"duration": "1h", "comment": "维护", **body}
    refused = estate.post("/api/v1/silences", json=body)
    assert refused.status_code == 400, refused.get_data(as_text=True)[:300]
    assert refused.json["errors"][0]["field"] == field
    assert len(refused.get_data()) < 2000
    assert estate.get("/api/v1/silences").json["items"] == []


def test_a_narrow_silence_is_still_accepted(estate):
    for matchers in (['alertname=~"disk_.*"'], ['alertname="disk_full"', 'instance=~".+"'],
                     ['severity=~"critical|warning"', 'alertname!="watchdog"']):
        made = estate.post("/api/v1/silences", json={"matchers": matchers, "duration": "1h",
                                                     "comment": "维护"})
        assert made.status_code == 201, (matchers, made.json)


def test_pages(app, estate):
    make_user(app, "ops", {"operator"})
    browser = app.test_client()
    login(browser, "ops")
    page = browser.get("/alerts").get_data(as_text=True)
    assert "disk_full：disk 当前值 97" in page and "部门A" not in page
    assert browser.get("/alerts?state=resolved").get_data(as_text=True).count("<tr") == 0
    disk = estate.get("/api/v1/alerts?severity=critical").json["items"][0]
    detail = browser.get(f"/alerts/{disk['id']}?lang=en").get_data(as_text=True)
    assert "History" in detail and "Silence this alert" in detail
    assert browser.get("/alerts/9999").status_code == 404
    csrf = csrf_of(browser)
    missing = browser.post("/silences", data={"matchers": "", "comment": "x",
                                              "csrf_token": csrf})
    assert missing.status_code == 400 and "matchers" in missing.get_data(as_text=True)
    made = browser.post("/silences", data={"matchers": 'alertname="disk_full"',
                                           "duration": "1h", "comment": "换盘",
                                           "csrf_token": csrf})
    assert made.status_code == 302
    listing = browser.get("/silences?lang=zh").get_data(as_text=True)
    assert "换盘" in listing and "生效中" in listing and "ops" in listing
    assert browser.post("/silences/1/expire", data={"csrf_token": csrf}).status_code == 302
    assert "已结束" in browser.get("/silences").get_data(as_text=True)
    make_user(app, "officer", {"data_officer"}, "DEPB")
    officer = app.test_client()
    login(officer, "officer")
    own = officer.get("/alerts").get_data(as_text=True)
    assert "台账发现：漏报资产 host-DEPB" in own
    assert "host-DEPA" not in own and "srv-DEPA" not in own
    assert officer.get("/silences").status_code == 403


def test_a_bad_alerts_section_stops_the_web_tier_at_start(tmp_path):
    from dashboards import create_app
    from monitor.config import ConfigError, parse_settings
    settings = parse_settings({"alerts": {"rules": [{"name": "x", "kind": "nope"}]}},
                              "/etc/infra-ledger/config.yaml", data_dir=str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        create_app({"SETTINGS": settings})
    assert caught.value.key == "alerts.rules[0].kind"
