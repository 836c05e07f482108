"""A zone's real outbox (Outbox + CenterClient over HTTP) against a real center app served
on 127.0.0.1: what happens to records when the center refuses or fails them.

Each case came from an attack on zones and holds the fixed behaviour; the test
docstrings describe the attack.
"""

from __future__ import annotations

import dataclasses

import json
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from dashboards import create_app
from ledger.models import TargetState
from monitor.config import parse_settings
from monitor.coordination import zone as zone_module
from monitor.coordination.outbox import CenterClient, Outbox
from tests.dashboards.users import FAST_HASHER, make_token, make_user

CENTER_TARGETS = [{"name": "east-sw", "kind": "host", "zone": "east"},
                  {"name": "east-sw2", "kind": "host", "zone": "east"}]


@pytest.fixture
def center(tmp_path, ledger, embedded_store, clock):
    settings = parse_settings({"targets": CENTER_TARGETS}, "(test)",
                              data_dir=str(tmp_path / "center"))
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": embedded_store,
                      "TESTING": False, "CLOCK": clock, "PASSWORD_HASHER": FAST_HASHER})
    make_user(app, "zone-east", {"zone_collector"}, zone="east")
    token = make_token(app, "zone-east", {"zone_collector"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()


def report(member="east-a"):
    return lambda: {"member": member, "zone": "east", "hostname": "h", "version": "0.1",
                    "targets_owned": 2, "backlog_samples": 0, "backlog_records": 0}


def poll(name, samples=1):
    return {"key": uuid.uuid4().hex, "type": "poll", "name": name, "kind": "host",
            "status": "ok", "duration_seconds": 0.1, "error": None, "samples": samples,
            "at": time.time(), "interval_seconds": 60}


def run_outbox(folder, url, token, records, member="east-a", seconds=6.0):
    box = Outbox(folder, CenterClient(url, token, report(member)))
    box.writer.flush_seconds = 0.05
    for record in records:
        box.put(record)
    box.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and box.depth:
        time.sleep(0.1)
    depth = box.depth
    box.stop(1.0)
    rejected = sorted(p.name for p in (folder / "rejected").glob("*.lp"))
    return depth, rejected


def polls_of(app, name):
    with app.extensions["infra_ledger"]["ledger"].session() as session:
        state = session.get(TargetState, name)
        return 0 if state is None else state.polls_total


def test_a_target_the_center_does_not_know_yet_is_kept_not_thrown_away(center, tmp_path):
    """Zone and center configurations are rolled out separately; a target added to the
    zone first is refused by the center with 422 and every record of it is set aside in
    outbox/rejected/ for good (never retried once the center knows the target)."""
    app, url, token = center
    folder = tmp_path / "outbox"
    depth, rejected = run_outbox(folder, url, token,
                                 [poll("east-new"), poll("east-sw"), poll("east-new")])
    assert polls_of(app, "east-sw") == 1
    assert len(rejected) == 2 and depth == 0   # set aside while the center does not know it
    # The center learns the target; the zone sends the refused records again.
    settings = app.extensions["infra_ledger"]["settings"]
    east_sw = next(t for t in settings.targets if t.name == "east-sw")
    app.extensions["infra_ledger"]["settings"] = dataclasses.replace(
        settings, targets=(*settings.targets, dataclasses.replace(east_sw, name="east-new")))
    box = Outbox(folder, CenterClient(url, token, report("east-a")))
    assert box.requeue_unknown_targets() == 2
    box.writer.flush_seconds = 0.05
    box.start()
    assert box.flush(10.0)
    box.stop(1.0)
    assert polls_of(app, "east-new") == 2
    assert sorted(p.name for p in (folder / "rejected").glob("*")) == []


def test_a_member_id_the_center_refuses_does_not_discard_the_whole_outbox(center, tmp_path,
                                                                            monkeypatch):
    """member_id() builds '<zone>-<hostname[:64]>-<8 hex>': a valid 64-character zone name
    and a long host name make it longer than the 128 characters the center (and the
    coord_member table) take. Every delivery is then refused with 422 on collector.member,
    which the writer reads as 'this record is bad' and sets aside record after record."""
    app, url, token = center
    monkeypatch.setattr(zone_module.socket, "gethostname", lambda: "h" * 64)
    member = zone_module.member_id(tmp_path / "zd", "e" * 64)
    assert len(member) <= 128
    # A collector report the center refuses (here a member id too long) keeps the batch:
    # no record can mend it, so none is set aside.
    folder = tmp_path / "outbox"
    depth, rejected = run_outbox(folder, url, token, [poll("east-sw"), poll("east-sw2")],
                                 member="m" * 129, seconds=3.0)
    assert rejected == [] and depth == 2, (depth, rejected)


def test_one_poisoned_target_does_not_stall_the_whole_zone(center, tmp_path):
    """A record with samples=2^63-1 would push samples_total past a BIGINT (on SQLite an
    OverflowError, HTTP 500, retried forever: no later record of ANY target applied). It is
    refused as a record (more samples than any poll has) and set aside; the rest goes on."""
    app, url, token = center
    folder = tmp_path / "outbox"
    _depth, rejected = run_outbox(folder, url, token, [poll("east-sw", samples=2**63 - 1)])
    assert len(rejected) == 1
    depth, _ = run_outbox(folder, url, token, [poll("east-sw"), poll("east-sw2")],
                          seconds=8.0)
    assert polls_of(app, "east-sw2") == 1, f"zone stalled, {depth} records waiting"
    assert polls_of(app, "east-sw") == 1


def test_the_facts_of_a_large_source_reach_the_center(center, tmp_path):
    """One facts record holds every fact of one poll (the README: 'a cloud reports 10,000
    instances'). Past the ingest route's 4 MiB body limit the center answers 413, which the
    outbox reads as 'refused for good' and sets the record aside: such a source's facts never
    reach the center from a zone, on every poll."""
    app, url, token = center
    facts = [{"kind": "instance", "keys": {"instance_id": f"i-{i:08x}",
                                           "hostname": f"vm-{i:05d}.east.example.gov.cn"},
              "attributes": {"vcpus": 4, "memory_bytes": 8 * 2**30, "power_state": "on",
                             "department": "D1", "project": f"project-{i % 97}",
                             "image": "kylin-v10-sp3-x86_64-2024.06",
                             "ips": [f"10.8.{i // 250}.{i % 250}"],
                             "tags": {"owner": "east-team", "env": "prod"}}}
             for i in range(15_000)]
    record = {"key": uuid.uuid4().hex, "type": "facts", "source": "east-sw",
              "collector": "host", "tags": {}, "seen_at": time.time(), "facts": facts}
    size = len(json.dumps(record))
    assert size > 4 * 2**20
    folder = tmp_path / "outbox"
    depth, rejected = run_outbox(folder, url, token, [record], seconds=30.0)
    assert rejected == [], f"a {size / 2**20:.1f} MiB facts record was set aside"
