"""The Prometheus collector against a real node_exporter and the recorded scrape."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import psutil
import pytest

from collectors.prometheus.collector import PrometheusCollector
from tests.conftest import SHARED
from tests.servers import NodeExporterServer

RECORDED = SHARED / "fixtures" / "cloud" / "node_exporter" / "metrics.txt"


@pytest.fixture(scope="module")
def node_exporter(tmp_path_factory):
    server = NodeExporterServer(tmp_path_factory.mktemp("node_exporter")).start()
    yield server
    server.stop()


class Page(http.server.BaseHTTPRequestHandler):
    """Serves ``self.server.body`` (a recorded page) or an error, as an exporter would."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body, token = self.server.status, self.server.body, self.server.token
        if token and self.headers.get("Authorization") != f"Bearer {token}":
            status, body = 401, b"unauthorized"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def page():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    server.status, server.body, server.token = 200, RECORDED.read_bytes(), ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def by_measurement(obs) -> dict:
    found = {}
    for sample in obs.samples:
        found.setdefault(sample.measurement, []).append(sample)
    return found


def test_real_node_exporter_maps_onto_host_measurements(node_exporter):
    collector = PrometheusCollector("ne", {"url": node_exporter.url})
    first = collector.collect()
    time.sleep(1.1)
    second = collector.collect()
    assert first.status == second.status == "ok"
    samples = by_measurement(second)
    memory = psutil.virtual_memory()
    assert samples["mem"][0].fields["total_bytes"] == memory.total
    assert samples["system"][0].fields["cpu_logical_count"] == psutil.cpu_count()
    cpus = {s.tags["cpu"]: s.fields for s in samples["cpu"]}
    assert "cpu-total" in cpus and 0 <= cpus["cpu-total"]["usage_percent"] <= 100
    assert "cpu" not in by_measurement(first)          # rates need two scrapes
    root = next(s for s in samples["disk"] if s.tags["path"] == "/")
    assert root.fields["total_bytes"] == pytest.approx(psutil.disk_usage("/").total, rel=0.01)
    assert any("rx_bytes_per_second" in s.fields for s in samples["net"])
    fact = second.facts[0]
    assert fact.kind == "host" and fact.keys["hostname"] == socket.gethostname()
    assert fact.keys["mgmt_ip"] == "127.0.0.1"
    assert fact.attributes["memory_bytes"] == memory.total


def test_recorded_scrape(page):
    url = f"http://127.0.0.1:{page.server_address[1]}/metrics"
    obs = PrometheusCollector("vm", {"url": url, "metrics": ["node_load*"]}).collect()
    samples = by_measurement(obs)
    assert samples["mem"][0].fields["total_bytes"] == 25276514304
    # 283 HELP lines; the parser takes go_memstats_alloc_bytes and its _total as one family.
    helps = {line.split()[2].removesuffix("_total")
             for line in RECORDED.read_text().splitlines() if line.startswith("# HELP")}
    assert samples["scrape"][0].fields["families"] == len(helps) == 282
    assert {s.measurement for s in obs.samples} >= {"node_load1", "node_load5", "node_load15"}
    assert samples["node_load1"][0].fields["value"] == 0.62
    root = next(s for s in samples["disk"] if s.tags["path"] == "/")
    assert (root.tags["device"], root.fields["total_bytes"]) == ("/dev/vda", 270553174016)
    fact = obs.facts[0]
    assert (fact.keys["hostname"], fact.attributes["os_name"]) == (
        "vm", "Debian GNU/Linux 12 (bookworm)")
    assert "02:fc:00:00:00:01" in fact.keys["mac"]


def test_errors_are_a_status_not_an_exception(page, monkeypatch):
    url = f"http://127.0.0.1:{page.server_address[1]}/metrics"
    page.status, page.body = 404, b"not here"
    obs = PrometheusCollector("x", {"url": url}).collect()
    assert obs.status == "error" and "HTTP 404" in obs.error
    page.status, page.body = 200, b"node_load1{unclosed 1\n"
    obs = PrometheusCollector("x", {"url": url}).collect()
    assert obs.status == "error" and "not a metrics page" in obs.error
    page.body, page.token = RECORDED.read_bytes(), "t0ken"
    assert PrometheusCollector("x", {"url": url}).collect().error == f"HTTP 401 from {url}"
    monkeypatch.setenv("EXPORTER_TOKEN", "t0ken")
    assert PrometheusCollector("x", {"url": url, "bearer_token": "env:EXPORTER_TOKEN"}) \
        .collect().status == "ok"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    obs = PrometheusCollector("x", {"url": f"http://127.0.0.1:{closed}/metrics"}).collect()
    assert obs.status == "error" and "cannot scrape" in obs.error


def test_placeholder_dmi_values_are_no_identity(page):
    """The recorded page with a whitebox's DMI line added: no serial or UUID key."""
    page.body = RECORDED.read_bytes() + (
        b'node_dmi_info{product_serial="To be filled by O.E.M.",'
        b'product_uuid="03000200-0400-0500-0006-000700080009",system_vendor="Sugon"} 1\n')
    url = f"http://127.0.0.1:{page.server_address[1]}/metrics"
    fact = PrometheusCollector("vm", {"url": url}).collect().facts[0]
    assert "serial_number" not in fact.keys and "machine_uuid" not in fact.keys
    assert fact.attributes["serial_number_placeholder"] == "To be filled by O.E.M."
    assert fact.attributes["vendor"] == "Sugon"
