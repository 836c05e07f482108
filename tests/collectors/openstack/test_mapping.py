"""The OpenStack mapping as pure functions on the api-ref samples, read in place.

Expected values are the samples' own (../shared/fixtures/cloud/openstack): placement's VCPU
total 4, ratio 16.0 and MEMORY_MB 5825, reserved 512, ratio 1.5; the base hypervisor's
cpu_info string (Nehalem, 4 sockets); cinder's pool1 of 1024 GB with 100 GB free.
"""

from __future__ import annotations

import json

import pytest

from collectors.base import Observation
from collectors.openstack import mapping
from tests.conftest import SHARED

SAMPLES = SHARED / "fixtures" / "cloud" / "openstack"
MIB, GIB = 1024 ** 2, 1024 ** 3
PROJECT_ID = "6f70656e737461636b20342065766572"


def sample(path: str) -> dict:
    return json.loads((SAMPLES / path).read_text(encoding="utf-8"))


def placement() -> dict:
    """One provider as the client returns it, from the inventories and usages samples."""
    return {"name": "host2",
            "inventories": sample("placement/inventories/get-inventories.json")["inventories"],
            "usages": sample("placement/resource_provider_usages/"
                             "get-resource_provider_usages.json")["usages"]}


def test_2_88_hypervisors_take_capacity_from_placement():
    raw, = sample("nova/os-hypervisors/v2.88/hypervisors-detail-resp.json")["hypervisors"]
    obs = Observation()
    mapping.hypervisor_samples(obs, [raw], {"any-uuid": placement()}, 7, facts=True)
    host, = obs.samples
    assert host.tags == {"hypervisor": raw["hypervisor_hostname"]}
    assert host.fields["cpus"] == 4 and host.fields["vcpus_capacity"] == 64.0
    assert host.fields["memory_capacity_bytes"] == (5825 - 512) * 1.5 * MIB
    assert host.fields["vcpus_allocated"] == 1 and host.fields["disk_allocated_bytes"] == GIB
    assert "running_domains" not in host.fields
    fact, = obs.facts
    assert fact.keys == {"hostname": raw["hypervisor_hostname"], "mgmt_ip": raw["host_ip"]}
    assert "cpu_model" not in fact.attributes


def test_base_hypervisors_describe_themselves_without_placement():
    raw, = sample("nova/os-hypervisors/hypervisors-detail-resp.json")["hypervisors"]
    hyp = mapping.hypervisor(raw)
    fields = mapping.hypervisor_fields(hyp, {}, {})
    assert fields == {"up": True, "enabled": True, "running_domains": 0, "cpus": 2,
                      "vcpus_allocated": 0, "memory_bytes": 8192 * MIB,
                      "memory_allocated_bytes": 512 * MIB, "disk_bytes": 1028 * GIB,
                      "disk_allocated_bytes": 0}
    fact = mapping.hypervisor_fact(hyp, fields)
    assert {k: fact.attributes.get(k) for k in ("cpu_model", "cpu_vendor", "architecture",
                                                "cpu_sockets", "cpu_cores", "cpu_threads")} == {
        "cpu_model": "Nehalem", "cpu_vendor": "Intel", "architecture": "x86_64",
        "cpu_sockets": 4, "cpu_cores": 4, "cpu_threads": 4}


def test_servers_naming_a_flavor_by_id_are_sized_from_the_flavor_list():
    server, = sample("nova/servers/servers-details-resp.json")["servers"]
    flavors = {f["id"]: f for f in sample("nova/flavors/flavors-detail-resp.json")["flavors"]}
    fact = mapping.server_fact(server, flavors, {PROJECT_ID: "demo"}, {"demo": "大数据局"})
    assert fact.keys["instance_uuid"] == server["id"]
    assert (fact.attributes["flavor"], fact.attributes["vcpus"],
            fact.attributes["memory_bytes"], fact.attributes["disk_bytes"]) == \
        ("m1.tiny", 1, 512 * MIB, GIB)
    assert fact.attributes["department"] == "大数据局"
    assert fact.attributes["power_state"] == "running"


def test_2_47_servers_carry_their_flavor_and_the_admin_view_names_the_host():
    server, = sample("nova/servers/v2.47/servers-details-resp.json")["servers"]
    fact = mapping.server_fact(server, {}, {}, {})
    assert fact.attributes["flavor"] == "m1.tiny.specs"
    assert fact.attributes["host"] == "fake-mini"
    assert fact.keys["mac"] == ["00:0c:29:0d:11:74"]


def test_pools_volumes_and_project_totals():
    obs = Observation()
    mapping.pool_samples(obs, sample("cinder/pools-list-detailed-response.json")["pools"], 7,
                         facts=True)
    pools = {s.tags["pool"]: s.fields for s in obs.samples}
    assert pools["pool1"] == {"total_bytes": 1024 * GIB, "free_bytes": 100 * GIB,
                              "used_percent": pytest.approx(90.234375)}
    assert {f.keys["resource_id"] for f in obs.facts} == {"cinder:pool1", "cinder:pool2"}
    volumes = sample("cinder/volumes/volumes-list-detailed-response.json")["volumes"]
    servers = sample("nova/servers/v2.100/servers-details-resp.json")["servers"]
    inventory = Observation()
    mapping.inventory(inventory, servers, volumes, {}, {}, {PROJECT_ID: "财政局"}, 7)
    volume = next(f for f in inventory.facts if f.kind == "volume")
    assert volume.keys == {"resource_id": f"cinder:{volumes[0]['id']}"}
    assert volume.attributes["size_bytes"] == volumes[0]["size"] * GIB
    totals = {s.tags["project_id"]: s for s in inventory.samples
              if s.measurement == "cloud_project"}
    assert totals[PROJECT_ID].tags["department"] == "财政局"
    assert totals[PROJECT_ID].fields["instances"] == 1
    assert totals[volumes[0]["os-vol-tenant-attr:tenant_id"]].fields["volume_bytes"] == \
        volumes[0]["size"] * GIB


def test_flavor_gpus_and_numbers():
    assert mapping.flavor_gpus({"resources:VGPU": "2", "pci_passthrough:alias":
                                "a100-gpu:2,nic:1"}) == 4
    assert mapping.flavor_gpus({}) is None
    assert mapping.number("infinite") is None and mapping.number("2.5") == 2.5
