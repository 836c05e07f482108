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


def test_a_broken_system_leaves_the_chassis_figures(bmc):
    bmc.faults["/redfish/v1/Systems/437XR1138R2/Processors/CPU1"] = (200, b"[1, 2]")
    obs = poll(bmc)
    assert obs.status == "partial" and not obs.facts
    assert any(s.measurement == "power" for s in obs.samples)
