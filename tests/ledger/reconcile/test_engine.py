"""Reconciliation as a pure function over plain rows: every outcome, explained.

Each case also runs through the set-based SQL the ledger uses (SQLite and PostgreSQL):
the same rows written to a ledger give the same pairs and findings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from ledger.census.tables import TABLES
from ledger.models import ObservedAsset, TargetState
from ledger.policy import ReconcilePolicy
from ledger.reconcile import sql
from ledger.reconcile.engine import Inputs, reconcile
from tests.ledger.reconcile.rows import NOW, books, device, observed, resource, state

GIB = 1024 ** 3
_LEDGER = []


@pytest.fixture(autouse=True)
def sql_ledger(ledger):
    """The ledger (SQLite, then PostgreSQL) every :func:`run` checks the SQL on."""
    _LEDGER.append(ledger)
    yield ledger
    _LEDGER.clear()


def run(devices=(), resources=(), rows=(), states=None, policy=None):
    states = states if states is not None else {"sw-1": state("sw-1")}
    policy = policy or ReconcilePolicy()
    inputs = Inputs(list(devices), list(resources), list(rows), books(), states, NOW)
    outcome = reconcile(inputs, policy)
    engine = _LEDGER[0].engine
    write(engine, devices, resources, rows, states)
    with engine.connect() as conn:
        got = sql.reconcile(conn, policy, NOW)
    assert (got.pairs, got.found, got.members) == (outcome.pairs, outcome.found,
                                                   outcome.members)
    return outcome


def write(engine, devices, resources, rows, states) -> None:
    """The plain rows (and the code books of :func:`books`) as ledger rows."""
    stamp = {"created_at": NOW, "updated_at": NOW}
    tables = [ObservedAsset.__table__, TargetState.__table__, TABLES["cloud_resource"],
              TABLES["device"], TABLES["cloud_platform"], TABLES["data_center"],
              TABLES["department"]]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(delete(table))
        conn.execute(TABLES["department"].insert(), [
            {"id": i, "code": code, "name": name, "parent_id": parent, "path": path, **stamp}
            for i, code, name, parent, path in ((1, "D1", "大数据局", None, "/1/"),
                                                (2, "D2", "公安局", None, "/2/"),
                                                (3, "D21", "公安局福田分局", 2, "/2/3/"))])
        conn.execute(TABLES["data_center"].insert(), [
            {"id": 1, "code": "DC1", "name": "主数据中心", "department_id": 1,
             "build_mode": "self", "consolidation_status": "in_use", **stamp}])
        conn.execute(TABLES["cloud_platform"].insert(), [
            {"id": 1, "code": "CP1", "name": "政务云", "department_id": 1, "build_mode": "self",
             **stamp}])
        for table, items in ((TABLES["device"], devices), (TABLES["cloud_resource"], resources),
                             (ObservedAsset.__table__, rows)):
            for item in items:
                values = {k: v for k, v in item._asdict().items() if k in table.c}
                if table is not ObservedAsset.__table__:
                    values.update(stamp)
                conn.execute(table.insert().values(values))
        for name, item in states.items():
            conn.execute(TargetState.__table__.insert().values(
                name=name, kind=item.kind, interval_seconds=item.interval_seconds,
                last_success=item.last_success, last_poll=item.last_poll, up=item.up))


def pairs_by_code(outcome):
    return {p["declared_code"]: p for p in outcome.pairs if p["declared_code"]}


def test_a_serial_with_vendor_alias_matches_and_explains_itself():
    declared = device("DEV1", vendor="华为", serial_number="2102351931DMK8000123",
                      model="CE12808", hostname="core-sw-1")
    seen = observed(serial_number="2102351931dmk8000123", vendor="HUAWEI TECHNOLOGIES CO., LTD.",
                    model="CE12808", hostname="core-sw-1.gov.local", department="D1",
                    department_id=1)
    outcome = run([declared], rows=[seen])
    pair = pairs_by_code(outcome)["DEV1"]
    assert (pair["outcome"], pair["matched_by"], pair["differences"]) == (
        "matched", "serial_number", [])
    assert pair["observed_keys"]["serial_number"] == "2102351931DMK8000123"
    assert outcome.summary == {"matched": 1, "undeclared": 0, "missing": 0, "suspect": 0,
                               "mismatch": 0, "conflict": 0}
    assert outcome.found == []


def test_field_differences_are_findings_with_both_values_source_and_time():
    declared = resource("VM1", instance_id="6F1C1C1E-8A7E-4B6B-9A0C-1B2C3D4E5F60", vcpu=16,
                        memory_gib=32, platform_id=1)
    seen = observed("instance", source="vc-01", collector="vsphere",
                    instance_uuid="6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60", vcpus=32,
                    memory_bytes=int(31.5 * GIB), platform="政务云")
    outcome = run(resources=[declared], rows=[seen], states={})
    pair = pairs_by_code(outcome)["VM1"]
    assert pair["outcome"] == "mismatch" and pair["matched_by"] == "instance_uuid"
    assert pair["differences"] == [{"field": "vcpu", "declared": 16, "observed": 32,
                                    "source": "vc-01", "time": NOW.isoformat()}]
    (finding,) = outcome.found
    assert finding.fingerprint == f"mismatch|d:cloud_resource:{declared.id}|vcpu"
    assert (finding.kind, finding.department_id, finding.declared_code) == ("mismatch", 1, "VM1")


def test_undeclared_missing_never_seen_and_retired():
    gone = device("DEV9", serial_number="SN-NEVER")
    retired = device("DEV8", serial_number="SN-OLD", status="retired")
    stranger = observed(serial_number="SN-STRANGER", department_id=2)
    outcome = run([gone, retired], rows=[stranger])
    assert outcome.summary["undeclared"] == 1 and outcome.summary["missing"] == 1
    kinds = {(f.kind, f.declared_code, f.department_id) for f in outcome.found}
    assert kinds == {("undeclared", None, 2), ("missing", "DEV9", 1)}


def test_not_seen_for_days_is_missing_and_silent_sources_make_it_suspect():
    old = device("DEV1", serial_number="SN1")
    quiet = device("DEV2", serial_number="SN2")
    rows = [observed(serial_number="SN1", source="sw-1", seen=NOW - dt.timedelta(days=8)),
            observed(serial_number="SN2", source="sw-2", seen=NOW - dt.timedelta(minutes=5))]
    # sw-2 was polled just now and has failed for five minutes (five intervals).
    states = {"sw-1": state("sw-1"), "sw-2": state("sw-2", 60, NOW - dt.timedelta(minutes=5),
                                                   last_poll=NOW)}
    outcome = run([old, quiet], rows=rows, states=states)
    pairs = pairs_by_code(outcome)
    assert pairs["DEV1"]["outcome"] == "missing" and pairs["DEV1"]["matched_by"] == "serial_number"
    assert pairs["DEV2"]["outcome"] == "suspect"
    # The same asset from a source that answered a minute ago is fine.
    fresh = run([quiet], rows=[rows[1]], states={"sw-2": state("sw-2", 600, NOW)})
    assert pairs_by_code(fresh)["DEV2"]["outcome"] == "matched"


def test_time_passing_without_polls_is_no_evidence():
    """Polled five minutes ago and not since (polls run by hand, or the scheduler stopped):
    nothing says the asset went away; only after ``missing_after`` is it missing."""
    declared = device("DEV1", serial_number="SN1")
    rows = [observed(serial_number="SN1", source="sw-1", seen=NOW - dt.timedelta(minutes=5))]
    idle = {"sw-1": state("sw-1", 15, NOW - dt.timedelta(minutes=5))}
    assert pairs_by_code(run([declared], rows=rows, states=idle))["DEV1"]["outcome"] == \
        "matched"
    # Polls that ran and failed for three intervals are evidence.
    failing = {"sw-1": state("sw-1", 15, NOW - dt.timedelta(minutes=5),
                             last_poll=NOW - dt.timedelta(seconds=10))}
    assert pairs_by_code(run([declared], rows=rows, states=failing))["DEV1"]["outcome"] == \
        "suspect"
    week = [observed(serial_number="SN1", source="sw-1", seen=NOW - dt.timedelta(days=8))]
    assert pairs_by_code(run([declared], rows=week, states=idle))["DEV1"]["outcome"] == \
        "missing"


def test_an_asset_missing_from_its_sources_later_reports_is_suspect():
    declared = device("DEV1", mac="52:54:00:00:00:01")
    rows = [observed(macs=["52:54:00:00:00:01"], source="sw-1", seen=NOW - dt.timedelta(minutes=10)),
            observed(macs=["52:54:00:00:00:02"], source="sw-1", seen=NOW)]
    outcome = run([declared], rows=rows, states={"sw-1": state("sw-1", 60)})
    assert pairs_by_code(outcome)["DEV1"]["outcome"] == "suspect"


def test_two_keys_pointing_at_two_declared_assets_is_a_conflict():
    by_serial = device("DEV1", serial_number="SN1")
    by_mac = device("DEV2", mac="52:54:00:00:00:09")
    seen = observed(serial_number="SN1", macs=["52:54:00:00:00:09"])
    outcome = run([by_serial, by_mac], rows=[seen])
    assert {p["outcome"] for p in outcome.pairs} == {"conflict"}
    assert {f.declared_code for f in outcome.found} == {"DEV1", "DEV2"}
    assert all(f.details["reason"] == "keys" for f in outcome.found)


def test_one_declared_asset_claimed_by_two_observed_is_a_conflict():
    declared = device("DEV1", management_ip="10.0.0.1")
    rows = [observed(mgmt_ip="10.0.0.1", source="a", collector="snmp"),
            observed(mgmt_ip="10.0.0.1", source="b", collector="snmp")]
    outcome = run([declared], rows=rows, states={})
    assert [p["outcome"] for p in outcome.pairs] == ["conflict", "conflict"]
    assert outcome.summary["missing"] == 0


def test_placeholder_and_shared_serials_never_merge_or_match():
    declared = device("DEV1", serial_number="To be filled by O.E.M.")
    shared = device("DEV2", serial_number="ABC000123")
    rows = [observed(serial_number="To be filled by O.E.M.", source="a", hostname="h1"),
            observed(serial_number="ABC000123", source="b", hostname="h2"),
            observed(serial_number="ABC000123", source="c", hostname="h3")]
    outcome = run([declared, shared], rows=rows, states={})
    assert outcome.summary["undeclared"] == 3
    assert outcome.summary["matched"] == 0 and outcome.summary["missing"] == 2


def test_one_server_seen_by_its_bmc_agent_and_vcenter_is_one_match():
    declared = device("SRV1", serial_number="J1234", vendor="Dell", model="PowerEdge R750",
                      device_type="server", cpu_cores=56, memory_gib=512)
    rows = [observed("server", source="bmc-1", collector="redfish", serial_number="J1234",
                     vendor="Dell Inc.", model="PowerEdge R750", memory_bytes=512 * GIB,
                     machine_uuid="4c4c4544-0042-3510-8048-b4c04f564433"),
            observed("host", source="srv-1", collector="host", cpu_cores=56,
                     machine_uuid="4C4C4544-0042-3510-8048-B4C04F564433",
                     memory_bytes=int(503.6 * GIB)),
            observed("hypervisor", source="vc-01", collector="vsphere", serial_number="J1234",
                     cpu_cores=56)]
    outcome = run([declared], rows=rows, states={})
    (pair,) = outcome.pairs
    assert pair["outcome"] == "matched" and pair["observed_source"] == "bmc-1"
    assert pair["also_seen_by"] == ["vc-01/hypervisor", "srv-1/host"]


def test_retired_yet_answering_is_a_status_mismatch():
    declared = device("DEV1", serial_number="SN1", status="retired")
    outcome = run([declared], rows=[observed(serial_number="SN1")])
    assert pairs_by_code(outcome)["DEV1"]["differences"][0]["field"] == "status"


def test_ip_with_a_different_hostname_is_not_the_same_asset():
    declared = device("DEV1", management_ip="10.0.0.1", hostname="core-1")
    outcome = run([declared], rows=[observed(mgmt_ip="10.0.0.1", hostname="edge-7")])
    assert outcome.summary == {"matched": 0, "undeclared": 1, "missing": 1, "suspect": 0,
                               "mismatch": 0, "conflict": 0}


def test_departments_related_by_the_tree_agree_and_unknown_codes_are_findings():
    declared = device("DEV1", serial_number="SN1", department_id=3)
    rows = [observed(serial_number="SN1", department="D2", department_id=2),
            observed(serial_number="SN2", department="D404", source="sw-9")]
    outcome = run([declared], rows=rows)
    assert pairs_by_code(outcome)["DEV1"]["outcome"] == "matched"
    unknown = [f for f in outcome.found if f.kind == "unknown_department"]
    assert [(f.details["code"], f.details["source"]) for f in unknown] == [("D404", "sw-9")]


def test_keys_are_configurable():
    declared = device("DEV1", hostname="core-1")
    rows = [observed(hostname="CORE-1.example")]
    assert run([declared], rows=rows).summary["matched"] == 0
    keys = {"device": ("serial_number", "hostname"), "cloud_resource": ("instance_uuid",)}
    assert run([declared], rows=rows, policy=ReconcilePolicy(keys=keys)).summary["matched"] == 1
