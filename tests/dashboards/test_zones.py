"""The zone ingest API and the zone collectors page, on SQLite and PostgreSQL: each record
applied once, targets of other zones refused, only the zone_collector role delivers."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import func, select

from dashboards import create_app
from ledger.models import IngestReceipt, ObservedAsset, TargetState, ZoneCollector
from monitor.config import parse_settings
from tests.dashboards.users import FAST_HASHER, make_token, make_user

TARGETS = [{"name": "core-sw", "kind": "host"},
           {"name": "east-sw", "kind": "host", "zone": "east", "tags": {"department": "D1"}},
           {"name": "west-sw", "kind": "host", "zone": "west"}]


@pytest.fixture
def zone_app(tmp_path, ledger, embedded_store, clock):
    settings = parse_settings({"targets": TARGETS}, "(test)", data_dir=str(tmp_path / "d"))
    return create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                       "TESTING": True, "CLOCK": clock, "PASSWORD_HASHER": FAST_HASHER})


def bearer(app, username: str, roles, department=None, zone=None):
    if department is not None:
        coordinator = bearer(app, f"coordinator-{username}", {"census_admin"})
        assert coordinator.post("/api/v1/census/import", json={"department": [
            {"code": department, "name": f"部门{department}"}]}).status_code == 200
    make_user(app, username, roles, department, zone=zone)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {make_token(app, username, roles, department)}"
    return client


def collector(zone="east", member="east-a"):
    return {"member": member, "zone": zone, "hostname": "zone-host", "version": "0.1.0",
            "targets_owned": 1, "backlog_samples": 5, "backlog_records": 2}


def poll(name="east-sw", status="ok"):
    return {"key": uuid.uuid4().hex, "type": "poll", "name": name, "kind": "host",
            "status": status, "duration_seconds": 0.5, "error": None, "samples": 7,
            "at": time.time(), "interval_seconds": 15}


def facts(source="east-sw"):
    return {"key": uuid.uuid4().hex, "type": "facts", "source": source, "collector": "host",
            "tags": {"department": "D1"}, "seen_at": time.time(),
            "facts": [{"kind": "host", "keys": {"hostname": "east-box"},
                       "attributes": {"cpu_cores": 8}}]}


def count(app, model) -> int:
    ledger = app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_records_are_applied_once_in_order(zone_app):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    first, second, third = poll(status="error"), facts(), poll()
    batch = {"collector": collector(), "records": [first, second, third]}
    answer = client.post("/api/v1/zones/ingest", json=batch)
    assert answer.status_code == 200 and answer.json == {"applied": 3, "duplicates": 0}
    # The answer was lost: the zone sends the batch again, with one record more.
    batch["records"].append(poll())
    again = client.post("/api/v1/zones/ingest", json=batch)
    assert again.json == {"applied": 1, "duplicates": 3}
    ledger = zone_app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        state = session.get(TargetState, "east-sw")
        assert (state.polls_total, state.failures_total, state.status) == (3, 1, "ok")
        asset = session.scalars(select(ObservedAsset)).one()
        assert (asset.source, asset.hostname, asset.department) == ("east-sw", "east-box", "D1")
    assert count(zone_app, IngestReceipt) == 4


@pytest.mark.parametrize("record,key", [
    (poll(name="west-sw"), "records[1].name"),       # another zone's target
    (poll(name="core-sw"), "records[1].name"),       # a central target
    (facts(source="nobody"), "records[1].source"),   # not configured at all
    ({"key": "k", "type": "poll", "name": "east-sw"}, "records[1].(record)"),
    ({"type": "poll", "name": "east-sw"}, "records[1].key"),
])
def test_a_bad_record_refuses_the_batch_and_says_which(zone_app, record, key):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post("/api/v1/zones/ingest",
                         json={"collector": collector(), "records": [poll(), record]})
    assert answer.status_code == 422
    assert answer.json["errors"][0]["key"] == key
    assert count(zone_app, IngestReceipt) == 0   # nothing of the batch was applied


@pytest.mark.parametrize("change", [
    {"at": 1e300}, {"at": -1}, {"samples": 10**30}, {"samples": 1.5}, {"error": {"x": 1}},
    {"error": "e" * 100_000}, {"duration_seconds": 1e300}, {"interval_seconds": 10**30}])
def test_numbers_and_values_past_what_the_ledger_holds_are_refused(zone_app, change):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post("/api/v1/zones/ingest",
                         json={"collector": collector(), "records": [{**poll(), **change}]})
    assert answer.status_code == 422 and answer.json["errors"][0]["key"] == "records[0].(record)"
    assert len(answer.get_data()) < 1000
    assert count(zone_app, IngestReceipt) == 0


@pytest.mark.parametrize("change", [{"backlog_samples": 10**30}, {"targets_owned": -1},
                                    {"member": "m" * 1_000_000}])
def test_a_bad_collector_report_is_refused_and_never_echoed_whole(zone_app, change):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post("/api/v1/zones/ingest",
                         json={"collector": {**collector(), **change}, "records": []})
    assert answer.status_code == 422
    assert answer.json["errors"][0]["key"] == f"collector.{next(iter(change))}"
    assert len(answer.get_data()) < 1000


def test_a_huge_target_name_is_not_echoed_whole(zone_app):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post("/api/v1/zones/ingest", json={
        "collector": collector(), "records": [poll(name="n" * 1_000_000)]})
    assert answer.status_code == 422 and "…(1000000)" in answer.json["errors"][0]["reason"]
    assert len(answer.get_data()) < 1000


def test_only_zone_collectors_deliver(zone_app):
    batch = {"collector": collector(), "records": [poll()]}
    assert zone_app.test_client().post("/api/v1/zones/ingest", json=batch).status_code == 401
    for roles, dept in (({"operator"}, None), ({"data_officer"}, "D1"),
                        ({"census_admin"}, None)):
        name = "-".join(sorted(roles))
        client = bearer(zone_app, name, roles, dept)
        assert client.post("/api/v1/zones/ingest", json=batch).status_code == 403, roles
    assert count(zone_app, IngestReceipt) == 0
    central = bearer(zone_app, "zone-central", {"zone_collector"}, zone="central")
    refused = central.post("/api/v1/zones/ingest",
                           json={"collector": collector(zone="central"), "records": []})
    assert refused.status_code == 422 and refused.json["errors"][0]["key"] == "collector.zone"


def test_a_zone_collector_token_delivers_for_its_own_zone_only(zone_app):
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    forged = east.post("/api/v1/zones/ingest", json={
        "collector": collector("west", "west-a"), "records": [poll(name="west-sw")]})
    assert forged.status_code == 403 and forged.json["errors"][0]["key"] == "collector.zone"
    unbound = bearer(zone_app, "zone-any", {"zone_collector"})
    assert unbound.post("/api/v1/zones/ingest", json={
        "collector": collector(), "records": [poll()]}).status_code == 403
    assert count(zone_app, IngestReceipt) == 0
    ledger = zone_app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        assert session.get(TargetState, "west-sw") is None


def test_the_page_lists_every_collector_and_departments_never_see_it(zone_app):
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    west = bearer(zone_app, "zone-west", {"zone_collector"}, zone="west")
    assert east.post("/api/v1/zones/ingest", json={"collector": collector(),
                                                    "records": [poll()]}).status_code == 200
    assert west.post("/api/v1/zones/ingest", json={"collector": collector("west", "west-a"),
                                                    "records": []}).status_code == 200
    operator = bearer(zone_app, "op", {"operator"})
    page = operator.get("/zones").get_data(as_text=True)
    assert "east-a" in page and "west-a" in page and "分区采集器" in page
    listed = operator.get("/zones?format=json").json
    east_row = [i for i in listed["items"] if i["member"] == "east-a"][0]
    assert (east_row["backlog_samples"], east_row["targets_owned"], east_row["version"],
            east_row["applied_total"]) == (5, 1, "0.1.0", 1)
    assert listed["zone_targets"] == {"central": 1, "east": 1, "west": 1}
    assert "Zone collectors" in operator.get("/zones?lang=en").get_data(as_text=True)
    metrics = operator.get("/metrics").get_data(as_text=True)
    assert 'infraledger_zone_collector_backlog_samples{member="east-a",zone="east"} 5.0' \
        in metrics
    officer = bearer(zone_app, "officer", {"data_officer"}, "D1")
    assert officer.get("/zones").status_code == 403
    assert east.get("/zones").status_code == 403   # a zone token only delivers
    # A collector silent for over 2 minutes is down, in words and in the JSON.
    assert east_row["state"] == "up" and "失联" not in page
    ledger = zone_app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        row = session.get(ZoneCollector, "west-a")
        row.last_contact = row.last_contact - dt.timedelta(minutes=10)
        session.commit()
    states = {i["member"]: i["state"] for i in operator.get("/zones?format=json").json["items"]}
    assert states == {"east-a": "up", "west-a": "down"}
    assert "失联（超过 2 分钟未联系）" in operator.get("/zones?lang=zh").get_data(as_text=True)
    assert "down (no contact for over 2 minutes)" in \
        operator.get("/zones?lang=en").get_data(as_text=True)


def test_a_zone_token_reads_no_analysis(zone_app):
    """A zone's machine token delivers; it reads neither the analyses' runs nor results."""
    zone = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    for url in ("/api/v1/analysis/runs", "/api/v1/reconciliation", "/api/v1/findings",
                "/api/v1/compute"):
        assert zone.get(url).status_code == 403, url
    assert bearer(zone_app, "leader", {"leader"}).get("/api/v1/analysis/runs").status_code \
        == 200
