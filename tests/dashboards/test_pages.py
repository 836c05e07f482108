"""The audience pages on a filled ledger: every route answers (no 500), key figures match
the ledger, a department never sees another's rows, and the pages switch language."""

from __future__ import annotations

import re

import pyotp
import pytest

from bench.estate import fill
from ledger.census.fields import CATEGORIES
from ledger.models import ObservedAsset
from tests.dashboards.users import field, login, make_token, make_user

SECRET = pyotp.random_base32()
BUSINESS = {"operator", "census_admin", "finance", "leader"}


@pytest.fixture
def estate(app, settings, ledger, embedded_store):
    return fill(ledger, embedded_store, settings, assets=60)


@pytest.fixture
def everyone(app):
    """An estate-wide client holding every business role, and a signed-in auditor."""
    make_user(app, "all", BUSINESS)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, 'all', BUSINESS)}"
    make_user(app, "auditor", {"audit_admin"}, totp=SECRET)
    auditor = app.test_client()
    login(auditor, "auditor", totp=SECRET)
    return client, auditor


def route_urls(app, ledger, estate) -> list[str]:
    """Every GET route with values from the generated estate."""
    with ledger.engine.connect() as conn:
        asset_ids = [row for row, in conn.execute(ObservedAsset.__table__.select()
                                                  .with_only_columns(ObservedAsset.id)
                                                  .limit(3))]
    codes = {"department": estate.departments[:2], "device": estate.devices[:2],
             "cloud_resource": estate.instances[:2], "information_system": ["IS-D001"],
             "data_center": ["DC01"], "cloud_platform": ["CP01"],
             "dedicated_network": ["NET01"], "region": ["R15"]}
    values = {"name": estate.targets, "fmt": ["xlsx", "csv", "pdf"], "username": ["all"],
              "token_id": [1], "filename": ["style.css"], "finding_id": [1, 2],
              "asset_id": asset_ids, "category": list(codes), "alert_id": [1],
              "report": ["utilization", "idle", "findings", "compute"]}
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        combos = [{}]
        for arg in sorted(rule.arguments - {"code"}):
            combos = [{**c, arg: v} for c in combos for v in values[arg]]
        for combo in combos:
            for code in (codes.get(combo.get("category"), []) if "code" in rule.arguments
                         else [None]):
                out.append(rule.build({**combo, **({"code": code} if code else {})},
                                      append_unknown=False)[1])
    return out


def test_every_route_answers_on_a_filled_ledger(app, ledger, estate, everyone):
    client, auditor = everyone
    urls = route_urls(app, ledger, estate)
    assert len(urls) > 50
    for url in urls:
        for who in (client, auditor):
            for lang in ("zh", "en"):
                response = who.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
                assert response.status_code < 500, (url, response.status_code)
                response.close()


def test_operator_pages(app, ledger, estate, everyone):
    client, _auditor = everyone
    page = client.get("/estate").get_data(as_text=True)
    order = [page.index(f">{name}</a>") for name in ("sw-edge", "bmc-01", "sw-core")]
    assert order == sorted(order)           # failing first
    assert 'id="count-failing">2<' in page and 'data-refresh="60"' in page
    page = client.get("/targets/sw-core?range=1w").get_data(as_text=True)
    kinds = page.count('data-kind="state"'), page.count('data-kind="rate"')
    assert kinds[0] >= 2 and kinds[1] >= 1   # interface and poll states; packets as a rate
    assert "接口 · 入方向字节<" not in page  # a counter with a stored rate is not drawn raw
    rows = page[page.index('id="interfaces"'):]
    assert rows.index("GE1/0/1") < rows.index("GE1/0/2") < rows.index("GE1/0/3")
    assert "UTC+08:00" in page
    found = client.get("/search?q=SN000000004").get_data(as_text=True)
    assert found.count("/observed/") == 1
    with ledger.engine.connect() as conn:
        row = conn.execute(ObservedAsset.__table__.select().where(
            ObservedAsset.serial_number == "SN000000004")).mappings().one()
    page = client.get(f"/observed/{row['id']}?lang=en").get_data(as_text=True)
    assert "512.0 GiB" in page and "UTC+0800" in page and "booted" in page
    assert "DEV000004" in page             # its declared twin


def officer_of(app, department: str, name: str = "officer"):
    make_user(app, name, {"data_officer"}, department)
    browser = app.test_client()
    login(browser, name)
    return browser


