"""The VictoriaMetrics backend against a real victoria-metrics: the contract, then its own
behaviour (the InfluxDB 2.x write path, deduplicated replays, URLs)."""

from __future__ import annotations

import time
import urllib.request

import pytest

from collectors.base import Sample
from monitor.config import ConfigError, parse_settings
from monitor.store import RejectedBatch, StoreError, open_store
from monitor.store.victoria import VictoriaMetricsStore, parse_victoria_url
from tests.servers import VictoriaMetricsServer, VmAuthServer, free_port
from tests.store.contract import StoreContract, base_time, cpu_samples

RETENTION = {"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400}


@pytest.fixture
def victoria(tmp_path):
    """A real, empty victoria-metrics for one test (a deleted series is not written again
    at once, so tests do not share one server)."""
    server = VictoriaMetricsServer(tmp_path / "victoria").start()
    yield server
    server.stop()


class FlushingStore(VictoriaMetricsStore):
    """Makes each write searchable at once, as VictoriaMetrics' docs advise for tests
    (in production a sample becomes searchable within a second or so)."""

    def __init__(self, server: VictoriaMetricsServer, **options) -> None:
        super().__init__(server.store_url, **options)
        self.server = server

    def write_lines(self, data: bytes) -> int:
        written = super().write_lines(data)
        self.server.flush()
        return written


class TestVictoriaMetricsContract(StoreContract):
    @pytest.fixture
    def store(self, victoria):
        store = FlushingStore(victoria, retention=RETENTION)
        yield store
        store.close()


def test_writes_go_to_the_influxdb_2_write_api(victoria):
    store = FlushingStore(victoria, retention=RETENTION)
    t0 = base_time(time.time())
    store.write([Sample("ups", {"target": "v2"}, {"load_percent": 12.5}, t0 * 10**9)])
    assert store._http.target.version == 2   # /api/v2/write, the 2.x path
    # What the server holds, read without the product: the metric name joins measurement
    # and field with the separator the server was started with.
    with urllib.request.urlopen(f"{victoria.url}/api/v1/export?match[]=ups.load_percent"
                                ) as answer:
        assert b'"target":"v2"' in answer.read()
    store.close()


def test_a_replayed_spool_batch_is_stored_once(victoria):
    store = FlushingStore(victoria, retention=RETENTION)
    t0 = base_time(time.time())
    data = store._http._serializer.serialize(cpu_samples(t0, hosts=("r",), count=30))
    for _ in range(3):
        assert store.write_lines(data) == 30   # lines, as every store counts
    raw = store.query("cpu", "usage_percent", t0, t0 + 3600)
    assert len(raw[0].points) == 30
    store.close()


def test_a_missing_server_is_a_retryable_error():
    store = VictoriaMetricsStore(f"victoriametrics://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(StoreError, match="did not answer"):
        store.write_lines(b"cpu usage=1.0 1\n")
    with pytest.raises(StoreError, match="did not answer"):
        store.query("cpu", "usage", 0, 60)
    store.close()


def test_open_store_and_configuration_take_the_scheme(tmp_path):
    store = open_store("victoriametrics://vm.local:8428", path=tmp_path, retention=RETENTION,
                       password_env="X", manage_schema=False)
    assert isinstance(store, VictoriaMetricsStore)
    settings = parse_settings({"store": {"backend": "victoriametrics://10.0.0.5"}}, "c.yaml",
                              data_dir=str(tmp_path))
    assert settings.store_backend == "victoriametrics://10.0.0.5"
    with pytest.raises(ConfigError, match=r"c.yaml: store.backend: unknown option bucket"):
        parse_settings({"store": {"backend": "victoriametrics://h:1?bucket=x"}}, "c.yaml",
                       data_dir=str(tmp_path))


@pytest.mark.parametrize("url,expected", [
    ("victoriametrics://127.0.0.1:8428", ("127.0.0.1", 8428, ".", False)),
    ("victoriametrics://vm.local", ("vm.local", 8428, ".", False)),
    ("victoriametrics://vm.local:9000?separator=_&tls=true", ("vm.local", 9000, "_", True)),
])
def test_urls(url, expected):
    assert parse_victoria_url(url) == expected


@pytest.mark.parametrize("url", ["victoriametrics://", "victoriametrics://u:p@h:1",
                                 "victoriametrics://h:1/db", "victoriametrics://h?separator=",
                                 "victoriametrics://h?tls=yes"])
def test_bad_urls_say_why(url):
    with pytest.raises(ValueError):
        parse_victoria_url(url)


def test_https_with_the_servers_certificate(tmp_path):
    from tests.test_tls import self_signed
    cert, key = self_signed(tmp_path)
    server = VictoriaMetricsServer(tmp_path / "vm", tls=(cert, key)).start()
    try:
        url = server.store_url + "?tls=true"
        store = VictoriaMetricsStore(url, ca_file=str(cert))
        t0 = base_time(time.time())
        assert store.write([Sample("up", {"target": "tls"}, {"value": 1.0}, t0 * 10**9)]) == 1
        server.flush()
        assert store.query("up", "value", t0, t0 + 1)[0].points == [(float(t0), 1.0)]
        store.close()
        untrusted = VictoriaMetricsStore(url)      # the system's trust store lacks it
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.write_lines(b"up,target=x value=1 1\n")
        untrusted.close()
    finally:
        server.stop()


def test_through_vmauth_with_a_token_and_a_wrong_token_is_retried(victoria, tmp_path,
                                                                  monkeypatch):
    """A cluster or a zone writes through vmauth with a token (``store.token_env``). vmauth
    answers an unknown token with HTTP 400, which otherwise means a bad batch to set aside:
    that answer is retried instead, so a rotated token loses no sample."""
    proxy = VmAuthServer(tmp_path / "vmauth", victoria.url, "zone-east-token").start()
    try:
        monkeypatch.setenv("VM_TOKEN", "zone-east-token")
        store = VictoriaMetricsStore(proxy.store_url, token_env="VM_TOKEN")
        t0 = base_time(time.time())
        assert store.write([Sample("up", {"target": "via-vmauth"}, {"value": 1.0},
                                   t0 * 10**9)]) == 1
        victoria.flush()
        assert store.query("up", "value", t0, t0 + 1)[0].points == [(float(t0), 1.0)]
        store.close()
        monkeypatch.setenv("VM_TOKEN", "an-old-token")
        rotated = VictoriaMetricsStore(proxy.store_url, token_env="VM_TOKEN")
        with pytest.raises(StoreError, match="will retry") as refused:
            rotated.write_lines(b"up,target=x value=1 1\n")
        assert not isinstance(refused.value, RejectedBatch)
        rotated.close()
    finally:
        proxy.stop()
