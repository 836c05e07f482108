"""The Redfish collector against DMTF's public-rackmount1 mockup served over local HTTP.

The mockup (../shared/fixtures/cloud/redfish, read in place) is served by a small
read-only handler that answers the real URL layout (``/redfish/v1/<path>`` ->
``<path>/index.json``); faults are injected per path to check statuses.
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from collectors.redfish.collector import RedfishCollector
from tests.conftest import SHARED

MOCKUP = SHARED / "fixtures" / "cloud" / "redfish" / "public-rackmount1"


class Mockup(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0].rstrip("/")
        fault = self.server.faults.get(path)
        if fault is not None:
            status, body = fault
        else:
            file = MOCKUP / path.removeprefix("/redfish/v1").strip("/") / "index.json"
            status, body = (200, file.read_bytes()) if file.is_file() else (404, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def bmc():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mockup)
    server.faults = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def poll(bmc):
    collector = RedfishCollector("bmc", {"url": bmc.url}, timeout=30)
    try:
        return collector.collect()
    finally:
        collector.close()


def expected(path: str) -> dict:
    return json.loads((MOCKUP / path / "index.json").read_text())


def test_inventory_fact_from_the_mockup(bmc):
    obs = poll(bmc)
    assert obs.status == "ok", obs.error
    fact = obs.facts[0]
    system = expected("Systems/437XR1138R2")
    assert fact.kind == "server"
    assert fact.keys["serial_number"] == system["SerialNumber"] == "437XR1138R2"
    assert fact.keys["machine_uuid"] == system["UUID"].lower()
    assert (fact.attributes["vendor"], fact.attributes["model"]) == ("Contoso", "3500")
    assert (fact.attributes["cpu_sockets"], fact.attributes["cpu_threads"]) == (2, 16)
    assert fact.attributes["memory_bytes"] == 96 * 1024**3
    kinds = {p.get("type") for p in fact.attributes["processors"]}
    assert kinds == {"CPU", "FPGA"}                     # the FPGA is listed, not counted
    assert fact.attributes["bmc_firmware"] == expected("Managers/BMC")["FirmwareVersion"]
    nic = expected("Systems/437XR1138R2/EthernetInterfaces/12446A3B0411")
    assert nic["MACAddress"].lower() in fact.keys["mac"]
    assert fact.keys["hostname"] == "web483"


def test_power_and_thermal_prefer_the_new_forms(bmc):
    obs = poll(bmc)
    samples = {}
    for sample in obs.samples:
        samples.setdefault(sample.measurement, []).append(sample)
    power = samples["power"][0].fields
    assert power == {"consumed_watts": 374, "capacity_watts": 800}   # EnvironmentMetrics
    bay1 = expected("Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics")
    supply = next(s for s in samples["power_supply"] if s.tags["supply"] == "Power Supply Bay 1")
    assert supply.fields["input_watts"] == bay1["InputPowerWatts"]["Reading"]
    temperatures = {s.tags["sensor"]: s.fields["celsius"] for s in samples["temperature"]}
    assert temperatures == {"Intake": 24.8, "Exhaust": 40.5}        # ThermalMetrics only
    fans = {s.tags["fan"]: s.fields for s in samples["fan"]}
    assert fans["Fan Bay 1"] == {"speed_percent": 45, "speed_rpm": 2200}
    assert samples["server"][0].fields == {"power_on": 1, "health_ok": 1}


def test_legacy_power_and_thermal_when_the_new_forms_are_missing(bmc):
    for path in ("PowerSubsystem", "ThermalSubsystem", "EnvironmentMetrics"):
        bmc.faults[f"/redfish/v1/Chassis/1U/{path}"] = (404, b"{}")
    obs = poll(bmc)
    temperatures = {s.tags["sensor"]: s.fields.get("celsius") for s in obs.samples
                    if s.measurement == "temperature"}
    assert temperatures == {"CPU1 Temp": 41, "Chassis Intake Temp": 25}   # CPU2 has no reading
    power = next(s for s in obs.samples if s.measurement == "power")
    assert power.fields["consumed_watts"] == 344                         # legacy PowerControl
    fans = {s.tags["fan"]: s.fields for s in obs.samples if s.measurement == "fan"}
    assert fans["BaseBoard System Fan"] == {"speed_rpm": 2100}
    assert obs.status == "partial" and "HTTP 404" in obs.error


@pytest.mark.parametrize("path, status, body, words", [
    ("/redfish/v1", 500, b"{}", "HTTP 500"),
    ("/redfish/v1", 200, b"{truncated", "/redfish/v1/"),
])
def test_a_broken_service_root_is_an_error_status(bmc, path, status, body, words):
    bmc.faults[path] = (status, body)
    obs = poll(bmc)
    assert obs.status == "error" and words in obs.error


def test_a_broken_sub_resource_leaves_the_rest(bmc):
    bmc.faults["/redfish/v1/Systems/437XR1138R2/Processors/CPU1"] = (200, b"[1, 2]")
    obs = poll(bmc)
    assert obs.status == "partial" and "Processors/CPU1" in obs.error
    assert any(s.measurement == "power" for s in obs.samples)
    # The system is still recorded, identified, without the processor list it lacks.
    server, = obs.facts
    assert server.keys["serial_number"] == "437XR1138R2" and "processors" not in \
        server.attributes


@pytest.fixture
def sushy(tmp_path):
    """sushy-tools' Redfish emulator on loopback, its systems the libvirt test node's guests."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.collectors.libvirt.test_libvirt import NODE
    from tests.servers import free_tcp_port

    port = free_tcp_port()
    config = tmp_path / "sushy.conf"
    config.write_text(f'SUSHY_EMULATOR_LIBVIRT_URI = "test://{NODE}"\n'
                      f'SUSHY_EMULATOR_LISTEN_IP = "127.0.0.1"\n'
                      f'SUSHY_EMULATOR_LISTEN_PORT = {port}\n')
    process = subprocess.Popen([sys.executable, "-c", "from sushy_tools.emulator.main import "
                                "main; main()", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/redfish/v1/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sushy_tools_emulator(sushy):
    collector = RedfishCollector("sushy", {"url": sushy}, timeout=30)
    try:
        obs = collector.collect()
    finally:
        collector.close()
    # The emulator links a Memory collection it does not serve: named, the rest reported.
    assert obs.status == "partial" and "/Memory: HTTP 404" in obs.error
    servers = {f.keys["machine_uuid"]: f for f in obs.facts if f.kind == "server"}
    # Its systems are the libvirt guests: the same UUIDs the libvirt collector reports.
    assert set(servers) == {"5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11",
                            "9b2e6d4a-1c3f-4e5a-8b7c-0d9e8f7a6b54"}
    web = servers["5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11"].attributes
    assert web["memory_bytes"] == 16 * 1024 ** 3
    assert web["power_state"] == "On" and web["cpu_cores"] >= 1   # "TotalCores" is a string
    assert [s.fields["power_on"] for s in obs.samples if s.measurement == "server"]