def test_officer_edits_a_row_with_import_validation_and_sees_its_history(app, estate):
    officer = officer_of(app, "D002")
    code = next(c for i, c in enumerate(estate.devices) if i % 4 == 1)   # owned by D002
    form = officer.get(f"/census/device/{code}/edit").get_data(as_text=True)
    csrf = field(form, "csrf_token")
    values = dict(re.findall(r'<input name="(\w+)" id="f-\w+" value="([^"]*)"', form))
    values.update({k: v for k, v in re.findall(
        r'<select name="(\w+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]*)" selected',
        form, re.S)})
    bad = officer.post(f"/census/device/{code}/edit",
                       data={**values, "cpu_cores": "lots", "csrf_token": csrf})
    assert bad.status_code == 400 and "不是整数" in bad.get_data(as_text=True)
    assert officer.get(f"/census/device/{code}").get_data(as_text=True).count("lots") == 0
    good = officer.post(f"/census/device/{code}/edit",
                        data={**values, "cpu_cores": "96", "csrf_token": csrf})
    assert good.status_code == 302
    page = officer.get(good.location).get_data(as_text=True)
    assert 'data-field="cpu_cores">96<' in page
    history = page[page.index('id="history"'):]
    assert "officer" in history and "64 → 96" in history
    other = next(c for i, c in enumerate(estate.devices) if i % 4 == 2)  # D003's
    assert officer.get(f"/census/device/{other}").status_code == 404
    assert officer.post(f"/census/device/{other}/edit",
                        data={**values, "csrf_token": csrf}).status_code == 404


def test_upload_shows_the_dry_run_diff_before_confirming(app, estate, tmp_path):
    from ledger.census.service import CensusService
    from ledger.census.template import write_workbook
    ledger = app.extensions["infra_ledger"]["ledger"]
    service = CensusService(ledger.engine, department="D002")
    data = service.export(["device"])
    data["device"][0]["status"] = "idle"
    changed = data["device"][0]["code"]
    filled = next(f for f in ("vendor", "model", "hostname", "rack", "remarks")
                  if data["device"][0].get(f))
    data["device"][0][filled] = None                                 # a blank cell clears it
    path = tmp_path / "mine.xlsx"
    write_workbook(path, data)
    officer = officer_of(app, "D002")
    csrf = field(officer.get("/census/upload").get_data(as_text=True), "csrf_token")
    preview = officer.post("/census/upload", data={
        "csrf_token": csrf, "file": (path.open("rb"), "mine.xlsx")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "新增 0，变更 1" in preview and changed in preview
    assert "使用状态: 在用 → 闲置" in preview                          # labels, not keys
    label = CATEGORIES["device"].by_key[filled].zh
    assert f'id="cleared-device">将清空已填写的值：{label} 1 条' in preview
    assert service.get("device", changed)["status"] == "in_use"     # nothing written yet
    done = officer.post("/census/upload", data={"csrf_token": csrf,
                                                "token": field(preview, "token")})
    assert done.status_code == 200 and 'id="applied"' in done.get_data(as_text=True)
    assert service.get("device", changed)["status"] == "idle"
    row = officer.get(f"/census/device/{changed}").get_data(as_text=True)
    assert 'data-field="status">闲置<' in row
    assert "使用状态: 在用 → 闲置" in row[row.index('id="history"'):]
    again = officer.post("/census/upload", data={"csrf_token": csrf,
                                                 "token": field(preview, "token")})
    assert again.status_code == 400                                  # used once


def test_findings_acknowledge_and_resolve_need_scope_and_reason(app, estate):
    from ledger.models import Finding
    ledger = app.extensions["infra_ledger"]["ledger"]
    officer = officer_of(app, "D002")
    page = officer.get("/findings").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page)]
    with ledger.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(Finding.__table__.select())}
        scope = {r.id for r in rows.values() if r.department_id is not None}
    departments = {rows[i].department_id for i in ids}
    assert ids and len(departments) == 1                 # D002 only
    outside = next(i for i in scope if rows[i].department_id not in departments)
    csrf = field(page, "csrf_token")
    first = ids[0]
    ack = officer.post(f"/findings/{first}/state", data={"state": "acknowledged",
                                                        "csrf_token": csrf})
    assert ack.status_code == 303
    no_reason = officer.post(f"/findings/{first}/state",
                             data={"state": "resolved", "csrf_token": csrf})
    assert "必须填写原因" in officer.get(no_reason.location).get_data(as_text=True)
    resolved = officer.post(f"/findings/{first}/state", data={
        "state": "resolved", "reason": "已核实并补登", "csrf_token": csrf})
    assert resolved.status_code == 303
    with ledger.engine.connect() as conn:
        row = conn.execute(Finding.__table__.select().where(Finding.id == first)).one()
    assert (row.state, row.state_reason, row.state_changed_by) == \
        ("resolved", "已核实并补登", "officer")
    assert officer.post(f"/findings/{outside}/state", data={
        "state": "acknowledged", "csrf_token": csrf}).status_code == 404


