"""Incremental reconciliation (:mod:`ledger.reconcile.scope`), SQLite and PostgreSQL: a run
that recomputes only the rows a change can reach leaves the ledger exactly as a whole run
would (the engine's pairs, entities and findings), change after change, whatever changed:
identity values that join or split entities and matches, figures, departments, places,
kinds and sources, rows added and deleted on either side, times that cross the missing and
suspect limits, sources going silent, time passing. Only the time a difference's value
was read may differ: it is the time of the run that judged the pair.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger.census.tables import TABLES
from ledger.models import AnalysisRun, Finding, ObservedAsset, ReconcilePair, TargetState
from ledger.policy import ReconcilePolicy
from ledger.reconcile import scope, store
from tests.ledger.reconcile.test_sql_match import (DC_TAGS, DEPARTMENT_TAGS, MODELS, NOW,
                                                   PLATFORM_TAGS, expected_state, fill_estate,
                                                   stored_pairs)

GIB = 2 ** 30
POLICY = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3, tolerance_percent=5.0)
OBSERVED_KINDS = ["device", "host", "server", "instance", "bmc", "node"]


def sparse(engine, rng: random.Random) -> None:
    """Beside the dense drawn estate: assets with keys of their own, most observed as
    declared, so a change reaches a few rows, not the estate."""
    device, resource = TABLES["device"], TABLES["cloud_resource"]
    stamp = {"created_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        conn.execute(device.insert(), [
            {"code": f"SP{i}", "name": f"稀疏设备{i}", "department_id": 1 + i % 3,
             "device_type": "server", "status": "in_use", "vendor": "Huawei",
             "serial_number": f"SPARSE{i:05d}", "mac": f"02:aa:00:00:{i >> 8:02x}:{i & 255:02x}",
             "management_ip": f"10.77.{i >> 8}.{i & 255}", "hostname": f"sparse-{i}",
             "memory_gib": 256.0, **stamp} for i in range(120)])
        conn.execute(resource.insert(), [
            {"code": f"SPVM{i}", "name": f"稀疏云主机{i}", "department_id": 1 + i % 3,
             "resource_type": "instance", "platform_id": 1, "status": "in_use",
             "instance_id": f"5e5e5e5e-0000-4000-8000-{i:012x}", "vcpu": 8, **stamp}
            for i in range(80)])
        rows = []
        base = dict.fromkeys(("serial_number", "vendor", "memory_bytes", "instance_uuid",
                              "vcpus"))
        for i in range(120):
            if i % 9 == 8:
                continue
            rows.append({**base, "source": f"t{i % 6}", "collector": "snmp", "kind": "server",
                         "natural_key": f"sp-{i}", "serial_number": f"SPARSE{i:05d}",
                         "vendor": "Huawei", "macs": [f"02:aa:00:00:{i >> 8:02x}:{i & 255:02x}"],
                         "memory_bytes": (128 if i % 7 == 3 else 256) * GIB,
                         "first_seen": NOW - dt.timedelta(days=3), "last_seen": NOW})
        for i in range(80):
            rows.append({**base, "source": "t3", "collector": "vsphere", "kind": "instance",
                         "natural_key": f"spvm-{i}", "macs": [],
                         "instance_uuid": f"5e5e5e5e-0000-4000-8000-{i:012x}",
                         "vcpus": 16 if i % 5 == 1 else 8,
                         "first_seen": NOW - dt.timedelta(days=3), "last_seen": NOW})
        conn.execute(ObservedAsset.__table__.insert(), rows)


def books(engine) -> None:
    with engine.begin() as conn:
        conn.execute(TABLES["department"].insert(), [
            {"id": d, "code": f"D{d}", "name": f"部门{d}", "path": f"/{d}/",
             "created_at": NOW, "updated_at": NOW} for d in (1, 2, 3)])
        conn.execute(TABLES["cloud_platform"].insert().values(
            id=1, code="CP1", name="政务云", department_id=1, build_mode="self",
            created_at=NOW, updated_at=NOW))


def _value_of(conn, rng: random.Random, column: str):
    """A value for ``column``: another row's (joining), a new one (splitting) or none."""
    oa = ObservedAsset.__table__
    device = TABLES["device"]
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.6:
        source = {"serial_number": device.c.serial_number, "hostname": device.c.hostname,
                  "mgmt_ip": device.c.management_ip, "macs": device.c.mac}.get(column)
        if source is not None:
            picked = rng.choice(conn.execute(select(source)).scalars().all())
            return [picked] if column == "macs" and picked else picked
    if roll < 0.8 and column in oa.c and column != "macs":
        return rng.choice(conn.execute(select(oa.c[column])).scalars().all())
    fresh = rng.randrange(10 ** 6)
    return {"serial_number": f"NEW{fresh}", "hostname": f"new-{fresh}",
            "mgmt_ip": f"10.99.{fresh % 250}.{fresh % 249}",
            "macs": [f"02:bb:00:{fresh % 250:02x}:00:01"],
            "instance_uuid": f"7a7a7a7a-0000-4000-8000-{fresh:012x}",
            "machine_uuid": f"7b7b7b7b-0000-4000-8000-{fresh:012x}",
            "memory_bytes": rng.choice([8, 60, 64, 128, 256]) * GIB,
            "model": rng.choice(MODELS), "vendor": rng.choice(["Huawei", "H3C", None]),
            "department_id": rng.choice([None, 1, 2, 3]),
            "department": rng.choice(DEPARTMENT_TAGS),
            "data_center": rng.choice(DC_TAGS), "platform": rng.choice(PLATFORM_TAGS),
            "source": rng.choice(["t0", "t1", "t2", "t4", "t9"]),
            "kind": rng.choice(OBSERVED_KINDS),
            "power_state": rng.choice(["running", "stopped", None]),
            "vcpus": rng.choice([2, 8, 16]), "cpu_cores": rng.choice([16, 64])}[column]


