"""The libvirt collector against libvirt's real test driver with a host of our own."""

from __future__ import annotations

import time
from pathlib import Path

from collectors.libvirt.collector import LibvirtCollector

NODE = Path(__file__).with_name("node.xml")


def by_measurement(obs) -> dict:
    found = {}
    for sample in obs.samples:
        found.setdefault(sample.measurement, []).append(sample)
    return found


def test_host_and_guests_from_the_test_driver():
    collector = LibvirtCollector("kvm-01", {"uri": f"test://{NODE}"})
    try:
        first = collector.collect()
        time.sleep(0.3)
        second = collector.collect()
    finally:
        collector.close()
    assert first.status == second.status == "ok"
    hypervisor = by_measurement(second)["hypervisor"][0].fields
    assert hypervisor == {"cpus": 64, "memory_bytes": 256 * 1024**3, "domains": 2,
                          "running_domains": 1, "vcpus_allocated": 8,
                          "memory_allocated_bytes": 16 * 1024**3}
    host = second.facts[0]
    assert host.kind == "hypervisor"
    assert {k: host.attributes[k] for k in ("cpu_sockets", "cpu_cores", "cpu_threads",
                                            "numa_nodes", "cpu_mhz")} == {
        "cpu_sockets": 2, "cpu_cores": 32, "cpu_threads": 64, "numa_nodes": 2, "cpu_mhz": 2600}
    guests = {f.attributes["name"]: f for f in second.facts[1:]}
    web, db = guests["gov-web-01"], guests["gov-db-02"]
    assert web.keys == {"instance_uuid": "5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11",
                        "hostname": "gov-web-01", "mac": ["52:54:00:1a:2b:3c"]}
    assert (web.attributes["vcpus"], web.attributes["memory_bytes"], web.attributes["state"]) \
        == (8, 16 * 1024**3, "running")
    assert (db.attributes["state"], db.attributes["vcpus"]) == ("shutoff", 16)
    samples = by_measurement(second)
    vm = {s.tags["domain"]: s.fields for s in samples["vm"]}
    assert 0 <= vm["gov-web-01"]["cpu_usage_percent"] <= 100
    assert "cpu_usage_percent" not in by_measurement(first)["vm"][0].fields
    assert [s.tags["domain"] for s in samples["vm_disk"]] == ["gov-web-01"]   # running only
    disk = samples["vm_disk"][0].fields
    assert disk["read_bytes_per_second"] >= 0 and disk["write_bytes"] > 0
    # The test driver names a started guest's interfaces itself, as libvirtd does (vnetN).
    assert samples["vm_net"][0].tags["interface"] == "testnet0"
    assert samples["vm_net"][0].fields["rx_bytes"] > 0


def test_an_unreachable_host_is_an_error_status():
    collector = LibvirtCollector("gone", {"uri": "test:///no/such/node.xml"})
    obs = collector.collect()
    collector.close()
    assert obs.status == "error" and "test:///no/such/node.xml" in obs.error
