"""Operator pages: the target list and a target's charts and inventory."""

from __future__ import annotations

import datetime as dt
import time

from collectors.base import Fact, Sample
from ledger.observed import record_facts
from ledger.status import PollRecord, record_poll, register_targets, set_runtime_stats
from tests.dashboards.users import make_token, make_user

UTC = dt.timezone.utc


def poll(ledger, name="local", status="ok", error=None):
    with ledger.session() as session:
        record_poll(session, PollRecord(name=name, kind="host", status=status,
                                        duration_seconds=0.123, error=error, samples=11,
                                        at=dt.datetime.now(UTC), interval_seconds=15))
        session.commit()


def test_target_list_in_chinese_by_default(client, ledger):
    with ledger.session() as session:
        register_targets(session, {"local": ("host", 15.0), "sw-core": ("host", 60.0)})
        session.commit()
    poll(ledger, "local")
    poll(ledger, "sw-core", status="timeout", error="no answer within 5s")
    page = client.get("/targets").get_data(as_text=True)
    assert "采集目标" in page and "最近采集" in page
    assert "正常" in page and "超时" in page
    assert "no answer within 5s" in page and "0.123" in page
    assert 'href="/targets/sw-core"' in page


def test_target_list_shows_the_spool(client, ledger):
    with ledger.session() as session:
        set_runtime_stats(session, {"spool_depth_samples": 1234, "spool_bytes": 3 * 2**20,
                                    "spool_oldest_age_seconds": 61.5,
                                    "spool_rejected_batches_total": 2},
                          dt.datetime.now(UTC))
        session.commit()
    table = client.get("/targets").get_data(as_text=True).split('id="spool"')[1]
    assert "内置存储" in table and "1234" in table and "61.5" in table
    assert "3.0 MiB" in table and "<td>2</td>" in table


def test_english_on_request_and_remembered(client, ledger):
    poll(ledger)
    response = client.get("/targets?lang=en")
    assert "Last poll" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "Last poll" in client.get("/targets").get_data(as_text=True)


def test_target_page_charts_the_stored_series(client, ledger, embedded_store):
    poll(ledger)
    now = int(time.time())
    embedded_store.write([Sample("cpu", {"target": "local", "cpu": "cpu-total"},
                                 {"usage_percent": float(i)}, (now - 300 + i * 15) * 10**9)
                          for i in range(20)]
                         + [Sample("ups", {"target": "local", "phase": "1"},
                                   {"output_load_percent": 40.0}, (now - 60) * 10**9)])
    with ledger.session() as session:
        record_facts(session, source="local", collector="host", seen_at=dt.datetime.now(UTC),
                     facts=[Fact("host", {"hostname": "gov-web-01", "serial_number": "2102311"},
                                 {"vendor": "Huawei", "cpu_model": "Kunpeng 920"})],
                     department=None)
        session.commit()
    for range_key in ("1h", "1d", "1w"):
        page = client.get(f"/targets/local?range={range_key}").get_data(as_text=True)
        assert page.count("plotly-graph-div") == 2, range_key
        assert "CPU使用率" in page and "UPS · 输出负载百分比" in page
        assert "/assets/plotly.min.js" in page
    assert "Kunpeng 920" in page and "gov-web-01" in page and "serial:Huawei:2102311" in page


def test_unknown_target_is_404(client):
    assert client.get("/targets/nope").status_code == 404


def test_plotly_is_served_locally(client):
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200 and b"plotly" in response.data[:2000].lower()
    assert response.headers["Cache-Control"].startswith("public")


def test_index_redirects_to_the_first_page_the_roles_allow(client, app):
    make_user(app, "ops", {"operator"})
    token = make_token(app, "ops", {"operator"})
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}) \
        .headers["Location"].endswith("/estate")
    assert client.get("/").headers["Location"].endswith("/estate")
