"""The audience pages on a filled ledger: every route answers (no 500), key figures match
the ledger, a department never sees another's rows, and the pages switch language."""

from __future__ import annotations

import pyotp
import pytest

from bench.estate import fill
from ledger.census.fields import CATEGORIES
from ledger.models import ObservedAsset
from tests.dashboards.users import login, make_token, make_user

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
    values = {"name": estate.targets, "fmt": ["xlsx", "csv"], "username": ["all"],
              "token_id": [1], "filename": ["style.css"], "finding_id": [1, 2],
              "asset_id": asset_ids, "category": list(codes),
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
    assert "interface.rx_bytes<" not in page  # a counter with a stored rate is not drawn raw
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
