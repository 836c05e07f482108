"""Hostile: a drawn estate with keys typed in full width on both sides; the store must hold
the engine's pairs on both backends and a second run write nothing."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, update

from ledger.census.tables import TABLES
from ledger.models import ObservedAsset
from ledger.policy import ReconcilePolicy
from ledger.reconcile import sql, store
from ledger.reconcile.engine import reconcile
from tests.ledger.reconcile.test_sql_match import (NOW, assert_stored_as_the_engine,
                                                   fill_estate)


def wide(value):
    if not isinstance(value, str):
        return value
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else
                   ("\u3000" if c == " " else c) for c in value)


@pytest.mark.parametrize("seed", [21, 22])
def test_full_width_estate(ledger, seed):
    fill_estate(ledger.engine, seed)
    rng = random.Random(seed)
    oa, device, resource = ObservedAsset.__table__, TABLES["device"], TABLES["cloud_resource"]
    with ledger.engine.begin() as conn:
        for row in conn.execute(select(oa)).all():
            if rng.random() < 0.4:
                conn.execute(update(oa).where(oa.c.id == row.id).values(
                    serial_number=wide(row.serial_number), hostname=wide(row.hostname),
                    mgmt_ip=wide(row.mgmt_ip), vendor=wide(row.vendor), model=wide(row.model),
                    machine_uuid=wide(row.machine_uuid),
                    macs=[wide(m) for m in row.macs or []]))
        for row in conn.execute(select(device)).all():
            if rng.random() < 0.5:
                conn.execute(update(device).where(device.c.id == row.id).values(
                    serial_number=wide(row.serial_number), hostname=wide(row.hostname),
                    vendor=wide(row.vendor), model=wide(row.model)))
        for row in conn.execute(select(resource)).all():
            if rng.random() < 0.5:
                conn.execute(update(resource).where(resource.c.id == row.id).values(
                    instance_id=wide(row.instance_id), hostname=wide(row.hostname)))
        store.resolve_departments(conn)
    policy = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3,
                             tolerance_percent=5.0)
    with ledger.engine.connect() as conn:
        expected = reconcile(store.load_inputs(conn, NOW), policy)
        got = sql.reconcile(conn, policy, NOW)
    assert got.members == expected.members
    assert got.pairs == expected.pairs
    assert got.found == expected.found
    store.run(ledger.engine, policy, now=NOW)
    assert_stored_as_the_engine(ledger.engine, policy)
    assert store.run(ledger.engine, policy, now=NOW).pairs_written == 0
