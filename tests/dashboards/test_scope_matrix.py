"""The scope matrix: every route and export, every role, two departments with
sub-departments, on SQLite and PostgreSQL. No row of another department appears in any
answer; no write crosses into another department.

Routes are taken from ``app.url_map``, so a route added later is requested here too (with
the argument values below); a new argument name fails the test until it gets values.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pyotp
import pypdf
import pytest
from sqlalchemy import select

from collectors.base import Fact
from alerts.config import parse_alerts
from ledger.analyses import run_daily
from ledger.census.fields import CATEGORIES
from ledger.models import Finding, ObservedAsset
from ledger.reports import KINDS as REPORT_KINDS
from ledger.observed import record_facts
from tests.dashboards.users import csrf_of, login, make_token, make_user

DEPARTMENTS = {"DEPA": None, "SUBA": "DEPA", "DEPB": None, "SUBB": "DEPB"}
SECRET = pyotp.random_base32()
#: username -> (roles, department); None department = estate-wide.
PEOPLE = {
    "coordinator": ({"census_admin"}, None),
    "officer-a": ({"data_officer"}, "DEPA"),
    "officer-suba": ({"data_officer"}, "SUBA"),
    "finance-b": ({"finance"}, "DEPB"),
    "finance-all": ({"finance"}, None),
    "leader-subb": ({"leader"}, "SUBB"),
    "operator": ({"operator"}, None),
    "sysadmin": ({"system_admin"}, None),
    "secadmin": ({"security_admin"}, None),
    "auditor": ({"audit_admin"}, None),
}
CENSUS_READERS = {"coordinator", "officer-a", "officer-suba", "finance-b", "finance-all",
                  "officer-a-token"}
WRITERS = {"coordinator", "officer-a", "officer-suba", "officer-a-token"}


def rows_of(dept: str) -> dict[str, list[dict]]:
    """One row of every owned category for ``dept``; codes and names carry its marker."""
    own = {"department": dept}
    return {
        "data_center": [{"code": f"DC-{dept}", "name": f"机房{dept}", **own,
                         "build_mode": "self_built", "consolidation_status": "in_use",
                         "total_investment": "100"}],
        "cloud_platform": [{"code": f"CP-{dept}", "name": f"云{dept}", **own,
                            "build_mode": "self_built"}],
        "dedicated_network": [{"code": f"NET-{dept}", "name": f"网{dept}", **own,
                               "coverage": "national", "integration_plan": "migrate"}],
        "information_system": [{"code": f"{prefix}-{dept}", "name": f"系统{prefix}{dept}",
                                **own, "network_type": "egov_extranet",
                                "build_type": "existing", "usage_status": "in_use"}
                               for prefix in ("IS", "ISB")],
        "device": [{"code": f"DEV-{dept}", "name": f"设备{dept}", **own,
                    "device_type": "server", "status": "in_use"}],
        "cloud_resource": [{"code": f"VM-{dept}", "name": f"主机{dept}", **own,
                            "resource_type": "instance", "platform": f"CP-{dept}"}],
        "dr_pair": [{"code": f"DR-{dept}", "name": f"灾备{dept}", **own,
                     "mode": "active_standby", "primary_system": f"IS-{dept}",
                     "standby_system": f"ISB-{dept}"}],
    }


def subtree(dept: str | None) -> set[str]:
    if dept is None:
        return set(DEPARTMENTS)
    return {d for d in DEPARTMENTS if d == dept or DEPARTMENTS[d] == dept}


def forbidden(dept: str | None) -> set[str]:
    """Codes and names of rows the scope of ``dept`` must never show (an ancestor
    department's code may appear: it is the ``parent`` of a row in scope)."""
    outside = set(DEPARTMENTS) - subtree(dept)
    ancestors = {DEPARTMENTS[dept]} if dept and DEPARTMENTS[dept] else set()
    words = {f"部门{d}" for d in outside} | (outside - ancestors)
    for d in outside:
        for rows in rows_of(d).values():
            words |= {row[k] for row in rows for k in ("code", "name")}
    return words


def observe_and_reconcile(app) -> None:
    """Each department's target reports a host of its own (undeclared) and its declared
    cloud resource with other figures (a mismatch); then every analysis runs, so the
    reconciliation, findings, compute and migration routes hold every department's rows."""
    from ledger.census.service import CensusService

    ledger = app.extensions["infra_ledger"]["ledger"]
    settings = app.extensions["infra_ledger"]["settings"]
    now = dt.datetime.now(dt.timezone.utc)
    uuids = {d: f"00000000-0000-4000-8000-{d.encode().hex():0>12}" for d in DEPARTMENTS}
    census = CensusService(ledger.engine, algorithm=settings.audit_chain)
    for dept, instance in uuids.items():   # through the application, so the chain holds it
        census.update("cloud_resource", f"VM-{dept}", {"instance_id": instance, "vcpu": 8},
                      partial=True)
    with ledger.session() as session:
        for dept, instance in uuids.items():
            record_facts(session, source=f"src-{dept}", collector="host", seen_at=now,
                         tags={"department": dept},
                         facts=[Fact("host", {"hostname": f"host-{dept}"},
                                     {"cpu_model": "Kunpeng 920", "cpu_cores": 64})])
            record_facts(session, source=f"cloud-{dept}", collector="vsphere", seen_at=now,
                         tags={"department": dept},
                         facts=[Fact("instance", {"instance_uuid": instance}, {"vcpus": 32})])
        session.commit()
    result = run_daily(ledger.engine, settings.analysis, algorithm=settings.audit_chain)
    assert result["reconcile"]["undeclared"] == 4 and result["reconcile"]["mismatch"] == 4


def asset_ids(app) -> list[int]:
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(ObservedAsset.id)).scalars())


