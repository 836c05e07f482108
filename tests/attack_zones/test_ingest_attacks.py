"""Attack tests of the zone ingest API (POST /api/v1/zones/ingest) and the zones page.

Each case came from an attack on zones and holds the fixed behaviour (the docstrings
describe the attack). Reuses the fixtures and helpers of tests/dashboards/test_zones.py.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from ledger.models import ObservedAsset, TargetState, ZoneCollector
from tests.dashboards.test_zones import bearer, collector, facts, poll, zone_app  # noqa: F401

INGEST = "/api/v1/zones/ingest"


def ledger_of(app):
    return app.extensions["infra_ledger"]["ledger"]


# -- cross-zone tampering -----------------------------------------------------------------------

def test_a_zone_token_cannot_take_over_another_zones_collector_row(zone_app):
    """The member id is the ZoneCollector primary key, global across zones: east's token
    reporting member="west-a" rewrites west's row (zone, hostname, backlog, last contact)."""
    west = bearer(zone_app, "zone-west", {"zone_collector"}, zone="west")
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    assert west.post(INGEST, json={"collector": collector("west", "west-a"),
                                   "records": []}).status_code == 200
    hijack = {**collector("east", "west-a"), "hostname": "evil", "backlog_records": 0}
    answer = east.post(INGEST, json={"collector": hijack, "records": []})
    with ledger_of(zone_app).session() as session:
        row = session.get(ZoneCollector, "west-a")
        observed = (row.zone, row.hostname)
    # Expected: refused (the member belongs to zone west), and west's row untouched.
    assert answer.status_code in (403, 409, 422), answer.status_code
    assert observed == ("west", "zone-host")


# -- ordering and replay --------------------------------------------------------------------------

def test_an_older_poll_arriving_late_does_not_rewind_the_targets_state(zone_app):
    """Two members of a zone (or one member's outbox after a handover) deliver a target's
    polls out of order: the older outcome overwrites the newer one."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    now = time.time()
    newer = {**poll(status="ok"), "at": now}
    older = {**poll(status="error"), "at": now - 3600, "error": "timeout an hour ago"}
    assert client.post(INGEST, json={"collector": collector(member="east-b"),
                                     "records": [newer]}).status_code == 200
    assert client.post(INGEST, json={"collector": collector(member="east-a"),
                                     "records": [older]}).status_code == 200
    with ledger_of(zone_app).session() as session:
        state = session.get(TargetState, "east-sw")
        observed = (state.status, state.up, state.last_poll.timestamp())
    assert observed[0] == "ok" and observed[1] is True, observed
    assert abs(observed[2] - now) < 1, observed


def test_facts_seen_long_ago_do_not_rewind_last_seen(zone_app):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    now = time.time()
    fresh = {**facts(), "seen_at": now}
    stale = {**facts(), "seen_at": now - 6 * 86400}
    stale["facts"][0]["attributes"] = {"cpu_cores": 2}
    assert client.post(INGEST, json={"collector": collector(),
                                     "records": [fresh]}).status_code == 200
    assert client.post(INGEST, json={"collector": collector(member="east-b"),
                                     "records": [stale]}).status_code == 200
    with ledger_of(zone_app).session() as session:
        asset = session.scalars(select(ObservedAsset)).one()
        observed = (asset.last_seen.timestamp(), asset.cpu_cores)
    assert abs(observed[0] - now) < 1 and observed[1] == 8, observed


@pytest.mark.parametrize("field", ["at", "seen_at"])
def test_times_far_in_the_future_are_refused(zone_app, field):
    """A zone's clock (or a forged record) in year 9999: a target that never looks stale,
    an asset that never goes silent."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    record = poll() if field == "at" else facts()
    record[field] = 253402300000.0   # 9999-12-31
    answer = client.post(INGEST, json={"collector": collector(), "records": [record]})
    assert answer.status_code == 422, (answer.status_code, answer.json)


# -- counters and values -----------------------------------------------------------------------------

def test_huge_sample_counts_do_not_poison_later_polls_of_the_target(zone_app):
    """samples may be up to 2^63-1 per record; samples_total += samples then overflows the
    BIGINT column, and every later (honest) poll of the target is refused or fails."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    big = {**poll(), "samples": 2**63 - 1}
    refused = client.post(INGEST, json={"collector": collector(), "records": [big]})
    assert refused.status_code == 422, refused.status_code
    assert refused.json["errors"][0]["key"].startswith("records[0]"), refused.json
    honest = client.post(INGEST, json={"collector": collector(), "records": [poll()]})
    assert honest.status_code == 200, (honest.status_code, honest.get_data()[:300])


def test_a_poll_may_not_change_the_configured_kind_or_invent_a_status(zone_app):
    """kind and status are free text taken as sent (str(...)), so a zone rewrites the
    target's configured kind and writes statuses the pages do not know."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post(INGEST, json={"collector": collector(), "records": [
        {**poll(), "kind": "vsphere", "status": "<b>pwned</b>"}]})
    with ledger_of(zone_app).session() as session:
        state = session.get(TargetState, "east-sw")
        observed = None if state is None else (state.kind, state.status)
    assert answer.status_code == 422 or observed == ("host", None), (answer.status_code,
                                                                      observed)