def mutate(engine, rng: random.Random, now: dt.datetime) -> list[str]:
    """A few random changes, each in its own transaction (one a constraint refuses is
    skipped); returns what was done."""
    oa, device, resource = ObservedAsset.__table__, TABLES["device"], TABLES["cloud_resource"]
    done = []
    for _ in range(rng.randrange(1, 5)):
        what = rng.choice(["observed", "observed", "observed", "seen", "delete", "insert",
                           "declared", "declared", "declared_new", "declared_gone",
                           "silent"])
        try:
            with engine.begin() as conn:
                ids = conn.execute(select(oa.c.id)).scalars().all()
                if what == "observed":
                    column = rng.choice(["serial_number", "macs", "hostname", "mgmt_ip",
                                         "instance_uuid", "machine_uuid", "memory_bytes",
                                         "model", "vendor", "department_id", "department",
                                         "data_center", "platform", "source", "kind",
                                         "power_state", "vcpus", "cpu_cores"])
                    for id_ in rng.sample(ids, rng.randrange(1, 4)):
                        value = _value_of(conn, rng, column)
                        if column == "macs" and value is None:
                            value = []
                        if column in ("source", "kind") and value is None:
                            value = "t5" if column == "source" else "server"
                        conn.execute(oa.update().where(oa.c.id == id_)
                                     .values({column: value}))
                    done.append(f"observed.{column}")
                elif what == "seen":
                    for id_ in rng.sample(ids, rng.randrange(1, 6)):
                        conn.execute(oa.update().where(oa.c.id == id_).values(
                            last_seen=now - dt.timedelta(days=rng.choice([0, 0, 1, 6, 8, 30]),
                                                         minutes=rng.randrange(90))))
                    done.append("seen")
                elif what == "delete":
                    conn.execute(oa.delete().where(oa.c.id.in_(rng.sample(ids, 2))))
                    done.append("delete")
                elif what == "insert":
                    twin = conn.execute(select(device).order_by(func.random()).limit(1)).one()
                    conn.execute(oa.insert().values(
                        source=rng.choice(["t0", "t2", "t5"]), collector="redfish",
                        kind=rng.choice(["bmc", "server", "host"]),
                        natural_key=f"new-{rng.randrange(10 ** 9)}",
                        serial_number=rng.choice([twin.serial_number, None]),
                        vendor=twin.vendor, macs=[twin.mac] if twin.mac else [],
                        mgmt_ip=rng.choice([twin.management_ip, None]),
                        hostname=rng.choice([twin.hostname, None]),
                        memory_bytes=rng.choice([None, 256 * GIB]),
                        first_seen=now, last_seen=now))
                    done.append("insert")
                elif what == "declared":
                    if rng.random() < 0.6:
                        id_ = rng.choice(conn.execute(select(device.c.id)).scalars().all())
                        column = rng.choice(["serial_number", "mac", "hostname",
                                             "management_ip", "status", "memory_gib",
                                             "vendor", "model", "department_id",
                                             "data_center_id"])
                        fresh = rng.randrange(10 ** 6)
                        value = {"serial_number": rng.choice([f"NEW{fresh}", None]),
                                 "mac": rng.choice([f"02:cc:00:{fresh % 250:02x}:00:02", None]),
                                 "hostname": rng.choice([f"sparse-{fresh % 120}", None]),
                                 "management_ip": rng.choice([f"10.77.0.{fresh % 120}", None]),
                                 "status": rng.choice(["in_use", "retired", "idle"]),
                                 "memory_gib": rng.choice([None, 128.0, 256.0]),
                                 "vendor": rng.choice(["Huawei", "H3C", None]),
                                 "model": rng.choice(MODELS),
                                 "department_id": rng.choice([1, 2, 3]),
                                 "data_center_id": rng.choice([None, 1, 2])}[column]
                        conn.execute(device.update().where(device.c.id == id_)
                                     .values({column: value}))
                    else:
                        id_ = rng.choice(conn.execute(select(resource.c.id)).scalars().all())
                        column = rng.choice(["instance_id", "vcpu", "status", "hostname"])
                        value = {"instance_id": rng.choice(
                                     [None, f"5e5e5e5e-0000-4000-8000-{rng.randrange(90):012x}"]),
                                 "vcpu": rng.choice([None, 8, 16]),
                                 "status": rng.choice(["in_use", "retired", "stopped"]),
                                 "hostname": rng.choice([None, "srv1", "web9"])}[column]
                        conn.execute(resource.update().where(resource.c.id == id_)
                                     .values({column: value}))
                    done.append(f"declared.{column}")
                elif what == "declared_new":
                    n = rng.randrange(10 ** 6)
                    serial = rng.choice(conn.execute(select(oa.c.serial_number).where(
                        oa.c.serial_number.is_not(None))).scalars().all() or [None])
                    conn.execute(device.insert().values(
                        code=f"NEWDEV{n}", name=f"新设备{n}", department_id=1,
                        device_type="server", status="in_use", vendor="Huawei",
                        serial_number=serial, created_at=now, updated_at=now))
                    done.append("declared_new")
                elif what == "declared_gone":
                    table = rng.choice([device, resource])
                    id_ = rng.choice(conn.execute(select(table.c.id)).scalars().all())
                    conn.execute(table.delete().where(table.c.id == id_))
                    done.append("declared_gone")
                else:
                    state = TargetState.__table__
                    name = rng.choice(["t0", "t1", "t3", "t4"])
                    conn.execute(state.update().where(state.c.name == name).values(
                        last_success=rng.choice([None, now, now - dt.timedelta(hours=3)]),
                        interval_seconds=rng.choice([None, 60, 300])))
                    done.append("silent")
        except IntegrityError:
            done.append(f"{what}: refused")
    return done