def test_screen_figures_match_the_ledger(app, settings, estate, everyone):
    from ledger import analyses
    from ledger.census.snapshot import Scope
    client, _ = everyone
    ledger = app.extensions["infra_ledger"]["ledger"]
    compute = analyses.compute_ledger(ledger.engine, settings.analysis, Scope.everything(),
                                      by="department")
    page = client.get("/screen").get_data(as_text=True)
    assert f'data-total="cores"><b>{compute["totals"]["cores"]:,}<' in page
    assert f'data-total="vcpus"><b>{compute["totals"]["vcpus"]:,}<' in page
    # Physical memory only: the VMs' memory is carved out of the same hosts.
    assert f'data-total="memory"><b>{compute["totals"]["memory_gib"] / 1024:,.1f}<' in page
    assert page.count("data-figure=") == 6 and 'class="screen"' in page
    share = f'{compute["domestic_share"] * 100:.1f}%'
    assert share in page
    english = client.get("/screen?lang=en").get_data(as_text=True)
    assert "physical cores" in english and "domestic" in english


def test_graph_goes_down_and_up_with_declared_beside_observed(app, estate, everyone):
    client, _ = everyone
    page = client.get("/graph/department/D002").get_data(as_text=True)
    assert "/graph/information_system/IS-D002" in page
    page = client.get("/graph/information_system/IS-D002").get_data(as_text=True)
    assert "/graph/department/D002" in page                            # up
    device = next(c for i, c in enumerate(estate.devices) if i % 10 == 3)   # other figures
    assert f"/graph/device/{device}" in client.get(
        f"/graph/information_system/IS-{estate.departments[3 % 4]}").get_data(as_text=True)
    page = client.get(f"/graph/device/{device}").get_data(as_text=True)
    assert "/graph/data_center/DC0" in page
    side = page[page.index('class="grid side"'):]
    assert 'diff-changed"><th>CPU核数</th><td>64</td><td>32</td>' in side
    instance = estate.instances[0]
    page = client.get(f"/graph/cloud_resource/{instance}").get_data(as_text=True)
    assert 'id="hosts"' in page and "srv-0" in page
    # On from the instance to its host's declared device, and up to its data center.
    assert '/graph/device/DEV000000">srv-0</a>' in page
    assert "/graph/data_center/DC02" in client.get("/graph/device/DEV000000").get_data(
        as_text=True)
    # VM000001 (D002) runs on srv-1 of D002; a D003 officer never sees either.
    assert "srv-1" in officer_of(app, "D002").get("/graph/cloud_resource/VM000001").get_data(
        as_text=True)
    other = officer_of(app, "D003", "officer3")
    assert other.get("/graph/cloud_resource/VM000001").status_code == 404
    # Moved onto D003's srv-2, the host disappears from D002's view of its own instance.
    ledger = app.extensions["infra_ledger"]["ledger"]
    table = ObservedAsset.__table__
    with ledger.engine.begin() as conn:
        conn.execute(table.update().where(table.c.hostname == "vm-1").values(
            attributes={"host": "srv-2", "os": "Kylin V10"}))
    page = officer_of(app, "D002", "officer2").get("/graph/cloud_resource/VM000001")
    assert "srv-2" not in page.get_data(as_text=True) and "DEV000002" not in \
        page.get_data(as_text=True)
    assert "srv-2" in client.get("/graph/cloud_resource/VM000001").get_data(as_text=True)


def test_findings_page_names_and_links_the_observed_asset(app, estate):
    """An undeclared asset's finding shows its name and links to ``/observed/<id>``."""
    from sqlalchemy import select

    from ledger.census.tables import TABLES
    from ledger.models import Finding
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        row = conn.execute(select(Finding).where(
            Finding.kind == "undeclared", Finding.observed_asset_id.is_not(None),
            Finding.department_id.is_not(None))).first()
        assert row is not None
        asset = conn.execute(select(ObservedAsset).where(
            ObservedAsset.id == row.observed_asset_id)).one()
        department = TABLES["department"]
        code = conn.execute(select(department.c.code).where(
            department.c.id == row.department_id)).scalar_one()
    page = officer_of(app, code).get("/findings?kind=undeclared").get_data(as_text=True)
    name = asset.hostname or asset.mgmt_ip or asset.natural_key
    assert re.search(rf'<a class="subject" href="/observed/{asset.id}">{re.escape(name)}', page)
