"""The vSphere collector against govmomi's vCenter simulator (Debian's govmomi 0.24.2).

The recorded run in ../shared/fixtures/cloud/vsphere is the same simulator version, so the
hardware values it holds (CPU model, cores, MHz, memory, the VMs' BIOS UUIDs) are what the
collector must report here.
"""

from __future__ import annotations

import json

import pytest

from collectors.vsphere.collector import VsphereCollector
from tests.apis.vcsim import SoapFaults, VcSim
from tests.conftest import SHARED

RECORDED = json.loads((SHARED / "fixtures" / "cloud" / "vsphere" /
                       "vcsim-0.24.2-pyvmomi-inventory.json").read_text())


@pytest.fixture(scope="module")
def vcenter():
    with VcSim() as sim:
        yield sim


@pytest.fixture(scope="module")
def plain_vcenter():
    with VcSim(http_only=True) as sim:
        yield sim


def collector(url, **options):
    return VsphereCollector("vc", {"url": url, "username": "ledger", "password": "secret",
                                   "verify_tls": False, "request_timeout": 5.0, **options})


def poll(url, polls=1, **options):
    c = collector(url, **options)
    try:
        return [c.collect() for _ in range(polls)]
    finally:
        c.close()


def samples(obs, measurement):
    return {tuple(sorted(s.tags.items())): s.fields for s in obs.samples
            if s.measurement == measurement}


def facts(obs, kind):
    return [f for f in obs.facts if f.kind == kind]


def test_inventory_matches_the_recorded_simulator(vcenter):
    obs, = poll(vcenter.url, departments={"Resources": "大数据局"})
    assert obs.status == "ok", obs.error
    hosts = {f.keys["hostname"]: f for f in facts(obs, "hypervisor")}
    assert len(hosts) == vcenter.counts["hosts"] == len(RECORDED["hosts"])
    for recorded in RECORDED["hosts"]:
        host = hosts[recorded["name"]].attributes
        assert (host["cpu_model"], host["cpu_sockets"], host["cpu_cores"], host["cpu_threads"],
                host["cpu_mhz"], host["memory_bytes"], host["model"]) == (
            recorded["cpuModel"], recorded["numCpuPkgs"], recorded["numCpuCores"],
            recorded["numCpuThreads"], recorded["cpuMhz"], recorded["memorySize"],
            recorded["model"])
        assert host.get("cluster") == (recorded["parent"] if recorded["parent"] != recorded["name"]
                                       else None)
    # The simulator gives every host one virtual serial: not an identity, kept aside.
    assert all("serial_number" not in f.keys and f.attributes["serial_number_shared"]
               for f in hosts.values())
    assert len({f.keys["machine_uuid"] for f in hosts.values()}) == 4
    vms = {f.attributes["name"]: f for f in facts(obs, "instance")}
    assert len(vms) == len(RECORDED["vms"])
    for recorded in RECORDED["vms"]:
        vm = vms[recorded["name"]]
        assert vm.keys["machine_uuid"] == recorded["uuid"]
        assert (vm.attributes["vcpus"], vm.attributes["memory_bytes"],
                vm.attributes["power_state"], vm.attributes["host"]) == (
            recorded["numCpu"], recorded["memorySizeMB"] * 1024 ** 2, recorded["powerState"],
            recorded["host"])
    cluster_vm = vms["DC0_C0_RP0_VM0"]
    assert cluster_vm.attributes["resource_pool"] == "Resources"
    assert cluster_vm.attributes["department"] == "大数据局"
    datastore, = facts(obs, "datastore")
    assert datastore.attributes["name"] == "LocalDS_0"


def test_usage_samples(vcenter):
    obs, = poll(vcenter.url)
    hosts = {dict(k)["hypervisor"]: v for k, v in samples(obs, "hypervisor").items()}
    standalone = hosts["DC0_H0"]
    assert standalone["cpus"] == 2 and standalone["cpu_mhz_total"] == 2 * 2294
    assert standalone["cpu_used_mhz"] == 67                     # quickStats, as recorded
    assert standalone["memory_used_bytes"] == 1404 * 1024 ** 2
    assert standalone["running_domains"] == 2 and standalone["vcpus_allocated"] == 2
    # cpu.usage.average from the PerformanceManager (the simulator makes the values up).
    assert standalone["cpu_usage_percent"] >= 0
    assert {dict(k)["cluster"] for k in samples(obs, "hypervisor")} == {"", "DC0_C0"}
    cluster, = samples(obs, "cluster").values()
    assert (cluster["hosts"], cluster["cpu_cores"]) == (3, 6)
    store, = samples(obs, "datastore").values()
    assert store["capacity_bytes"] > store["free_bytes"] > 0
    assert 0 < store["used_percent"] < 100
    assert len(samples(obs, "vm")) == 4


def test_property_collector_pages_and_no_per_property_calls(plain_vcenter):
    proxy = SoapFaults(plain_vcenter.url)
    proxy.page = 3
    try:
        first, second = poll(proxy.url, polls=2, page_size=3)
    finally:
        proxy.stop()
    assert first.status == second.status == "ok"
    assert len(facts(first, "instance")) == 4 and second.facts == []
    methods = proxy.methods
    assert "RetrieveProperties" not in methods
    assert methods.count("Fetch") == 1      # the perf counter catalogue, once per session
    # 4 hosts + 4 VMs + cluster + datastore + folders + pools at 3 per page: continued.
    assert methods.count("RetrievePropertiesEx") == 2
    assert methods.count("ContinueRetrievePropertiesEx") >= 4
    assert methods.count("QueryPerf") == 2
    assert methods.count("Login") == 1


@pytest.mark.parametrize("method, fault, status, expected", [
    ("RetrievePropertiesEx", ("truncate", None), "error", "RetrievePropertiesEx:"),
    ("RetrievePropertiesEx", ("status", 503), "error", "RetrievePropertiesEx:"),
    ("RetrievePropertiesEx", ("delay", 2.0), "error", "timed out"),
    ("QueryPerf", ("status", 500), "partial", "QueryPerf:"),
    ("QueryPerf", ("truncate", None), "partial", "QueryPerf:"),
])
def test_broken_answers_give_a_status_and_the_next_poll_recovers(plain_vcenter, method, fault,
                                                                 status, expected):
    proxy = SoapFaults(plain_vcenter.url)
    c = collector(proxy.url, request_timeout=1.0)
    try:
        proxy.faults[method] = fault
        broken = c.collect()
        proxy.faults.clear()
        healthy = c.collect()
    finally:
        c.close()
        proxy.stop()
    assert broken.status == status and expected in broken.error, broken.error
    assert "secret" not in broken.error
    if status == "partial":
        assert samples(broken, "hypervisor")          # quickStats still there
    assert healthy.status == "ok", healthy.error
    assert samples(healthy, "vm")


def test_wrong_password_and_no_server(vcenter):
    obs, = poll(vcenter.url, password="wrong")
    assert obs.status == "error" and "login failed" in obs.error
    obs, = poll("https://127.0.0.1:9/sdk")
    assert obs.status == "error" and obs.error.startswith("https://127.0.0.1:9/sdk:")


def test_options_are_checked():
    with pytest.raises(ValueError, match="url"):
        VsphereCollector("vc", {"url": "vc.example", "username": "u", "password": "p"})
    with pytest.raises(ValueError, match="VSPHERE_TEST_MISSING"):
        VsphereCollector("vc", {"url": "https://127.0.0.1/sdk", "username": "u",
                                "password": "env:VSPHERE_TEST_MISSING"})
