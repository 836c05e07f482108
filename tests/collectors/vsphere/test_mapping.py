"""The vSphere mapping as pure functions on the recorded simulator inventory.

``../shared/fixtures/cloud/vsphere/vcsim-0.24.2-pyvmomi-inventory.json`` holds what a
pyvmomi collector read from govmomi's simulator; each recorded host, VM, cluster and
datastore is laid out here as the client hands objects to the mapping (property paths,
data objects as dicts, references as type and moid), and the figures must come out as
recorded.
"""

from __future__ import annotations

import json

import pytest

from collectors.base import Observation
from collectors.vsphere import mapping
from tests.conftest import SHARED

RECORDED = json.loads((SHARED / "fixtures" / "cloud" / "vsphere" /
                       "vcsim-0.24.2-pyvmomi-inventory.json").read_text())
MIB = 1024 ** 2
HARDWARE = ("vendor", "model", "cpuModel", "numCpuPkgs", "numCpuCores", "numCpuThreads",
            "cpuMhz", "memorySize")


def ref(kind: str, moid: str) -> dict:
    return {"type": kind, "moid": moid}


def objects() -> dict:
    """The recording as ``{type: {moid: {property path: value}}}``; moids are names here."""
    clusters = {c["name"] for c in RECORDED["clusters"]}
    hosts = {}
    for h in RECORDED["hosts"]:
        hosts[h["name"]] = {
            "name": h["name"], "runtime.connectionState": h["connectionState"],
            "runtime.powerState": h["powerState"],
            "parent": ref("ClusterComputeResource" if h["parent"] in clusters
                          else "ComputeResource", h["parent"]),
            "summary.hardware": {k: h[k] for k in HARDWARE},
            "summary.hardware.numCpuThreads": h["numCpuThreads"],
            "summary.hardware.numCpuCores": h["numCpuCores"],
            "summary.hardware.cpuMhz": h["cpuMhz"],
            "summary.hardware.memorySize": h["memorySize"],
            "summary.quickStats.overallCpuUsage": h["overallCpuUsage"],
            "summary.quickStats.overallMemoryUsage": h["overallMemoryUsage"],
            "summary.quickStats.uptime": h["uptime"]}
    vms = {v["name"]: {
        "name": v["name"], "config.uuid": v["uuid"], "runtime.powerState": v["powerState"],
        "runtime.host": ref("HostSystem", v["host"]), "summary.config.numCpu": v["numCpu"],
        "summary.config.memorySizeMB": v["memorySizeMB"],
        "summary.quickStats.overallCpuUsage": v["overallCpuUsage"],
        "resourcePool": ref("ResourcePool", "pool-1") if "_RP0_" in v["name"] else None}
        for v in RECORDED["vms"]}
    return {"HostSystem": hosts, "VirtualMachine": vms,
            "ClusterComputeResource": {c["name"]: {"name": c["name"], "summary": c}
                                       for c in RECORDED["clusters"]},
            "Datastore": {d["name"]: {"name": d["name"], "summary": d}
                          for d in RECORDED["datastores"]},
            "ResourcePool": {"pool-1": {"name": "Resources"}}}


@pytest.fixture
def mapped():
    obs, found = Observation(), objects()
    mapping.emit(obs, found, {}, mapping.names_of(found), {"Resources": "大数据局"}, 7,
                 inventory=True)
    return obs


def test_hosts_are_described_as_recorded(mapped):
    facts = {f.keys["hostname"]: f.attributes for f in mapped.facts if f.kind == "hypervisor"}
    assert len(facts) == len(RECORDED["hosts"])
    for recorded in RECORDED["hosts"]:
        host = facts[recorded["name"]]
        assert (host["cpu_model"], host["cpu_sockets"], host["cpu_cores"], host["cpu_threads"],
                host["cpu_mhz"], host["memory_bytes"], host["model"]) == tuple(
            recorded[k] for k in ("cpuModel", "numCpuPkgs", "numCpuCores", "numCpuThreads",
                                  "cpuMhz", "memorySize", "model"))
        assert host.get("cluster") == (recorded["parent"]
                                       if recorded["parent"] != recorded["name"] else None)


def test_host_usage_adds_up_what_runs_on_it(mapped):
    hosts = {s.tags["hypervisor"]: s for s in mapped.samples if s.measurement == "hypervisor"}
    standalone = hosts["DC0_H0"].fields
    assert standalone["cpu_mhz_total"] == 2 * 2294 and standalone["cpu_used_mhz"] == 67
    assert standalone["cpu_usage_percent"] == pytest.approx(67 / (2 * 2294) * 100)
    assert standalone["memory_used_bytes"] == 1404 * MIB
    assert standalone["running_domains"] == 2 and standalone["vcpus_allocated"] == 2
    assert hosts["DC0_C0_H0"].tags["cluster"] == "DC0_C0"


def test_vms_clusters_and_datastores(mapped):
    vms = {f.attributes["name"]: f for f in mapped.facts if f.kind == "instance"}
    for recorded in RECORDED["vms"]:
        vm = vms[recorded["name"]]
        assert vm.keys["machine_uuid"] == recorded["uuid"]
        assert (vm.attributes["vcpus"], vm.attributes["memory_bytes"], vm.attributes["host"]) \
            == (recorded["numCpu"], recorded["memorySizeMB"] * MIB, recorded["host"])
    assert vms["DC0_C0_RP0_VM0"].attributes["department"] == "大数据局"
    assert "department" not in vms["DC0_H0_VM0"].attributes
    cluster, = (s.fields for s in mapped.samples if s.measurement == "cluster")
    assert (cluster["hosts"], cluster["cpu_cores"], cluster["cpu_mhz_total"]) == (3, 6, 6882)
    store, = (s.fields for s in mapped.samples if s.measurement == "datastore")
    recorded = RECORDED["datastores"][0]
    assert store["capacity_bytes"] == recorded["capacity"]
    assert store["used_percent"] == pytest.approx(
        (recorded["capacity"] - recorded["freeSpace"]) / recorded["capacity"] * 100)


def test_a_shared_serial_is_no_identity_and_placeholders_are_kept_aside():
    hardware = {"uuid": "4c4c4544-0042-3510-8050-b4c04f4a4d32", "otherIdentifyingInfo": [
        {"identifierType": {"key": "ServiceTag"}, "identifierValue": "9B5PJM2"},
        {"identifierType": {"key": "SerialNumberTag"}, "identifierValue": "To be filled by O.E.M."}]}
    fact = mapping.host_fact({"name": "esx1", "summary.hardware": hardware,
                              "config.network.pnic": [{"mac": "00:50:56:AA:BB:CC"}]}, None)
    assert "serial_number" not in fact.keys
    assert fact.attributes["serial_number_placeholder"] == "To be filled by O.E.M."
    assert fact.keys["mac"] == ["00:50:56:aa:bb:cc"]
    tagged = mapping.host_fact({"name": "esx2", "summary.hardware": {
        "otherIdentifyingInfo": hardware["otherIdentifyingInfo"][:1]}}, None)
    assert tagged.keys["serial_number"] == "9B5PJM2"
