"""Facts become observed assets with first and last seen, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from collectors.base import Fact
from ledger.models import ObservedAsset
from ledger.observed import natural_key, observed_for_source, record_facts

T1 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)
T2 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.timezone.utc)


def server(serial="CN7475123", memory=64):
    return Fact("host", {"hostname": "web-01", "serial_number": serial,
                         "mac": ["AA:BB:CC:00:00:02", "aa:bb:cc:00:00:01"], "mgmt_ip": "10.1.2.3"},
                {"vendor": "Huawei", "model": "TaiShan 200", "memory_gb": memory,
                 "cpu_vendor": "HiSilicon"})


def test_natural_key_takes_the_strongest_identity():
    assert natural_key(server()) == "serial:Huawei:CN7475123"
    assert natural_key(Fact("vm", {"instance_uuid": "u-1", "mac": "aa"}, {})) == "instance:u-1"
    assert natural_key(Fact("host", {"mac": ["52:54:00:00:00:0b", "52:54:00:00:00:0a"],
                                     "hostname": "h"}, {})) == "mac:52:54:00:00:00:0a"
    assert natural_key(Fact("host", {"mgmt_ip": "10.0.0.1", "hostname": "h"}, {})) \
        == "ip:10.0.0.1/h"
    assert natural_key(Fact("host", {"hostname": "h"}, {})) == "host:h"
    assert natural_key(Fact("host", {}, {"model": "x"})) is None


def test_placeholders_are_never_natural_keys():
    fact = Fact("server", {"serial_number": "To be filled by O.E.M.",
                           "machine_uuid": "00000000-0000-0000-0000-000000000000",
                           "mac": ["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"], "hostname": "h"}, {})
    assert natural_key(fact) == "host:h"


def test_first_seen_stays_and_last_seen_moves(ledger):
    with ledger.session() as session:
        record_facts(session, source="dc1-web", collector="host", facts=[server()],
                     department="大数据局", seen_at=T1)
        session.commit()
    with ledger.session() as session:
        record_facts(session, source="dc1-web", collector="host", facts=[server(memory=128)],
                     department="大数据局", seen_at=T2)
        session.commit()
    with ledger.session() as session:
        rows = observed_for_source(session, "dc1-web")
    assert len(rows) == 1
    asset = rows[0]
    assert (asset.first_seen, asset.last_seen) == (T1, T2)
    assert asset.attributes["memory_gb"] == 128
    assert asset.mac == "aa:bb:cc:00:00:01"
    assert asset.macs == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
    assert (asset.serial_number, asset.vendor, asset.department) == ("CN7475123", "Huawei",
                                                                    "大数据局")


def test_each_source_keeps_its_own_row(ledger):
    with ledger.session() as session:
        for source in ("snmp-sw1", "agent-web"):
            record_facts(session, source=source, collector="host", facts=[server()],
                         department=None, seen_at=T1)
        session.commit()
        assert session.scalars(select(ObservedAsset.source).order_by(
            ObservedAsset.source)).all() == ["agent-web", "snmp-sw1"]


def test_fact_without_identity_is_not_recorded(ledger, caplog):
    with ledger.session() as session:
        kept = record_facts(session, source="s", collector="host",
                            facts=[Fact("host", {}, {"model": "x"})], department=None, seen_at=T1)
        session.commit()
        assert kept == 0
        assert session.scalars(select(ObservedAsset)).all() == []
    assert "no identity key" in caplog.text
