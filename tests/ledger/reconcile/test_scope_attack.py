"""Attacks on incremental reconciliation: after each change and incremental run, the ledger
must hold what a whole run from scratch (the engine) gives."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select, text

from ledger import findings
from ledger.census.tables import TABLES
from ledger.const import RECONCILE_KINDS
from ledger.models import Finding, ObservedAsset, TargetState
from ledger.policy import ReconcilePolicy
from ledger.reconcile import store
from ledger.reconcile.engine import reconcile
from tests.ledger.reconcile.test_scope import (GIB, POLICY, books, last_recomputed, plain,
                                               sparse)
from tests.ledger.reconcile.test_sql_match import NOW, stored_pairs

OA = ObservedAsset.__table__
DEVICE, RESOURCE = TABLES["device"], TABLES["cloud_resource"]


def setup(engine, policy=POLICY, now=NOW):
    books(engine)
    sparse(engine, random.Random(1))
    store.run(engine, policy, now=now)


def check(engine, now, note="", policy=POLICY, scoped=True, details=True):
    with engine.connect() as conn:
        outcome = reconcile(store.load_inputs(conn, now), policy)
        pairs = sorted(outcome.pairs, key=lambda p: p["fingerprint"])
        got_pairs = stored_pairs(conn)
        members = dict(conn.execute(select(OA.c.id, OA.c.entity_id)
                                    .where(OA.c.entity_id.is_not(None))).all())
        table = Finding.__table__
        got_found = {r.fingerprint: r.details for r in conn.execute(
            select(table.c.fingerprint, table.c.details).where(
                table.c.active.is_(True), table.c.kind.in_(sorted(RECONCILE_KINDS))))}
    if scoped:
        assert last_recomputed(engine)["whole"] is False, note
    assert plain(got_pairs) == plain(pairs), note
    assert members == outcome.members, note
    assert sorted(got_found) == sorted(f.fingerprint for f in outcome.found), note
    if details:
        def strip(d):
            d = dict(d)
            d.pop("time", None)
            return d
        want = {f.fingerprint: strip(f.details) for f in outcome.found}
        assert {k: strip(v) for k, v in got_found.items()} == want, note


def oa_id(engine, natural_key):
    with engine.connect() as conn:
        return conn.execute(select(OA.c.id).where(OA.c.natural_key == natural_key)).scalar_one()


def later(minutes):
    return NOW + dt.timedelta(minutes=minutes)


def add_host_twin(engine, i, **values):
    """A host-agent row of the same server sp-i (collector 'host'), joined by serial."""
    with engine.begin() as conn:
        return conn.execute(OA.insert().values(
            source="agent", collector="host", kind="host", natural_key=f"host-{i}",
            serial_number=f"SPARSE{i:05d}", vendor="Huawei", macs=[],
            first_seen=NOW, last_seen=NOW, **values)).inserted_primary_key[0]


# 1. A row deleted and re-inserted with the same id and the same values.
def test_reinserted_member_row_keeps_its_entity(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 5, memory_bytes=256 * GIB)
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "twin added")
    hid = oa_id(ledger.engine, "host-5")
    with ledger.engine.begin() as conn:
        row = dict(conn.execute(select(OA).where(OA.c.id == hid)).one()._mapping)
        conn.execute(OA.delete().where(OA.c.id == hid))
        row["entity_id"] = None
        conn.execute(OA.insert().values(row))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "re-inserted")


# 2. Kind to a non-reconcilable kind and back.
def test_kind_away_and_back(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 7)
    store.run(ledger.engine, POLICY, now=later(1))
    hid = oa_id(ledger.engine, "sp-7")
    for n, kind in enumerate(["bmc", "switch", "server", "hypervisor", "bmc", "host"], 2):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.id == hid).values(kind=kind))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), kind)


# 3. A machine UUID equal to a declared instance id; then the instance row goes.
def test_machine_uuid_meets_declared_instance(ledger):
    setup(ledger.engine)
    uuid = f"5e5e5e5e-0000-4000-8000-{3:012x}"
    with ledger.engine.begin() as conn:
        conn.execute(OA.insert().values(
            source="t4", collector="redfish", kind="host", natural_key="mu-1",
            machine_uuid=uuid.upper(), macs=[], first_seen=NOW, last_seen=NOW))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "machine uuid added")
    with ledger.engine.begin() as conn:
        conn.execute(OA.delete().where(OA.c.natural_key == "spvm-3"))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "instance row gone")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "mu-1").values(kind="instance"))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "machine uuid row becomes instance")


# 4. Volumes keyed by natural_key.
def test_volume_natural_key(ledger):
    setup(ledger.engine)
    uuid = f"5e5e5e5e-0000-4000-8000-{9:012x}"
    with ledger.engine.begin() as conn:
        conn.execute(OA.insert().values(
            source="t3", collector="openstack", kind="volume",
            natural_key=f"res:volume:{uuid}", macs=[], first_seen=NOW, last_seen=NOW))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "volume added")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.kind == "volume").values(
            natural_key=f"res:volume:{uuid[:-1]}f"))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "volume key changed")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.kind == "volume").values(kind="instance"))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "volume now instance")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key.like("res:volume:%")).values(
            kind="volume", natural_key=f"res:volume:{uuid}"))
    store.run(ledger.engine, POLICY, now=later(4))
    check(ledger.engine, later(4), "volume back")


# 5. Several MACs; one removed splits an entity.
def test_mac_lists(ledger):
    setup(ledger.engine)
    with ledger.engine.begin() as conn:
        conn.execute(OA.insert().values(
            source="agent", collector="host", kind="host", natural_key="macs-1",
            macs=["02:AA:00:00:00:0a", "02-aa-00-00-00-0b", "02aa.0000.000c"],
            first_seen=NOW, last_seen=NOW))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "three macs")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "macs-1").values(
            macs=["02:aa:00:00:00:0b", "02:aa:00:00:00:0c"]))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "one mac dropped")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "macs-1").values(
            macs=["02:aa:00:00:00:0c", "02:aa:00:00:00:0c"]))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "duplicate mac")


# 6. Placeholders configured in the policy.
def test_policy_placeholders(ledger):
    policy = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=5.0, placeholders=frozenset({"SPARSE00004",
                                                                            "ABC123"}))
    setup(ledger.engine, policy)
    for n, serial in enumerate(["abc123", "SPARSE00004", "SPARSE00006", None, "Abc123 "], 1):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == "sp-6")
                         .values(serial_number=serial))
        store.run(ledger.engine, policy, now=later(n))
        check(ledger.engine, later(n), serial, policy=policy)


# 7. A value two rows of one collector share, then un-shared.
def test_shared_then_unshared(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 10)
    store.run(ledger.engine, POLICY, now=later(1))
    steps = [("sp-11", "SPARSE00010"), ("sp-11", "SPARSE00011"), ("sp-12", "SPARSE00010"),
             ("sp-10", "SPARSE00012"), ("sp-10", "SPARSE00010"), ("sp-12", "SPARSE00012")]
    for n, (key, serial) in enumerate(steps, 2):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == key)
                         .values(serial_number=serial))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), (key, serial))


# 8. Long and Unicode identity values.
def test_long_and_unicode_values(ledger):
    setup(ledger.engine)
    long_a = "l" * 199 + "xa" + "q" * 40     # hostnames (255 characters allowed)
    long_b = "l" * 199 + "xb" + "q" * 40
    with ledger.engine.begin() as conn:
        conn.execute(DEVICE.update().where(DEVICE.c.code == "SP20").values(
            hostname=long_a))
        conn.execute(DEVICE.update().where(DEVICE.c.code == "SP22").values(
            hostname="ｓｐａｒｓｅ－２２"))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "declared long")
    for n, (key, values) in enumerate([
            ("sp-20", {"hostname": long_a}), ("sp-21", {"hostname": long_b}),
            ("sp-21", {"hostname": long_a}), ("sp-21", {"hostname": long_b}),
            ("sp-20", {"serial_number": "ＳＰＡＲＳＥ０００２０"}),
            ("sp-22", {"hostname": "ＳＰＡＲＳＥ-22"}),
            ("sp-22", {"hostname": "sparse-22.gov.local"})], 2):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == key).values(**values))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), (key, values))


# 9. Vendor-only changes where serial matching needs compatible vendors.
def test_vendor_only_changes(ledger):
    setup(ledger.engine)
    steps = [(OA, OA.c.natural_key == "sp-30", "Dell Inc."),
             (OA, OA.c.natural_key == "sp-30", "华为"),
             (DEVICE, DEVICE.c.code == "SP31", "H3C"),
             (DEVICE, DEVICE.c.code == "SP31", "HUAWEI TECHNOLOGIES CO., LTD."),
             (OA, OA.c.natural_key == "sp-32", None)]
    for n, (table, where, vendor) in enumerate(steps, 1):
        with ledger.engine.begin() as conn:
            conn.execute(table.update().where(where).values(vendor=vendor))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), vendor)


# 10. A source goes silent and comes back (target_state only).
def test_source_silent_and_back(ledger):
    with ledger.engine.begin() as conn:
        conn.execute(TargetState.__table__.insert(), [
            {"name": f"t{i}", "kind": "snmp", "interval_seconds": 300, "last_poll": NOW,
             "last_success": NOW, "polls_total": 1, "failures_total": 0,
             "samples_total": 0, "duration_seconds_total": 0.0} for i in range(6)])
    setup(ledger.engine)
    state = TargetState.__table__
    steps = [dict(last_poll=later(60), last_success=NOW),
             dict(last_poll=later(61), last_success=later(61)),
             dict(interval_seconds=None), dict(interval_seconds=1),
             dict(last_poll=later(70), last_success=None)]
    for n, values in enumerate(steps, 1):
        with ledger.engine.begin() as conn:
            conn.execute(state.update().where(state.c.name == "t2").values(**values))
        now = later(60 + n * 3)
        store.run(ledger.engine, POLICY, now=now)
        check(ledger.engine, now, values)


# 11. Time passes across missing_after with no change; then back in time.
def test_time_passing_and_going_back(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 40)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-41").values(
            last_seen=NOW - dt.timedelta(days=6, hours=23)))
        conn.execute(OA.update().where(OA.c.natural_key == "host-40").values(
            last_seen=NOW - dt.timedelta(days=6, hours=23)))
    store.run(ledger.engine, POLICY, now=NOW)
    check(ledger.engine, NOW, "start")
    for n, now in enumerate([NOW + dt.timedelta(hours=2), NOW + dt.timedelta(days=8),
                             NOW - dt.timedelta(days=1), NOW + dt.timedelta(hours=1),
                             NOW + dt.timedelta(days=30)]):
        store.run(ledger.engine, POLICY, now=now)
        # Most of the estate crosses missing_after at +8 days: that run may be whole.
        check(ledger.engine, now, (n, now), scoped=False)


# 12. A poll moves only last_seen of a stale entity (missing pair's details).
def test_poll_of_missing_entity(ledger):
    setup(ledger.engine)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-50").values(
            last_seen=NOW - dt.timedelta(days=20)))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "missing")
    for n, days in enumerate([15, 12, 18], 2):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == "sp-50").values(
                last_seen=NOW - dt.timedelta(days=days)))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), days)


# 13. A non-first row of an entity changes.
def test_non_first_row_of_entity_changes(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 60)
    store.run(ledger.engine, POLICY, now=later(1))
    steps = [{"memory_bytes": 64 * GIB}, {"hostname": "other-host"}, {"cpu_cores": 32},
             {"power_state": "stopped"}, {"department": "D2"}, {"department": "D999"},
             {"mgmt_ip": "10.77.0.61"}, {"source": "t9"}]
    for n, values in enumerate(steps, 2):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == "host-60").values(**values))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), values)


# 14. A finding resolved by hand, then its pair recomputed.
def test_manual_resolution_survives_incremental_recompute(ledger):
    setup(ledger.engine)
    fp = "mismatch|d:device:4|memory_gib"   # sp-3 has 128 GiB against 256 declared
    with ledger.engine.connect() as conn:
        fid = conn.execute(select(Finding.id).where(Finding.fingerprint == fp)).scalar_one()
    findings.transition(ledger.engine, fid, "resolved", actor="alice", reason="known")
    # Something else about the same pair changes: the pair is recomputed.
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-3").values(cpu_cores=64))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "recomputed")
    with ledger.engine.connect() as conn:
        state = conn.execute(select(Finding.state).where(Finding.fingerprint == fp)).scalar_one()
    assert state == "resolved"
    # The condition goes and comes back: the finding reopens.
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-3")
                     .values(memory_bytes=256 * GIB))
    store.run(ledger.engine, POLICY, now=later(2))
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-3")
                     .values(memory_bytes=128 * GIB))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "back")
    with ledger.engine.connect() as conn:
        state = conn.execute(select(Finding.state).where(Finding.fingerprint == fp)).scalar_one()
    assert state == "open"


# 15. A declared row deleted and a new one takes its keys; declared id reused.
def test_declared_row_deleted_and_reinserted_same_id(ledger):
    setup(ledger.engine)
    with ledger.engine.begin() as conn:
        row = dict(conn.execute(select(DEVICE).where(DEVICE.c.code == "SP70")).one()._mapping)
        conn.execute(DEVICE.delete().where(DEVICE.c.id == row["id"]))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "deleted")
    with ledger.engine.begin() as conn:
        conn.execute(DEVICE.insert().values({**row, "code": "SP70B", "status": "retired"}))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "re-inserted")


# 16. Observed department code unknown, then a department appears with that code.
def test_unknown_department_then_declared(ledger):
    setup(ledger.engine)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key.in_(["sp-80", "sp-81"]))
                     .values(department="D77"))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "unknown")
    with ledger.engine.begin() as conn:
        conn.execute(TABLES["department"].insert().values(
            id=77, code="D77", name="部门77", path="/1/77/", parent_id=1,
            created_at=NOW, updated_at=NOW))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "declared", scoped=False)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-80").values(department="部门77"))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "by name")


# 17. Two runs overlap (the daily job and a run by hand): the older snapshot writes last.
def test_overlapping_runs(ledger, monkeypatch):
    from ledger.census import audit
    setup(ledger.engine)
    with ledger.engine.begin() as conn:     # change C1: sp-90's memory
        conn.execute(OA.update().where(OA.c.natural_key == "sp-90")
                     .values(memory_bytes=64 * GIB))
    real = audit.lock_head
    state = {"inner": False}

    def lock_head(conn):
        if not state["inner"]:
            state["inner"] = True
            # While run A (snapshot taken, not yet written) waits for the lock: a poll
            # adds a host row of sp-90, and run B judges it and writes first.
            add_host_twin(ledger.engine, 90)
            store.run(ledger.engine, POLICY, now=later(2))
        return real(conn)

    monkeypatch.setattr(audit, "lock_head", lock_head)
    store.run(ledger.engine, POLICY, now=later(1))      # run A
    monkeypatch.setattr(audit, "lock_head", real)
    # Nothing changes any more: the next runs must leave the ledger as a whole run.
    store.run(ledger.engine, POLICY, now=later(3))
    store.run(ledger.engine, POLICY, now=later(4))
    check(ledger.engine, later(4), "after overlap")


# 18. A poll commits while a run is writing (after its snapshot, before move_times).
def test_poll_during_a_run_of_a_missing_asset(ledger, monkeypatch):
    from ledger.census import audit
    setup(ledger.engine)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-50").values(
            last_seen=NOW - dt.timedelta(days=20)))
    store.run(ledger.engine, POLICY, now=later(1))
    real = audit.lock_head

    def lock_head(conn):
        with ledger.engine.begin() as other:    # the poll sees sp-50 again, still stale
            other.execute(OA.update().where(OA.c.natural_key == "sp-50").values(
                last_seen=NOW - dt.timedelta(days=15)))
        return real(conn)

    with ledger.engine.begin() as conn:         # something else changes, so a run writes
        conn.execute(OA.update().where(OA.c.natural_key == "sp-51")
                     .values(memory_bytes=64 * GIB))
    monkeypatch.setattr(audit, "lock_head", lock_head)
    store.run(ledger.engine, POLICY, now=later(2))
    monkeypatch.setattr(audit, "lock_head", real)
    store.run(ledger.engine, POLICY, now=later(3))
    store.run(ledger.engine, POLICY, now=later(4))
    check(ledger.engine, later(4), "after poll during run")


# 19. The entity-id holder (first row) re-inserted; SQLite reuses the highest id.
def test_reinserted_first_row(ledger):
    setup(ledger.engine)
    add_host_twin(ledger.engine, 10)
    store.run(ledger.engine, POLICY, now=later(1))
    sid = oa_id(ledger.engine, "sp-10")
    with ledger.engine.begin() as conn:
        row = dict(conn.execute(select(OA).where(OA.c.id == sid)).one()._mapping)
        conn.execute(OA.delete().where(OA.c.id == sid))
        row["entity_id"] = None
        conn.execute(OA.insert().values(row))
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "first row re-inserted")


# 20. Target state row deleted / re-added; first_seen-only changes of a member row.
def test_target_state_deleted_and_first_seen(ledger):
    state = TargetState.__table__
    with ledger.engine.begin() as conn:
        conn.execute(state.insert(), [
            {"name": "t1", "kind": "snmp", "interval_seconds": 60, "last_poll": NOW,
             "last_success": NOW, "polls_total": 1, "failures_total": 0,
             "samples_total": 0, "duration_seconds_total": 0.0}])
    setup(ledger.engine)
    add_host_twin(ledger.engine, 13)
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "sp-13").values(
            last_seen=NOW - dt.timedelta(minutes=30)))
    store.run(ledger.engine, POLICY, now=later(1))
    check(ledger.engine, later(1), "suspect?")
    with ledger.engine.begin() as conn:
        conn.execute(state.delete())
    store.run(ledger.engine, POLICY, now=later(2))
    check(ledger.engine, later(2), "state gone")
    with ledger.engine.begin() as conn:
        conn.execute(OA.update().where(OA.c.natural_key == "host-13").values(
            first_seen=NOW - dt.timedelta(days=100)))
    store.run(ledger.engine, POLICY, now=later(3))
    check(ledger.engine, later(3), "first_seen")


# 21. Acknowledged finding across incremental recomputes.
def test_acknowledged_finding(ledger):
    setup(ledger.engine)
    fp = "mismatch|d:device:4|memory_gib"
    with ledger.engine.connect() as conn:
        fid = conn.execute(select(Finding.id).where(Finding.fingerprint == fp)).scalar_one()
    findings.transition(ledger.engine, fid, "acknowledged", actor="alice", reason="seen")
    for n, cores in enumerate([64, 32], 1):
        with ledger.engine.begin() as conn:
            conn.execute(OA.update().where(OA.c.natural_key == "sp-3").values(cpu_cores=cores))
        store.run(ledger.engine, POLICY, now=later(n))
        check(ledger.engine, later(n), cores)
    with ledger.engine.connect() as conn:
        assert conn.execute(select(Finding.state).where(Finding.fingerprint == fp)) \
            .scalar_one() == "acknowledged"
