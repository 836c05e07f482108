"""Every GET route of the app answers the demo estate without a server error, for every
audience's account.

The estate is built by :func:`monitor.demo.build_demo` (the library function behind
``python -m monitor demo``): real collectors against snmpsim, the sample census, 30 days of
demo history and every analysis. Routes come from ``app.url_map``; each URL argument takes
every value the demo has (census codes, targets, findings, accounts, ...). A route with an
argument name not known here fails the test until it gets values below.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dashboards import create_app
from ledger.census.fields import CATEGORIES
from ledger.alert_tables import alert, alert_silence
from ledger.census.tables import TABLES
from ledger.db import Ledger
from ledger.models import Finding, ObservedAsset
from ledger.reports import KINDS as REPORT_KINDS
from monitor.demo import build_demo
from monitor.demo_cli import raise_alerts
from monitor.store import open_configured_store
from tests.dashboards.users import FAST_HASHER, login


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo estate on SQLite, its web app, and the accounts it printed."""
    data = tmp_path_factory.mktemp("demo")
    result = build_demo(data, hasher=FAST_HASHER)
    ledger = Ledger(result.settings.ledger_url)
    store = open_configured_store(result.settings)
    result.analyses["alerts"] = raise_alerts(ledger, store, result.settings, first_time=True)
    app = create_app({"SETTINGS": result.settings, "LEDGER": ledger, "STORE": store,
                      "PASSWORD_HASHER": FAST_HASHER})
    yield app, result
    store.close()
    ledger.close()


def values(app, result) -> dict[str, list]:
    """Every value worth asking for, per URL argument name."""
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        codes = {key: list(conn.execute(select(TABLES[key].c.code)).scalars())
                 for key in CATEGORIES}
        findings = list(conn.execute(select(Finding.id)).scalars())
        alerts = list(conn.execute(select(alert.c.id)).scalars())
        silences = list(conn.execute(select(alert_silence.c.id)).scalars())
        assets = list(conn.execute(select(ObservedAsset.id)).scalars())
    today = dt.date.today()
    return {"category": list(CATEGORIES), "codes": codes, "fmt": ["xlsx", "csv", "pdf"],
            "name": [t.name for t in result.settings.targets],
            "username": [a.username for a in result.accounts], "token_id": [1],
            "filename": ["style.css"], "finding_id": findings, "asset_id": assets,
            "department": codes["department"],
            "month": [f"{today:%Y-%m}", f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"],
            "alert_id": alerts, "silence_id": silences, "report": list(REPORT_KINDS)}


def urls(app, result) -> list[str]:
    known = values(app, result)
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = sorted(rule.arguments)
        assert set(args) <= set(known) | {"code"}, f"give {rule.rule} argument values here"
        combos = [{}]
        for arg in args:
            if arg != "code":
                combos = [{**c, arg: v} for c in combos for v in known[arg]]
        for combo in combos:
            codes = known["codes"][combo.get("category", "device")] if "code" in args else [None]
            for code in codes:
                arguments = {**combo, **({"code": code} if code else {})}
                out.append(rule.build(arguments, append_unknown=False)[1])
    return out


def test_no_route_answers_500_for_any_audience(demo):
    app, result = demo
    routes = urls(app, result)
    assert len(routes) > 100
    assert any(url.startswith("/api/v1/findings/") for url in routes)
    for account in result.accounts:
        client = app.test_client()
        response = login(client, account.username, account.password, totp=account.totp_secret)
        assert response.status_code in (200, 302), (account.username, response.status_code)
        assert client.get("/account").status_code == 200, account.username
        statuses = {}
        for url in routes:
            response = client.get(url)
            statuses[url] = response.status_code
            response.close()
        # /healthz answers 503 by design here: no scheduler runs beside this app.
        failed = {url: status for url, status in statuses.items() if status == 500}
        assert not failed, (account.username, failed)
        # Each audience reaches something beyond its own account page.
        assert sum(status == 200 for status in statuses.values()) > 3, account.username


def test_the_demo_devices_are_identified_by_the_real_collector(demo):
    """Each recording is read by the SNMP collector as its vendor's device (H3C's own
    sysDescr is H3C's, not HPE's, though both say Comware)."""
    app, result = demo
    assert result.polled == {**{name: "ok" for name in result.polled}, "ups-dc03": "timeout"}
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.engine.connect() as conn:
        seen = {row.source: (row.vendor, row.attributes["device_type"]) for row in conn.execute(
            select(ObservedAsset).where(ObservedAsset.collector == "snmp"))}
    assert seen == {"sw-core-01": ("Huawei", "switch"), "sw-agg-02": ("H3C", "switch"),
                    "sw-net01": ("ZTE", "switch"), "fw-dc02": ("Hillstone", "firewall"),
                    "sw-ruijie": ("Ruijie", "switch"), "ups-dc01": ("Huawei", "ups"),
                    "bmc-rs-db01": ("Huawei", "server"), "ups-dc03": ("Kehua", "ups")}
    assert result.samples > 100_000 and result.summary_days == 30
    assert result.analyses["alerts"]["firing"] > 0 and not result.analyses["alerts"]["failed"]


def test_the_same_estate_on_postgresql(demo, pg_url, tmp_path):
    """Test suites may fill a PostgreSQL ledger: the same outcomes and findings come out."""
    from ledger.census.snapshot import Scope
    from ledger.findings import listing
    from ledger.reconcile import store as pairs

    app, result = demo
    other = build_demo(tmp_path / "data", ledger_url=pg_url, hasher=FAST_HASHER)
    assert other.polled == result.polled
    summaries = []
    for url in (result.settings.ledger_url, pg_url):
        ledger = Ledger(url)
        try:
            with ledger.engine.connect() as conn:
                summaries.append((pairs.summary(conn, Scope.everything()), sorted(
                    (f["kind"], f["state"], f["amount"]) for f in listing(
                        conn, Scope.everything(), active_only=False))))
        finally:
            ledger.close()
    assert summaries[0] == summaries[1]
