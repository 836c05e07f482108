"""Matching as set-based SQL decides exactly what the Python definition decides
(:mod:`ledger.reconcile.entities`, :mod:`ledger.reconcile.match`), on SQLite and
PostgreSQL: the same entities, the same clean matches with the same explaining key, the
same contested assets and conflicts.

The estates are drawn from small pools so that everything the rules handle happens many
times: one server seen by several collectors, serials and MACs two rows of one collector
share, vendor aliases, placeholders, volumes keyed by their natural key, addresses with
and without host names, keys naming several declared assets.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from sqlalchemy import select, text

from ledger.census.tables import TABLES
from ledger.const import RECONCILE_KINDS
from ledger.entity_sql import temporary
from ledger.estate import declared_rows, observed_rows
from ledger.models import Finding, ObservedAsset, ReconcilePair, TargetState
from ledger.policy import DEFAULT_KEYS, ReconcilePolicy
from ledger.reconcile import sql, store
from ledger.reconcile.engine import reconcile
from ledger.reconcile.entities import build
from ledger.reconcile.match import DeclaredIndex, decide_all

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SERIALS = [f"2102{i:06d}" for i in range(150)] + ["00000000", "To be filled by O.E.M.",
                                                  "N/A", " 2102000001 ", "2102 000002"]
VENDORS = ["Huawei", "华为", "HUAWEI TECHNOLOGIES CO., LTD.", "H3C", "新华三", "Dell Inc.",
           None, "", "hp", "Inspur", "Acme Networks"]
MACS = [f"70:7b:e8:00:00:{i:02x}" for i in range(80)] + \
       ["70-7B-E8-00-00-01", "707b.e800.0002", "01:00:5e:00:00:01", "00:00:00:00:00:00"]
UUIDS = [f"4c4c4544-0044-4b10-8052-{i:012x}" for i in range(1, 60)] + \
        ["00000000-0000-0000-0000-000000000000", "{4C4C4544-0044-4B10-8052-000000000003}"]
IPS = [f"10.0.0.{i}" for i in range(1, 90)] + ["010.000.000.001", "127.0.0.1", "", None]
HOSTS = [f"srv{i}" for i in range(40)] + ["SRV1.gov.local", "localhost", None]
KINDS = ["device", "host", "server", "hypervisor", "node", "instance", "volume",
         "datastore"]
COLLECTORS = ["snmp", "redfish", "host", "vsphere"]
KEYS = [DEFAULT_KEYS,
        {"device": ("mgmt_ip", "serial_number", "mac", "hostname"),
         "cloud_resource": ("hostname", "instance_uuid", "machine_uuid", "mgmt_ip", "mac")},
        {"device": ("serial_number",), "cloud_resource": ()}]


def pick(rng: random.Random, pool: list, p: float):
    return rng.choice(pool) if rng.random() < p else None


def fill(engine, seed: int, noise: int = 260) -> None:
    rng = random.Random(seed)
    now = NOW
    with engine.begin() as conn:
        conn.execute(TABLES["department"].insert(), [
            {"id": 1, "code": "D1", "name": "大数据局", "path": "/1/", "created_at": now,
             "updated_at": now}])
        conn.execute(TABLES["cloud_platform"].insert(), [
            {"id": 1, "code": "CP1", "name": "政务云", "department_id": 1, "build_mode": "self",
             "created_at": now, "updated_at": now}])
        devices, seen_serial, seen_mac = [], set(), set()
        for i in range(140):
            vendor, serial = pick(rng, VENDORS, 0.8), pick(rng, SERIALS, 0.8)
            mac = pick(rng, MACS, 0.4)
            if (vendor, serial) in seen_serial and vendor is not None and serial is not None:
                serial = None
            if mac in seen_mac:
                mac = None
            seen_serial.add((vendor, serial))
            seen_mac.add(mac)
            devices.append({"code": f"DEV{i}", "name": f"设备{i}", "department_id": 1,
                            "device_type": "server", "status": "in_use", "vendor": vendor,
                            "serial_number": serial, "mac": mac,
                            "management_ip": pick(rng, IPS, 0.5),
                            "hostname": pick(rng, HOSTS, 0.4), "created_at": now,
                            "updated_at": now})
        conn.execute(TABLES["device"].insert(), devices)
        resources, seen_uuid = [], set()
        for i in range(60):
            instance = pick(rng, UUIDS, 0.8)
            if instance in seen_uuid:
                instance = None
            seen_uuid.add(instance)
            resources.append({"code": f"VM{i}", "name": f"云主机{i}", "department_id": 1,
                              "resource_type": "instance", "platform_id": 1,
                              "instance_id": instance, "ip_address": pick(rng, IPS, 0.5),
                              "hostname": pick(rng, HOSTS, 0.5), "created_at": now,
                              "updated_at": now})
        conn.execute(TABLES["cloud_resource"].insert(), resources)
        observed, keyed = [], set()
        for i in range(noise):
            kind, source = rng.choice(KINDS), f"t{rng.randrange(6)}"
            volume = pick(rng, UUIDS, 0.7) if kind == "volume" else None
            key = f"res:volume:{volume}" if volume and (source, volume) not in keyed else f"k{i}"
            keyed.add((source, volume))
            observed.append({
                "source": source, "collector": rng.choice(COLLECTORS),
                "kind": kind, "natural_key": key,
                "serial_number": pick(rng, SERIALS, 0.5), "vendor": pick(rng, VENDORS, 0.7),
                "machine_uuid": pick(rng, UUIDS, 0.3),
                "instance_uuid": pick(rng, UUIDS, 0.3) if kind == "instance" else None,
                "macs": rng.sample(MACS, rng.choice([0, 0, 1, 2])),
                "mgmt_ip": pick(rng, IPS, 0.4), "hostname": pick(rng, HOSTS, 0.4),
                "first_seen": now, "last_seen": now})
        conn.execute(ObservedAsset.__table__.insert(), observed)


def python_decisions(conn, placeholders, keys):
    entities, _shared = build(observed_rows(conn), placeholders)
    index = DeclaredIndex(declared_rows(conn, "device"), declared_rows(conn, "cloud_resource"),
                          placeholders)
    decisions, contested = decide_all(entities, index, keys)
    members = {row.id: e.id for e in entities for row in e.rows}
    clean = {d.entity.id: (d.clean, d.candidates[d.clean]) for d in decisions
             if d.clean is not None}
    conflicts = {d.entity.id: d.conflicting for d in decisions if d.conflicting}
    return members, clean, set(contested), conflicts


def sql_decisions(conn, placeholders, keys):
    sql.Matcher(conn, placeholders).match(keys)
    members = dict(conn.execute(text("SELECT row_id, eid FROM rc_member")).all())
    klass = dict(conn.execute(text("SELECT eid, res FROM rc_ent")).all())
    clean = {}
    for eid, cat, did, rank in conn.execute(text("SELECT eid, cat, did, rank FROM rc_clean")):
        names = keys["cloud_resource" if klass[eid] else "device"]
        clean[eid] = ((cat, did), names[rank])
    contested = set(map(tuple, conn.execute(text("SELECT cat, did FROM rc_contested"))))
    conflicts = defaultdict(list)
    for eid, cat, did in conn.execute(text("SELECT eid, cat, did FROM rc_conflict")):
        conflicts[eid].append((cat, did))
    return members, clean, contested, {k: sorted(v) for k, v in conflicts.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_matching_decides_as_the_python_rules(ledger, seed):
    fill(ledger.engine, seed)
    placeholders = ["2102000007", "70:7b:e8:00:00:05"]
    with ledger.engine.connect() as conn:
        for keys in KEYS:
            expected = python_decisions(conn, placeholders, keys)
            with temporary(conn, sql.TABLES):
                got = sql_decisions(conn, placeholders, keys)
            assert got[0] == expected[0]
            assert got[1] == expected[1]
            assert got[2] == expected[2]
            assert got[3] == expected[3]
        members, clean, contested, conflicts = python_decisions(conn, placeholders,
                                                                KEYS[0])
    # The drawn estate exercises every rule, not only the easy ones.
    sizes = defaultdict(int)
    for eid in members.values():
        sizes[eid] += 1
    assert max(sizes.values()) >= 3
    assert len(clean) >= 20 and contested and len(conflicts) >= 5
    assert {key for _ref, key in clean.values()} >= {"serial_number", "mac", "mgmt_ip"}


# The whole reconciliation: pairs, findings and shared entities.

DEPARTMENT_TAGS = ["D1", "D2", "D21", "公安局", "D404", "", None]
DC_TAGS = ["DC1", "主数据中心", "DC2", "DCX", "", None]
PLATFORM_TAGS = ["CP1", "CP2", "政务云", "OTHER", None]
MODELS = ["S5720-28X-SI-AC", "s5720 28x si ac", "CE6881-48S6CQ", "ProLiant DL380 Gen10",
          "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Xeon Gold 6248", "", None]
POWER = ["running", "stopped", "", None]


def fill_estate(engine, seed: int) -> None:
    """The estate of :func:`fill` with figures, places, departments, seen times and
    poll states, so every outcome and every compared field comes up."""
    fill(engine, seed, noise=80)
    rng = random.Random(seed * 7919)
    stamp = {"created_at": NOW, "updated_at": NOW}
    device, resource = TABLES["device"], TABLES["cloud_resource"]
    oa = ObservedAsset.__table__
    with engine.begin() as conn:
        conn.execute(TABLES["department"].insert(), [
            {"id": 2, "code": "D2", "name": "公安局", "parent_id": None, "path": "/2/", **stamp},
            {"id": 3, "code": "D21", "name": "公安局福田分局", "parent_id": 2, "path": "/2/3/",
             **stamp}])
        conn.execute(TABLES["data_center"].insert(), [
            {"id": i, "code": f"DC{i}", "name": name, "department_id": 1, "build_mode": "self",
             "consolidation_status": "in_use", **stamp}
            for i, name in ((1, "主数据中心"), (2, "备数据中心"))])
        conn.execute(TABLES["cloud_platform"].insert(), [
            {"id": 2, "code": "CP2", "name": "政务云", "department_id": 1, "build_mode": "self",
             **stamp}])
        for (id_,) in conn.execute(select(device.c.id)).all():
            conn.execute(device.update().where(device.c.id == id_).values(
                department_id=rng.choice([1, 2, 3]),
                status=rng.choice(["in_use", "in_use", "in_use", "retired", "idle"]),
                model=pick(rng, MODELS, 0.6), cpu_model=pick(rng, MODELS, 0.3),
                cpu_cores=pick(rng, [16, 32, 64], 0.5),
                memory_gib=pick(rng, [64.0, 128.0, 256.0, 0.0, 500.0], 0.5),
                data_center_id=pick(rng, [1, 2], 0.6)))
        for (id_,) in conn.execute(select(resource.c.id)).all():
            conn.execute(resource.update().where(resource.c.id == id_).values(
                department_id=rng.choice([1, 2, 3]), platform_id=rng.choice([1, 2]),
                status=rng.choice(["in_use", "in_use", "retired", "stopped"]),
                vcpu=pick(rng, [2, 4, 8, 16], 0.7), memory_gib=pick(rng, [4.0, 8.0, 16.0], 0.7),
                disk_gib=pick(rng, [40.0, 100.0], 0.5)))
        # Assets observed as declared (their keys in other spellings): most match cleanly.
        copies = []
        for i, row in enumerate(conn.execute(select(device)).all()[:90]):
            copies.append({"source": f"t{i % 6}", "collector": "ipmi", "kind": "device",
                           "natural_key": f"copy-d{i}",
                           # Found by its MAC, with another serial than declared.
                           "serial_number": f"SN-{seed}-{i}" if row.mac and i % 2 else
                           row.serial_number,
                           "instance_uuid": None,
                           "vendor": rng.choice([row.vendor, "Huawei", None]),
                           "macs": [row.mac.upper()] if row.mac else [],
                           "mgmt_ip": row.management_ip, "hostname": rng.choice(
                               [row.hostname, (row.hostname or "x").upper() + ".gov.cn"]),
                           "first_seen": NOW, "last_seen": NOW})
        for i, row in enumerate(conn.execute(select(resource)).all()[:45]):
            copies.append({"source": f"t{i % 6}", "collector": "vsphere", "kind": "instance",
                           "natural_key": f"copy-r{i}", "instance_uuid": row.instance_id,
                           "serial_number": None, "vendor": None,
                           "mgmt_ip": row.ip_address, "hostname": row.hostname,
                           "macs": [], "first_seen": NOW, "last_seen": NOW})
        conn.execute(oa.insert(), copies)
        books = {"D1": 1, "D2": 2, "D21": 3, "公安局": 2}
        for (id_,) in conn.execute(select(oa.c.id)).all():
            department = pick(rng, DEPARTMENT_TAGS, 0.8)
            days = rng.choice([0, 0, 0, 0, 1, 3, 10, 30])
            conn.execute(oa.update().where(oa.c.id == id_).values(
                department=department, department_id=books.get(department),
                data_center=pick(rng, DC_TAGS, 0.6), platform=pick(rng, PLATFORM_TAGS, 0.5),
                model=pick(rng, MODELS, 0.6), cpu_model=pick(rng, MODELS, 0.3),
                cpu_cores=pick(rng, [16, 32, 64], 0.5), vcpus=pick(rng, [2, 4, 8, 16], 0.5),
                memory_bytes=pick(rng, [64 * 2 ** 30, 60 * 2 ** 30, 130 * 2 ** 30,
                                        8 * 2 ** 30, 2 ** 25], 0.6),
                disk_bytes=pick(rng, [40 * 2 ** 30, 100 * 2 ** 30], 0.5),
                power_state=pick(rng, POWER, 0.6),
                first_seen=NOW - dt.timedelta(days=days + 5),
                last_seen=NOW - dt.timedelta(days=days, minutes=rng.randrange(60))))
        conn.execute(TargetState.__table__.insert(), [
            {"name": f"t{i}", "kind": "snmp", "interval_seconds": interval,
             "last_success": NOW - dt.timedelta(minutes=silent) if silent is not None else None}
            for i, interval, silent in ((0, 300, 1), (1, 60, 600), (2, 0, 1), (3, 300, None),
                                        (4, 3600, 5))])


@pytest.mark.parametrize("seed", [11, 12])
def test_sql_reconciliation_gives_the_engines_pairs_and_findings(ledger, seed):
    fill_estate(ledger.engine, seed)
    policy = ReconcilePolicy(placeholders=frozenset({"2102000007"}),
                             missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=5.0)
    with ledger.engine.begin() as conn:
        store.resolve_departments(conn)
    with ledger.engine.connect() as conn:
        expected = reconcile(store.load_inputs(conn, NOW), policy)
        got = sql.reconcile(conn, policy, NOW)
    assert got.members == expected.members
    assert len(got.pairs) == len(expected.pairs)
    for mine, theirs in zip(got.pairs, expected.pairs):
        assert mine == theirs
    assert got.found == expected.found
    # Every outcome and most compared fields come up in the drawn estate.
    assert all(got.summary.values()), got.summary
    fields = {d["field"] for p in got.pairs for d in p["differences"]}
    assert fields >= {"serial_number", "model", "memory_gib", "hostname", "department",
                      "status", "data_center", "vcpu", "disk_gib", "cpu_cores"}


def stored_pairs(conn) -> list[dict]:
    table = ReconcilePair.__table__
    return [{c: row._mapping[c] for c in ("fingerprint", *store.PAIR_COLUMNS)}
            for row in conn.execute(select(table).order_by(table.c.fingerprint)).all()]


def expected_state(engine, policy, now) -> tuple[list[dict], dict, list]:
    with engine.connect() as conn:
        outcome = reconcile(store.load_inputs(conn, now), policy)
    pairs = sorted(outcome.pairs, key=lambda p: p["fingerprint"])
    return pairs, outcome.members, sorted(f.fingerprint for f in outcome.found)


def assert_stored_as_the_engine(engine, policy, now=NOW) -> None:
    pairs, members, found = expected_state(engine, policy, now)
    table, oa = Finding.__table__, ObservedAsset.__table__
    with engine.connect() as conn:
        assert stored_pairs(conn) == pairs
        assert dict(conn.execute(select(oa.c.id, oa.c.entity_id)
                                 .where(oa.c.entity_id.is_not(None))).all()) == members
        assert sorted(conn.execute(select(table.c.fingerprint).where(
            table.c.active.is_(True), table.c.kind.in_(sorted(RECONCILE_KINDS))))
            .scalars()) == found


@pytest.mark.parametrize("seed", [13])
def test_the_store_writes_only_what_changed_and_holds_the_engines_pairs(ledger, seed):
    """Pairs are diffed in the database by a digest of what they are made of: after any
    change to the estate or the policy the stored pairs, entities and active findings are
    the engine's, and a run with nothing changed writes nothing."""
    fill_estate(ledger.engine, seed)
    policy = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=5.0)
    with ledger.engine.begin() as conn:
        store.resolve_departments(conn)
    first = store.run(ledger.engine, policy, now=NOW)
    assert first.pairs_written == sum(first.summary.values()) > 0
    assert_stored_as_the_engine(ledger.engine, policy)
    assert store.run(ledger.engine, policy, now=NOW).pairs_written == 0

    oa, device = ObservedAsset.__table__, TABLES["device"]
    rng = random.Random(seed)
    now = NOW
    # One thing at a time, so each part of what a pair is made of must reach its digest.
    edits = [
        ("source", lambda: rng.choice(["t0", "t1", "t5", "t9"])),
        ("kind", lambda: rng.choice(["device", "host", "bmc"])),
        ("department_id", lambda: rng.choice([None, 1, 2, 3])),
        ("macs", lambda: rng.choice([[], ["02:00:00:00:00:01"], None])),
        ("hostname", lambda: rng.choice(["web9", None, "db1.gov.cn"])),
        ("mgmt_ip", lambda: rng.choice(["10.9.9.9", None])),
        ("serial_number", lambda: rng.choice(["SN-NEW-1", None])),
        ("instance_uuid", lambda: rng.choice([None, "0e0e0e0e-1111-2222-3333-444444444444"])),
        ("memory_bytes", lambda: rng.choice([None, 64 * 2 ** 30, 3 * 2 ** 30])),
        ("model", lambda: rng.choice(MODELS)),
        ("data_center", lambda: pick(rng, DC_TAGS, 0.5)),
        ("first_seen", lambda: NOW - dt.timedelta(days=rng.choice([6, 40]))),
        ("last_seen", lambda: now - dt.timedelta(minutes=rng.choice([1, 2, 3]))),
    ]
    for column, value in edits:
        now += dt.timedelta(minutes=10)
        with ledger.engine.begin() as conn:
            ids = conn.execute(select(oa.c.id).order_by(oa.c.id)).scalars().all()
            for id_ in rng.sample(ids, 25):
                conn.execute(oa.update().where(oa.c.id == id_).values({column: value()}))
        written = store.run(ledger.engine, policy, now=now).pairs_written
        assert written < first.pairs_written, column
        assert_stored_as_the_engine(ledger.engine, policy, now)
    with ledger.engine.begin() as conn:
        ids = conn.execute(select(oa.c.id).order_by(oa.c.id)).scalars().all()
        conn.execute(oa.delete().where(oa.c.id.in_(rng.sample(ids, 15))))
        kept = conn.execute(select(oa).where(oa.c.serial_number.is_not(None)).limit(1)).one()
        conn.execute(oa.insert().values(   # merges into an entity by its serial
            source="t2", collector="redfish", kind="bmc", natural_key="new-bmc",
            serial_number=kept.serial_number, macs=[], first_seen=now, last_seen=now))
    store.run(ledger.engine, policy, now=now)
    assert_stored_as_the_engine(ledger.engine, policy, now)
    for column, value in (("code", lambda i: f"NEW-{i}"),
                          ("memory_gib", lambda i: rng.choice([None, 1.0, 512.0])),
                          ("department_id", lambda i: rng.choice([1, 2, 3])),
                          ("status", lambda i: rng.choice(["retired", "in_use"]))):
        with ledger.engine.begin() as conn:
            for (id_,) in conn.execute(select(device.c.id).limit(30)).all():
                conn.execute(device.update().where(device.c.id == id_)
                             .values({column: value(id_)}))
        store.run(ledger.engine, policy, now=now)
        assert_stored_as_the_engine(ledger.engine, policy, now)
    # Other key names by rank change every matched pair's matched_by.
    swapped = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                              tolerance_percent=5.0,
                              keys={"device": ("mac", "serial_number", "mgmt_ip"),
                                    "cloud_resource": ("instance_uuid", "mgmt_ip")})
    store.run(ledger.engine, swapped, now=now)
    assert_stored_as_the_engine(ledger.engine, swapped, now)
    assert store.run(ledger.engine, swapped, now=now).pairs_written == 0


