"""The InfluxDB backend against a real influxd 1.6: the contract, then its own behaviour."""

from __future__ import annotations

import time

import pytest

from core.observation import Sample
from monitor.store import RejectedBatch, StoreError
from tests.servers import InfluxServer
from monitor.store.influx import InfluxStore, parse_store_url
from tests.store.contract import StoreContract, base_time, cpu_samples

RETENTION = {"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400}


class TestInfluxContract(StoreContract):
    @pytest.fixture
    def store(self, influx_server, influx_db):
        store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION)
        yield store
        store.close()


def test_schema_has_database_retention_policies_and_continuous_queries(influx_server,
                                                                       influx_db):
    InfluxStore(influx_server.store_url(influx_db), retention=RETENTION).close()
    rps = influx_server.query(influx_db, f'SHOW RETENTION POLICIES ON "{influx_db}"')
    names = {row[0]: row[1] for row in rps["results"][0]["series"][0]["values"]}
    assert names["rollup_1m"] == "840h0m0s" and names["rollup_1h"] == "17520h0m0s"
    cqs = influx_server.query(influx_db, "SHOW CONTINUOUS QUERIES")
    ours = [s for s in cqs["results"][0]["series"] if s["name"] == influx_db][0]["values"]
    assert {row[0] for row in ours} == {"infraledger_rollup_1m", "infraledger_rollup_1h"}


def test_a_reader_creates_nothing(influx_server, influx_db):
    store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION,
                        manage_schema=False)
    with pytest.raises(StoreError, match="database not found"):
        store.query("cpu", "usage_percent", 0, 3600, interval=3600)
    store.close()
    databases = influx_server.query(influx_db, "SHOW DATABASES")
    assert [influx_db] not in databases["results"][0]["series"][0]["values"]


def test_a_bad_batch_is_rejected_not_retried(influx_server, influx_db):
    store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION)
    with pytest.raises(RejectedBatch, match="HTTP 400"):
        store.write_lines(b"cpu,host=a usage=not-a-number 1\n")
    store.write_lines(b"cpu,host=a usage=1.0 1000000000\n")
    with pytest.raises(RejectedBatch, match="field type conflict"):
        store.write_lines(b'cpu,host=a usage="text" 2000000000\n')
    store.close()


def test_a_missing_server_is_a_retryable_error(influx_db):
    from tests.servers import free_port
    store = InfluxStore(f"influxdb://127.0.0.1:{free_port()}/{influx_db}",
                        manage_schema=False, timeout=1)
    with pytest.raises(StoreError) as info:
        store.write_lines(b"cpu usage=1.0 1\n")
    assert not isinstance(info.value, RejectedBatch)
    assert "did not answer" in str(info.value)


def test_rewrites_of_the_same_series_and_time_are_idempotent_in_influxdb(influx_server,
                                                                         influx_db):
    store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION)
    t0 = base_time(time.time())
    batch = cpu_samples(t0, hosts=("a",), count=30)
    for _ in range(3):
        store.write(batch)
    answer = influx_server.query(influx_db, 'SELECT count("usage_percent") FROM "cpu"')
    assert answer["results"][0]["series"][0]["values"][0][1] == 30
    store.close()


def test_gzip_and_plain_bodies_both_land(influx_server, influx_db):
    t0 = base_time(time.time())
    for use_gzip, host in ((True, "g"), (False, "p")):
        store = InfluxStore(influx_server.store_url(influx_db), use_gzip=use_gzip)
        store.write([Sample("up", {"target": host}, {"value": 1.0}, t0 * 10**9)])
        store.close()
    reader = InfluxStore(influx_server.store_url(influx_db))
    assert {s.key.tag_dict["target"] for s in reader.query("up", "value", t0, t0 + 1)} == {"g",
                                                                                          "p"}
    reader.close()