def test_a_status_or_kind_too_long_for_the_column_names_the_record(zone_app):
    """TargetState.status is String(16), kind String(32): on PostgreSQL the value fails in the
    database and the error names '(records)', not records[i]; on SQLite it is stored."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post(INGEST, json={"collector": collector(), "records": [
        poll(), {**poll(), "status": "s" * 40}]})
    assert answer.status_code == 422, answer.status_code
    assert answer.json["errors"][0]["key"].startswith("records[1]"), answer.json


def test_targets_owned_past_a_32bit_column_is_refused_as_the_collector_field(zone_app):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post(INGEST, json={"collector": {**collector(), "targets_owned": 2**40},
                                       "records": [poll()]})
    assert answer.status_code == 422, answer.status_code
    assert answer.json["errors"][0]["key"] == "collector.targets_owned", answer.json


# -- department and provenance ------------------------------------------------------------------------

def test_facts_cannot_set_a_department_other_than_the_configured_targets(zone_app):
    """east-sw is configured with tags {department: D1}; the record's own tags say D2 and
    the center believes the record, not its configuration."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    record = {**facts(), "tags": {"department": "D2", "datacenter": "forged-dc"}}
    assert client.post(INGEST, json={"collector": collector(),
                                     "records": [record]}).status_code == 200
    with ledger_of(zone_app).session() as session:
        asset = session.scalars(select(ObservedAsset)).one()
        observed = asset.department
    assert observed == "D1", observed


def test_the_collector_name_of_a_facts_record_must_match_the_targets_kind(zone_app):
    """east-sw is a 'host' target; the record may claim to come from any collector."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    record = {**facts(), "collector": "vsphere"}
    answer = client.post(INGEST, json={"collector": collector(), "records": [record]})
    with ledger_of(zone_app).session() as session:
        asset = session.scalars(select(ObservedAsset)).first()
        observed = None if asset is None else asset.collector
    assert answer.status_code == 422 or observed == "host", (answer.status_code, observed)


# -- parser edges ----------------------------------------------------------------------------------------

def test_an_overflowing_float_literal_is_refused_like_infinity(zone_app):
    """The strict parser refuses the literals NaN/Infinity but 1e999 parses as inf."""
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    record = facts()
    body = json.dumps({"collector": collector(), "records": [record]})
    body = body.replace('"cpu_cores": 8', '"cpu_cores": 8, "load": 1e999')
    answer = client.post(INGEST, data=body, content_type="application/json")
    assert answer.status_code in (400, 422), answer.status_code


@pytest.mark.parametrize("body", [
    b"[" * 200_000 + b"]" * 200_000,
    b'{"collector": {"member": "\\ud800", "zone": "east"}, "records": []}',
    b"\xff\xfe{not utf-8",
    b'{"collector": 1, "records": {"a": 1}}',
], ids=["deep", "surrogate", "not-utf8", "wrong-types"])
def test_hostile_bodies_are_4xx(zone_app, body):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = client.post(INGEST, data=body, content_type="application/json")
    assert 400 <= answer.status_code < 500, answer.status_code


def test_an_oversized_body_is_413(zone_app):
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    body = json.dumps({"collector": collector(), "records": [
        {**poll(), "error": "e" * 4000} for _ in range(1200)]})
    assert len(body) > 4 * 1024 * 1024
    answer = client.post(INGEST, data=body, content_type="application/json")
    assert answer.status_code == 413, answer.status_code


# -- what a zone token may do besides delivering ---------------------------------------------------------

def test_a_zone_token_reads_nothing_but_delivers(zone_app):
    """README: the role 'holds one permission, zones.ingest: its token can deliver and
    read nothing else'. It also holds SELF (account page, API tokens)."""
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    # /metrics answers loopback without a login (README), the test client's address.
    paths = ("/account", "/targets", "/zones", "/api/v1/census",
             "/api/v1/openapi.json", "/findings", "/")
    readable = {p: east.get(p).status_code for p in paths}
    assert all(s in (401, 403, 404) for s in readable.values()), sorted(readable.items())


def test_a_zone_token_cannot_mint_further_tokens(zone_app):
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    answer = east.post("/account/tokens", data={"name": "persist", "days": "365",
                                                "roles": "zone_collector"})
    page = answer.get_data(as_text=True)
    assert "ilt_" not in page, answer.status_code


# -- the zones page -----------------------------------------------------------------------------------

def test_the_zones_page_needs_a_login_and_the_right_role(zone_app):
    anonymous = zone_app.test_client()
    for path in ("/zones", "/zones?format=json"):
        status = anonymous.get(path).status_code
        assert status in (302, 401, 403), (path, status)
    finance = bearer(zone_app, "fin", {"finance"})
    leader = bearer(zone_app, "lead", {"leader"})
    census = bearer(zone_app, "census", {"census_admin"})
    for client in (finance, leader, census):
        assert client.get("/zones?format=json").status_code == 403


def test_collector_text_is_escaped_on_the_page_and_in_metrics(zone_app):
    east = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    evil = {**collector(member='m"} 1\nfake_metric{a="'),
            "hostname": "<script>alert(1)</script>", "version": "<img src=x onerror=1>"}
    assert east.post(INGEST, json={"collector": evil, "records": []}).status_code == 200
    operator = bearer(zone_app, "op", {"operator"})
    page = operator.get("/zones").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    metrics = operator.get("/metrics").get_data(as_text=True)
    assert "\nfake_metric" not in metrics