def plain(pairs: list[dict]) -> list[dict]:
    """Pairs without the time each difference's value was read."""
    return [{**p, "differences": [{k: v for k, v in d.items() if k != "time"}
                                  for d in p["differences"] or []]} for p in pairs]


def assert_as_a_whole_run(engine, now: dt.datetime, note) -> None:
    pairs, members, found = expected_state(engine, POLICY, now)
    oa, table = ObservedAsset.__table__, Finding.__table__
    with engine.connect() as conn:
        assert plain(stored_pairs(conn)) == plain(pairs), note
        assert dict(conn.execute(select(oa.c.id, oa.c.entity_id)
                                 .where(oa.c.entity_id.is_not(None))).all()) == members, note
        assert sorted(conn.execute(select(table.c.fingerprint).where(
            table.c.active.is_(True), table.c.kind.in_(sorted(scope_kinds()))))
            .scalars()) == found, note


def scope_kinds():
    from ledger.const import RECONCILE_KINDS
    return RECONCILE_KINDS


def last_recomputed(engine) -> dict:
    with engine.connect() as conn:
        return conn.execute(select(AnalysisRun.summary).order_by(AnalysisRun.id.desc())
                            .limit(1)).scalar_one()["recomputed"]


@pytest.mark.parametrize("seed, whole_from", [(41, 1.0), (42, 1.0), (43, 1.0), (44, 0.08)])
def test_runs_over_what_changed_leave_the_ledger_as_a_whole_run(ledger, seed, whole_from,
                                                                 monkeypatch):
    """Change after change, the run recomputes only what the change reaches and the ledger
    holds what the engine finds from scratch. With no limit the run is never whole; with a
    low one some runs find the changes, or what they reach, too large and go whole from
    the middle of the search."""
    monkeypatch.setattr(scope, "WHOLE_FROM", whole_from)
    plans, searched = [], []
    plan, front = scope.plan, scope._front

    def recording_plan(*args):
        searched.clear()
        plans.append((plan(*args), bool(searched)))
        return plans[-1][0]

    def recording_front(*args, **kwargs):
        searched.append(True)
        return front(*args, **kwargs)

    monkeypatch.setattr(scope, "plan", recording_plan)
    monkeypatch.setattr(scope, "_front", recording_front)
    rng = random.Random(seed)
    fill_estate(ledger.engine, seed)
    sparse(ledger.engine, rng)
    now = NOW
    first = store.run(ledger.engine, POLICY, now=now)
    assert last_recomputed(ledger.engine) == {"whole": True, "why": "first"}
    assert_as_a_whole_run(ledger.engine, now, "first")
    with ledger.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ObservedAsset)).scalar_one()
    small, wholes = 0, 0
    for round_ in range(14):
        now += dt.timedelta(minutes=rng.choice([1, 10, 60, 60 * 30]))
        done = mutate(ledger.engine, rng, now)
        result = store.run(ledger.engine, POLICY, now=now)
        recomputed = last_recomputed(ledger.engine)
        if recomputed["whole"]:
            wholes += 1
            assert whole_from < 1, done
        else:
            small += recomputed["observed"] < total / 2
        assert_as_a_whole_run(ledger.engine, now, (round_, done, recomputed))
        assert sum(result.summary.values()) == \
            sum(1 for _ in stored_pairs(ledger.engine.connect()))
    assert small, "every change reached half the estate: the test shows nothing"
    if whole_from < 1:      # some went whole only once the search had grown too large
        assert (False, True) in plans, plans
    # Nothing changed: nothing recomputed, nothing written.
    again = store.run(ledger.engine, POLICY, now=now)
    assert again.pairs_written == 0 and last_recomputed(ledger.engine) == \
        {"whole": False, "observed": 0, "declared": 0}
    assert first.run_id < again.run_id