def test_old_ranges_read_the_hourly_rollup(influx_server, influx_db):
    now = [time.time()]
    InfluxStore(influx_server.store_url(influx_db), retention=RETENTION).close()  # the writer
    # A reader (the web tier) does not manage the schema but finds the rollups.
    store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION,
                        clock=lambda: now[0], manage_schema=False)
    t0 = base_time(now[0])
    # What the hourly continuous query writes: sum, count, min, max, last per field.
    influx_server.write(influx_db, b"cpu,target=a sum_usage_percent=1080,count_usage_percent=240,"
                                   b"max_usage_percent=9 %d\n" % (t0 * 10**9), rp="rollup_1h")
    now[0] += 3 * 86400  # the raw data is now older than raw retention
    got = store.query("cpu", "usage_percent", t0, t0 + 3600, interval=3600, agg="mean")
    assert got[0].points == [(float(t0), 4.5)]
    store.close()


@pytest.mark.parametrize("url,expected", [
    ("influxdb://monitor@db.local:8086/infra?rp=raw",
     dict(version=1, host="db.local", port=8086, database="infra", rp="raw", user="monitor")),
    ("influxdb2://127.0.0.1:8181?org=gov&bucket=ledger",
     dict(version=2, host="127.0.0.1", port=8181, database="ledger", org="gov")),
])
def test_store_urls(url, expected):
    target = parse_store_url(url)
    assert {k: getattr(target, k) for k in expected} == expected


def test_the_rollup_of_a_field_with_a_backslash_and_a_quote_is_read(influx_server, influx_db):
    now = [time.time()]
    store = InfluxStore(influx_server.store_url(influx_db), retention=RETENTION,
                        clock=lambda: now[0])
    t0 = base_time(now[0])
    field = 'C:\\data "free"'  # a Windows volume's free space, as a collector names it
    # What the hourly continuous query writes for that field (line protocol escaping).
    influx_server.write(influx_db, b'disk,target=w sum_C:\\data\\ \\"free\\"=30,'
                                   b'count_C:\\data\\ \\"free\\"=3 %d\n' % (t0 * 10**9),
                        rp="rollup_1h")
    now[0] += 3 * 86400
    got = store.query("disk", field, t0, t0 + 3600, interval=3600, agg="mean")
    assert got[0].points == [(float(t0), 10.0)]
    store.close()


def test_the_2x_backend_is_the_same_store_with_one_write_path_and_stats():
    # No InfluxDB 2.x runs here (the contract above runs on 1.6; VictoriaMetrics exercises
    # the 2.x write path, tests/store/test_victoria.py); what an influxdb2:// store shares
    # with them is checked here: the protocol, the one write path, its figures.
    from monitor.store import TimeSeriesStore, open_store
    from monitor.store.base import StoreBase
    store = open_store("influxdb2://127.0.0.1:9?org=gov&bucket=ledger", path=None, timeout=1)
    assert isinstance(store, TimeSeriesStore) and type(store).write is StoreBase.write
    assert store.stats() == {"requests_total": 0.0, "request_errors_total": 0.0}
    with pytest.raises(StoreError, match="did not answer"):
        store.write([Sample("up", {"target": "a"}, {"value": 1.0}, 10**9)])
    assert store.stats() == {"requests_total": 1.0, "request_errors_total": 1.0}
    store.close()



def test_a_refused_batch_that_quotes_vmauths_words_is_still_set_aside(tmp_path):
    """Only vmauth's own answer to an unknown token is retried. influxd's 400 for a batch
    over the series limit quotes the tag value it refused: a device whose name says
    "; cannot find the provided auth token" must not make its batch look like a token
    refusal, retried for ever (it can never land)."""
    server = InfluxServer(tmp_path / "influxd")
    server.config.write_text(server.config.read_text().replace(
        "[data]\n", "[data]\n  max-values-per-tag = 2\n"))
    server.start()
    try:
        store = InfluxStore(server.store_url("limited"), retention=RETENTION)
        store.write_lines(b"cpu,host=a usage=1.0 1000000000\ncpu,host=b usage=1.0 1000000000\n")
        with pytest.raises(RejectedBatch, match="max-values-per-tag"):
            store.write_lines(b"cpu,host=x;\\ cannot\\ find\\ the\\ provided\\ auth\\ token "
                              b"usage=1.0 1000000000\n")
        store.close()
    finally:
        server.stop()