def raise_alerts(app) -> None:
    """A ledger-event rule turns every department's findings into alerts (labels carry the
    department and declared codes), one silence exists, and the groups notify nobody."""
    import dataclasses

    from alerts import silences
    from alerts.config import Rule
    from alerts.engine import AlertEngine

    resources = app.extensions["infra_ledger"]
    settings = resources["settings"]
    rule = Rule(name="ledger_findings", kind="ledger_event",
                findings=("undeclared", "mismatch"), severity="info")
    config = dataclasses.replace(parse_alerts(settings), rules=(rule,))
    engine = AlertEngine(settings, config, resources["ledger"].engine, resources["store"])
    assert engine.evaluate().changes.firing == 8
    now = dt.datetime.now(dt.timezone.utc)
    silences.create(resources["ledger"].engine, matchers=['alertname="maintenance"'],
                    starts_at=now, ends_at=now + dt.timedelta(hours=1), created_by="operator",
                    comment="planned work")


def alert_ids(app) -> list[int]:
    from ledger.alert_tables import alert
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(alert.c.id)).scalars())


def finding_ids(app) -> list[int]:
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(Finding.id)).scalars())


@pytest.fixture
def world(app, client):
    """The two departments' census, one signed-in client per person, and the app."""
    departments = [{"code": d, "name": f"部门{d}", "parent": p} for d, p in DEPARTMENTS.items()]
    assert client.post("/api/v1/census/import", json={"department": departments}).json[
        "applied"]
    everything: dict[str, list] = {}
    for dept in DEPARTMENTS:
        for key, rows in rows_of(dept).items():
            everything.setdefault(key, []).extend(rows)
    imported = client.post("/api/v1/census/import", json=everything)
    assert imported.status_code == 200 and imported.json["applied"], imported.json
    observe_and_reconcile(app)
    raise_alerts(app)
    clients = {}
    for name, (roles, dept) in PEOPLE.items():
        admin = any(r.endswith("_admin") and r != "census_admin" for r in roles)
        make_user(app, name, roles, dept, totp=SECRET if admin else None)
        browser = app.test_client()
        login(browser, name, totp=SECRET if admin else None)
        assert browser.get("/account").status_code == 200, name
        clients[name] = browser
    token = make_token(app, "officer-a", {"data_officer"}, "DEPA")
    by_token = app.test_client()
    by_token.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    clients["officer-a-token"] = by_token
    PEOPLE["officer-a-token"] = PEOPLE["officer-a"]
    yield clients
    PEOPLE.pop("officer-a-token")


def urls(app) -> list[tuple[str, str]]:
    """Every GET route with every value worth asking for."""
    codes = {key: [row["code"] for d in DEPARTMENTS for k, rows in rows_of(d).items()
                   if k == key for row in rows] for key in CATEGORIES}
    codes["department"] = list(DEPARTMENTS)
    values = {"category": list(CATEGORIES), "fmt": ["xlsx", "csv", "pdf"], "name": ["local"],
              "username": ["operator"], "token_id": [1], "filename": ["style.css"],
              "finding_id": finding_ids(app), "asset_id": asset_ids(app),
              "alert_id": alert_ids(app), "silence_id": [1],
              "report": list(REPORT_KINDS)}
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = sorted(rule.arguments)
        assert set(args) <= set(values) | {"code"}, f"give {rule.rule} argument values here"
        combos = [{}]
        for arg in args:
            if arg == "code":
                continue
            combos = [{**c, arg: v} for c in combos for v in values[arg]]
        for combo in combos:
            for code in (codes.get(combo.get("category"), []) if "code" in args else [None]):
                url = rule.build({**combo, **({"code": code} if code else {})},
                                 append_unknown=False)[1]
                out.append((rule.endpoint, url))
                if rule.endpoint in ("api.list_rows", "census.rows", "census.export",
                                     "reports.show", "reports.download"):
                    category = combo.get("category", "device")
                    for dept in DEPARTMENTS:   # asking for another department narrows only
                        sep = "&" if "?" in url else "?"
                        out.append((rule.endpoint, f"{url}{sep}department={dept}"
                                    f"&category={category}&q={dept}"))
    return out


