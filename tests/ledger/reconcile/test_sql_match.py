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
from sqlalchemy import text

from ledger.census.tables import TABLES
from ledger.entity_sql import temporary
from ledger.estate import declared_rows, observed_rows
from ledger.models import ObservedAsset
from ledger.policy import DEFAULT_KEYS
from ledger.reconcile import sql
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


def fill(engine, seed: int) -> None:
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
        for i in range(260):
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
