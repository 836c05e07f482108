"""A new-user trial with two members of a zone: records one member delivers late (its outbox
replayed after a restart) must not turn back newer state another member already delivered
(last poll, status, facts)."""

from __future__ import annotations

import time

from ledger.models import TargetState
from tests.dashboards.test_zones import bearer, collector, poll, zone_app  # noqa: F401


def test_an_older_poll_replayed_by_another_member_does_not_roll_state_back(zone_app):  # noqa: F811
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    now = time.time()
    old = poll(status="error")           # member A polled it a minute ago, then was cut off
    old["at"] = now - 60
    new = poll(status="ok")              # member B took the target over and polled it now
    new["at"] = now
    assert client.post("/api/v1/zones/ingest", json={
        "collector": collector(member="east-b"), "records": [new]}).status_code == 200
    # member A comes back and delivers its outbox, in its own order
    assert client.post("/api/v1/zones/ingest", json={
        "collector": collector(member="east-a"), "records": [old]}).status_code == 200
    ledger = zone_app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        state = session.get(TargetState, "east-sw")
        assert state.polls_total == 2
        # expected: the newest poll's outcome stays the target's state
        assert state.status == "ok"
        assert abs(state.last_poll.timestamp() - now) < 1


def test_older_facts_replayed_by_another_member_do_not_overwrite_newer_ones(zone_app):  # noqa: F811
    from sqlalchemy import select

    from ledger.models import ObservedAsset
    from tests.dashboards.test_zones import facts
    client = bearer(zone_app, "zone-east", {"zone_collector"}, zone="east")
    now = time.time()
    old, new = facts(), facts()
    old["seen_at"], new["seen_at"] = now - 600, now
    old["facts"][0]["attributes"]["cpu_cores"] = 4      # before the upgrade
    new["facts"][0]["attributes"]["cpu_cores"] = 16     # after it
    for member, record in (("east-b", new), ("east-a", old)):
        assert client.post("/api/v1/zones/ingest", json={
            "collector": collector(member=member), "records": [record]}).status_code == 200
    ledger = zone_app.extensions["infra_ledger"]["ledger"]
    with ledger.session() as session:
        asset = session.scalars(select(ObservedAsset)).one()
        assert asset.attributes.get("cpu_cores") == 16, asset.attributes
        assert abs(asset.last_seen.timestamp() - now) < 1
