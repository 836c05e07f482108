"""Hostile tests: pair times moved by one statement (Matcher.seen) must equal the engine's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update

from ledger.models import ObservedAsset, ReconcilePair
from ledger.policy import ReconcilePolicy
from ledger.reconcile import store
from tests.ledger.reconcile.test_sql_match import (NOW, assert_stored_as_the_engine,
                                                   fill_estate)

UTC = dt.timezone.utc
POLICY = ReconcilePolicy(missing_after=7 * 86400, suspect_after_polls=3, tolerance_percent=5.0)


def setup(ledger):
    fill_estate(ledger.engine, 13)
    with ledger.engine.begin() as conn:
        store.resolve_departments(conn)
    store.run(ledger.engine, POLICY, now=NOW)
    assert store.run(ledger.engine, POLICY, now=NOW).pairs_written == 0


def check(ledger, now, label):
    first = store.run(ledger.engine, POLICY, now=now)
    assert_stored_as_the_engine(ledger.engine, POLICY, now)
    again = store.run(ledger.engine, POLICY, now=now)
    assert again.pairs_written == 0, (label, again.pairs_written)
    return first


def multi_rows(conn):
    oa = ObservedAsset.__table__
    return conn.execute(select(oa.c.id, oa.c.entity_id).where(
        oa.c.entity_id.is_not(None), oa.c.entity_id != oa.c.id).order_by(oa.c.id)).all()


def test_first_seen_backwards_on_a_non_head_row(ledger):
    setup(ledger)
    oa = ObservedAsset.__table__
    with ledger.engine.begin() as conn:
        rows = multi_rows(conn)
        assert rows
        for id_, _eid in rows[:10]:
            conn.execute(update(oa).where(oa.c.id == id_).values(
                first_seen=NOW - dt.timedelta(days=400)))
    check(ledger, NOW, "first_seen backwards")


def test_only_one_rows_last_seen_moves_flips_missing(ledger):
    setup(ledger)
    oa = ObservedAsset.__table__
    with ledger.engine.begin() as conn:
        rows = multi_rows(conn)
        for id_, _eid in rows:
            conn.execute(update(oa).where(oa.c.id == id_).values(
                last_seen=NOW - dt.timedelta(days=30)))
        heads = {eid for _id, eid in rows}
        for eid in heads:
            conn.execute(update(oa).where(oa.c.id == eid).values(
                last_seen=NOW - dt.timedelta(days=20)))
    check(ledger, NOW, "all old")
    with ledger.engine.begin() as conn:
        for _id, eid in rows[:5]:
            conn.execute(update(oa).where(oa.c.id == _id).values(last_seen=NOW))
    check(ledger, NOW, "one row back")


def test_far_future_and_non_utc_times(ledger):
    setup(ledger)
    oa = ObservedAsset.__table__
    east = dt.timezone(dt.timedelta(hours=8))
    with ledger.engine.begin() as conn:
        ids = conn.execute(select(oa.c.id).order_by(oa.c.id)).scalars().all()
        for id_ in ids[:10]:
            conn.execute(update(oa).where(oa.c.id == id_).values(
                last_seen=dt.datetime(9999, 12, 31, 15, 0, tzinfo=UTC)))
        for id_ in ids[10:30]:
            conn.execute(update(oa).where(oa.c.id == id_).values(
                first_seen=(NOW - dt.timedelta(days=2)).astimezone(east),
                last_seen=(NOW + dt.timedelta(hours=3)).astimezone(east)))
    check(ledger, NOW.astimezone(east), "far future")


def test_tampered_stored_times_are_restored(ledger):
    setup(ledger)
    table = ReconcilePair.__table__
    with ledger.engine.begin() as conn:
        conn.execute(update(table).values(first_seen=None, last_seen=None))
        n = conn.execute(select(table.c.id).where(
            table.c.observed_asset_id.is_not(None))).all()
    result = check(ledger, NOW, "tampered")
    assert result.pairs_written == len(n)


def test_deleted_rows(ledger):
    setup(ledger)
    oa = ObservedAsset.__table__
    with ledger.engine.begin() as conn:
        rows = multi_rows(conn)
        conn.execute(oa.delete().where(oa.c.id.in_([r[0] for r in rows[:8]])))
        heads = sorted({r[1] for r in rows})[:4]
        conn.execute(oa.delete().where(oa.c.id.in_(heads)))
    check(ledger, NOW, "deleted")


def test_time_passing_flips_outcomes(ledger):
    setup(ledger)
    for days in (1, 3, 6.99, 7, 7.5, 8, 12, 40):
        check(ledger, NOW + dt.timedelta(days=days), f"now+{days}")


def test_ancient_last_seen(ledger):
    setup(ledger)
    oa = ObservedAsset.__table__
    with ledger.engine.begin() as conn:
        ids = conn.execute(select(oa.c.id).where(oa.c.source == "t0")
                           .order_by(oa.c.id)).scalars().all()
        conn.execute(update(oa).where(oa.c.source == "t0").values(
            first_seen=dt.datetime(1, 1, 1, 0, 1, tzinfo=UTC),
            last_seen=dt.datetime(1, 1, 1, 0, 2, tzinfo=UTC)))
    check(ledger, NOW, "ancient")


def snapshot(conn):
    table = ReconcilePair.__table__
    cols = ("fingerprint", *store.PAIR_COLUMNS)
    return {r._mapping["fingerprint"]: tuple(r._mapping[c] for c in cols)
            for r in conn.execute(select(table)).all()}


@pytest.mark.parametrize("step", range(4))
def test_pairs_written_counts_the_rows_that_changed(ledger, step):
    setup(ledger)
    oa = ObservedAsset.__table__
    with ledger.engine.connect() as conn:
        before_ = snapshot(conn)
    now = NOW + dt.timedelta(minutes=5 + step)
    with ledger.engine.begin() as conn:
        rows = conn.execute(select(oa.c.id, oa.c.last_seen).order_by(oa.c.id)).all()
        for i, (id_, seen) in enumerate(rows):
            values = {}
            if i % (step + 2) == 0:
                values["last_seen"] = seen + dt.timedelta(minutes=1)
            if i % 7 == step:
                values["model"] = "CHANGED-MODEL"
            if i % 11 == step:
                values["first_seen"] = NOW - dt.timedelta(days=99)
            if values:
                conn.execute(update(oa).where(oa.c.id == id_).values(values))
    result = store.run(ledger.engine, POLICY, now=now)
    assert_stored_as_the_engine(ledger.engine, POLICY, now)
    with ledger.engine.connect() as conn:
        after = snapshot(conn)
    differ = sum(1 for fp in before_.keys() | after.keys() if before_.get(fp) != after.get(fp))
    assert result.pairs_written == differ