def test_a_change_to_one_asset_recomputes_its_part_only(ledger):
    """One observed server's memory changes: the run reads that server and the declared
    device it matches, rewrites that pair and its finding, and leaves every other pair's
    row as it was."""
    books(ledger.engine)
    sparse(ledger.engine, random.Random(1))
    store.run(ledger.engine, POLICY, now=NOW)
    table, oa = ReconcilePair.__table__, ObservedAsset.__table__
    with ledger.engine.connect() as conn:
        before = {r.fingerprint: (r.id, r.digest) for r in conn.execute(select(table))}
    with ledger.engine.begin() as conn:
        conn.execute(oa.update().where(oa.c.natural_key == "sp-5")
                     .values(memory_bytes=64 * GIB, last_seen=NOW + dt.timedelta(minutes=5)))
    later = NOW + dt.timedelta(minutes=5)
    result = store.run(ledger.engine, POLICY, now=later)
    assert last_recomputed(ledger.engine) == {"whole": False, "observed": 1, "declared": 1}
    assert result.findings.opened == 1 and result.findings.resolved == 0
    with ledger.engine.connect() as conn:
        after = {r.fingerprint: (r.id, r.digest) for r in conn.execute(select(table))}
        changed = conn.execute(select(table).where(table.c.outcome == "mismatch",
                                                   table.c.declared_code == "SP5")).one()
    assert changed.differences[0]["field"] == "memory_gib"
    assert changed.differences[0]["time"] == later.isoformat()
    assert {fp for fp in after if after[fp] != before.get(fp)} == {changed.fingerprint}
    assert_as_a_whole_run(ledger.engine, later, "one asset")


def test_other_inputs_make_the_run_whole(ledger):
    """The policy or a code book changed: every pair may depend on it, the run is whole;
    so is a run asked to be (``whole``) and one after too many changes."""
    books(ledger.engine)
    sparse(ledger.engine, random.Random(2))
    store.run(ledger.engine, POLICY, now=NOW)
    store.run(ledger.engine, POLICY, now=NOW)
    assert last_recomputed(ledger.engine)["whole"] is False
    looser = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=60.0)
    store.run(ledger.engine, looser, now=NOW)
    assert last_recomputed(ledger.engine) == {"whole": True, "why": "inputs"}
    store.run(ledger.engine, looser, now=NOW)
    assert last_recomputed(ledger.engine)["whole"] is False
    with ledger.engine.begin() as conn:
        department = TABLES["department"]
        conn.execute(department.update().where(department.c.id == 2).values(name="改名"))
    store.run(ledger.engine, looser, now=NOW)
    assert last_recomputed(ledger.engine) == {"whole": True, "why": "inputs"}
    store.run(ledger.engine, looser, now=NOW, whole=True)
    assert last_recomputed(ledger.engine) == {"whole": True, "why": "asked"}
    oa = ObservedAsset.__table__
    with ledger.engine.begin() as conn:     # most of the estate changes its figures
        conn.execute(oa.update().values(memory_bytes=oa.c.memory_bytes + GIB))
    store.run(ledger.engine, looser, now=NOW)
    assert last_recomputed(ledger.engine) == {"whole": True, "why": "large"}