def text_of(response) -> str:
    data = response.get_data()
    if data[:4] == b"%PDF":     # a report: the text of its pages
        return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    if data[:2] == b"PK":       # a workbook: its XML parts
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    return data.decode("utf-8", "replace")


def test_no_route_shows_another_departments_rows(app, world):
    routes = urls(app)
    assert len(routes) > 100
    for name, browser in world.items():
        roles, dept = PEOPLE[name]
        hidden = forbidden(dept)
        for endpoint, url in routes:
            if name == "auditor" and endpoint.startswith("audit."):
                continue   # the audit administrator reads every record of the log
            response = browser.get(url)
            body = text_of(response)
            response.close()
            # A word the caller typed into the URL may come back in links: not a leak.
            leaked = sorted(w for w in hidden if w in body and w not in url)
            assert not leaked, (name, url, response.status_code, leaked)
            if endpoint.startswith(("api.", "census.")) and name not in CENSUS_READERS:
                assert response.status_code == 403, (name, url)


def test_own_subtree_is_complete(world):
    for name in CENSUS_READERS:
        _roles, dept = PEOPLE[name]
        got = {i["code"] for i in world[name].get("/api/v1/census/device").json["items"]}
        assert got == {f"DEV-{d}" for d in subtree(dept)}, name
    counts = world["leader-subb"].get("/overview").get_data(as_text=True)
    assert 'data-category="device"><b>1</b>' in counts


def snapshot(client) -> dict:
    return {key: {i["code"]: i for i in client.get(f"/api/v1/census/{key}?per_page=1000")
                  .json["items"]} for key in CATEGORIES if key != "region"}


def test_no_write_crosses_departments(world):
    coordinator = world["coordinator"]
    before = snapshot(coordinator)
    for name in set(PEOPLE) - {"coordinator"}:
        browser, (_roles, dept) = world[name], PEOPLE[name]
        headers = {} if name.endswith("token") else {"X-CSRF-Token": csrf_of(browser)}
        target = "DEPB" if dept is None or dept not in subtree("DEPB") else "DEPA"
        writes = [
            ("post", "/api/v1/census/device", {"code": f"NEW-{name}", "name": "x",
                                               "department": target,
                                               "device_type": "server", "status": "in_use"}),
            ("patch", f"/api/v1/census/device/DEV-{target}", {"status": "idle"}),
            ("put", f"/api/v1/census/device/DEV-{target}", {**rows_of(target)["device"][0],
                                                            "status": "idle"}),
            ("delete", f"/api/v1/census/device/DR-{target}", None),
            ("delete", f"/api/v1/census/dr_pair/DR-{target}", None),
            ("post", "/api/v1/census/import?replace=1", {"dr_pair": []}),
            ("post", "/api/v1/census/import", {"device": [{**rows_of(target)["device"][0],
                                                           "status": "idle"}]}),
        ]
        if dept is not None:    # moving an own row to another department
            writes.append(("patch", f"/api/v1/census/device/DEV-{dept}",
                           {"department": target}))
        for method, url, body in writes:
            response = getattr(browser, method)(url, json=body, headers=headers)
            if name not in WRITERS:
                assert response.status_code == 403, (name, method, url)
            elif "replace=1" not in url:
                assert response.status_code in (400, 404), (name, method, url, response.json)
    after = snapshot(coordinator)
    for key in after:      # only the writers' own dr_pair rows may have gone (replace=1)
        for code, row in before[key].items():
            owner = row.get("department") if key != "department" else code
            if code in after[key]:
                assert after[key][code] == row, (key, code)
            else:
                assert key == "dr_pair" and owner in subtree("DEPA"), (key, code)
    assert "DR-DEPB" in after["dr_pair"] and "DR-SUBB" in after["dr_pair"]