def test_a_poll_that_only_moves_the_times_seen_rebuilds_no_clean_match(ledger, monkeypatch):
    """Every poll moves ``last_seen`` of what it saw: the next run moves the stored pairs'
    times in the database, and Python builds only the pairs findings are made of (not one
    clean match), yet the stored pairs are the engine's."""
    fill_estate(ledger.engine, 29)
    policy = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=5.0)
    with ledger.engine.begin() as conn:
        store.resolve_departments(conn)
    store.run(ledger.engine, policy, now=NOW)
    built = []
    outcome = sql.Matcher.outcome

    def counting(self, keys, *, selected=False):
        built.append(dict(self.conn.execute(text(
            "SELECT outcome, COUNT(*) FROM rc_sel GROUP BY outcome")).all()))
        return outcome(self, keys, selected=selected)

    monkeypatch.setattr(sql.Matcher, "outcome", counting)
    oa = ObservedAsset.__table__
    now = NOW + dt.timedelta(minutes=1)
    with ledger.engine.begin() as conn:
        for id_, seen in conn.execute(select(oa.c.id, oa.c.last_seen)).all():
            conn.execute(oa.update().where(oa.c.id == id_)
                         .values(last_seen=seen + dt.timedelta(minutes=1)))
    result = store.run(ledger.engine, policy, now=now)
    assert_stored_as_the_engine(ledger.engine, policy, now)
    with ledger.engine.connect() as conn:
        seen = conn.execute(select(ReconcilePair.__table__.c.id).where(
            ReconcilePair.__table__.c.observed_asset_id.is_not(None))).all()
    # Every pair with an observed side moved its time; no other row was written.
    assert result.pairs_written == len(seen) > 0
    assert result.summary["matched"] > 0 and "matched" not in built[-1]
    assert sum(built[-1].values()) == sum(result.summary.values()) - result.summary["matched"]
    assert store.run(ledger.engine, policy, now=now).pairs_written == 0
