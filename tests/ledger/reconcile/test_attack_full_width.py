"""Hostile tests: NFKC folding of keys and compared fields."""

from __future__ import annotations

import pytest

from ledger.census.fields import CATEGORIES
from ledger.census.values import InvalidValue, parse
from ledger.reconcile import normalize, sql_norm


# MEDIUM (regression of b829206): NFKC turns "™" into "TM", which the noise filter no
# longer removes ("(tm)" and "™" are in _NOISE, bare "tm" is not). Before the commit
# these agreed.
@pytest.mark.parametrize("declared, observed", [
    ("Intel® Core™ i7-8700", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"),
    ("Intel® Xeon® Gold 6248™", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"),
])
def test_trademark_sign_still_is_noise_in_models(declared, observed):
    assert normalize.models_agree(declared, observed), (normalize.model(declared),
                                                         normalize.model(observed))


@pytest.mark.parametrize("declared, observed", [("HP™", "HPE"), ("Huawei™", "HUAWEI")])
def test_trademark_sign_still_is_noise_in_vendors(declared, observed):
    assert normalize.vendors_agree(declared, observed), (normalize.vendor(declared),
                                                          normalize.vendor(observed))


def test_a_model_of_only_marks_is_no_model():
    assert normalize.model("®™") is None   # now "tm"


# Census: identity fields refuse invisible/bidi characters (_check_key), but an IPv6
# scope id carries them into the ledger (pre-existing; NFKC now also lets "％" in).
@pytest.mark.parametrize("raw", ["fe80::1%\u202eevil", "fe80::1%\u200b",
                                 "ｆｅ８０：：１％ｅｔｈ０"])
def test_census_addresses_carry_no_scope_or_invisible_text(raw):
    spec = CATEGORIES["device"].by_key["management_ip"]
    try:
        value = parse(spec, raw)
    except InvalidValue:
        return
    assert value.isprintable() and "%" not in value, ascii(value)


def test_sql_and_python_agree_on_odd_values(ledger):
    odd = {"model": ["Intel® Core™ i7-8700", "®™", "℅", "Ⅻ", "ｘ／ｙ"],
           "vendor": ["HP™", "Huawei™", "ＨＵＡＷＥＩ\u3000ＴＥＣＨ"],
           "ip": ["①⓪.0.0.1", "ｆｅ８０：：１％ｅｔｈ０", "::ffff:１０．０．０．１"],
           "mac": ["00:11:22:aa:bb:ⅽⅽ", "ﬀ:ﬀ:ﬀ:ﬀ:ﬀ:ﬀ", "０1:00:5e:00:00:01"],
           "host": ["ｗｅｂ１。ｇｏｖ", "ＬＯＣＡＬＨＯＳＴ．", "１２７．０．０．１"],
           "serial": ["ＳＮ\u200b１２３", "№１２３", "ａＡ", "ＳＮ－０００１　Ａ"],
           "uuid": ["｛４ｃ４ｃ４５４４－００４４－４ｂ１０－８０５２－ｂ２ｃ０４ｆ４ｄ４ｅ３２｝"]}
    with ledger.engine.connect() as conn:
        for kind, values in odd.items():
            got = sql_norm.normalised(conn, kind, values)
            assert got == {v: sql_norm.RULES[kind](v) for v in values}, kind


def test_trademark_sign_end_to_end_makes_no_mismatch(ledger):
    """A census cpu_model copied from Intel's site against what the host reports."""
    import datetime as dt
    from sqlalchemy import select
    from ledger.census.tables import TABLES
    from ledger.models import ObservedAsset, ReconcilePair
    from ledger.policy import ReconcilePolicy
    from ledger.reconcile import store

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    stamp = {"created_at": now, "updated_at": now}
    with ledger.engine.begin() as conn:
        conn.execute(TABLES["department"].insert(), [
            {"id": 1, "code": "D1", "name": "大数据局", "path": "/1/", **stamp}])
        conn.execute(TABLES["device"].insert(), [
            {"code": "DEV1", "name": "服务器1", "department_id": 1, "device_type": "server",
             "status": "in_use", "serial_number": "2102351931P0A3000123",
             "model": "PowerEdge R740", "cpu_model": "Intel® Core™ i7-8700", **stamp}])
        conn.execute(ObservedAsset.__table__.insert(), [
            {"source": "t0", "collector": "host", "kind": "server", "natural_key": "k1",
             "serial_number": "2102351931P0A3000123", "model": "PowerEdge R740",
             "cpu_model": "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "macs": [],
             "first_seen": now, "last_seen": now}])
    store.run(ledger.engine, ReconcilePolicy(), now=now)
    with ledger.engine.connect() as conn:
        pair = conn.execute(select(ReconcilePair)).one()
    assert pair.outcome == "matched", pair.differences


# Census: a serial or host name typed in full-width mode, with the full-width space the
# same mode types (U+3000), is refused as "invisible" (_check_key: str.isprintable() is
# False for U+3000), though test_sql_norm's own FULL_WIDTH corpus has "ＳＮ－０００１　Ａ".
@pytest.mark.parametrize("key, raw", [("serial_number", "ＳＮ－０００１　Ａ"),
                                      ("hostname", "ｗｅｂ１　ａ")])
def test_census_takes_keys_typed_with_a_full_width_space(key, raw):
    parse(CATEGORIES["device"].by_key[key], raw)


# Census: "/" is refused in identity keys (code_slash), but its full-width form passes and
# folds to "/" when compared.
def test_census_refuses_a_full_width_slash_as_it_refuses_the_ascii_one():
    spec = CATEGORIES["device"].by_key["serial_number"]
    with pytest.raises(InvalidValue):
        parse(spec, "N/A")
    with pytest.raises(InvalidValue):
        parse(spec, "ＡＢＣ／１２３")
