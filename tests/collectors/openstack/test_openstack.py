"""The OpenStack collector against the api-ref samples served in the real URL layout.

Values asserted here are the samples' own (../shared/fixtures/cloud/openstack): e.g. the
placement inventory VCPU total 4, reserved 0, ratio 16.0; MEMORY_MB 5825, reserved 512,
ratio 1.5; the 2.53 hypervisor's 2 vCPUs and 8192 MB; the 2.47 server's embedded m1.tiny.specs.
"""

from __future__ import annotations

import json

import pytest

from collectors.openstack.collector import OpenStackCollector
from tests.apis.openstack import PROJECT_ID, Dataset, Fault, OpenStackAPI

MIB, GIB = 1024 ** 2, 1024 ** 3


def poll(api, polls=1, **options):
    collector = OpenStackCollector("cloud", {"auth_url": api.url, "username": "admin",
                                             "password": "secret", "request_timeout": 5.0,
                                             **options})
    try:
        return [collector.collect() for _ in range(polls)]
    finally:
        collector.close()


def samples(obs, measurement):
    return [s for s in obs.samples if s.measurement == measurement]


def facts(obs, kind):
    return [f for f in obs.facts if f.kind == kind]


def test_newest_microversions_take_capacity_from_placement():
    with OpenStackAPI(compute_max="2.104") as api:
        obs, = poll(api, departments={PROJECT_ID: "大数据局"})
        asked = {path: header for _m, path, header in api.requests if header}
    assert obs.status == "ok", obs.error
    # The SDK negotiated the newest forms: servers 2.100, hypervisors 2.88.
    assert asked["/compute/v2.1/servers/detail"] == "compute 2.100"
    assert asked["/compute/v2.1/os-hypervisors/detail"] == "compute 2.88"
    host, = samples(obs, "hypervisor")
    assert host.tags == {"hypervisor": "host2"}
    assert host.fields["cpus"] == 4 and host.fields["vcpus_capacity"] == 64.0
    assert host.fields["memory_bytes"] == 5825 * MIB
    assert host.fields["memory_capacity_bytes"] == (5825 - 512) * 1.5 * MIB
    assert host.fields["vcpus_allocated"] == 1 and host.fields["disk_allocated_bytes"] == GIB
    assert "running_domains" not in host.fields     # gone from nova at 2.88
    hypervisor, = facts(obs, "hypervisor")
    assert hypervisor.keys == {"hostname": "host2", "mgmt_ip": "192.168.1.135"}
    assert "cpu_model" not in hypervisor.attributes
    server, = facts(obs, "instance")
    assert server.keys == {"instance_uuid": "f5dc173b-6804-445a-a6d8-c705dad5b5eb",
                           "hostname": "new-server-test", "mac": ["00:0c:29:0d:11:74"]}
    attrs = server.attributes
    assert (attrs["vcpus"], attrs["memory_bytes"], attrs["disk_bytes"], attrs["flavor"]) == \
        (1, 512 * MIB, GIB, "m1.tiny")
    assert attrs["department"] == "大数据局" and attrs["project_id"] == PROJECT_ID
    assert "host" not in attrs          # the 2.100 sample is a non-admin view
    pools = {s.tags["pool"]: s.fields for s in samples(obs, "storage_pool")}
    assert pools["pool1"] == {"total_bytes": 1024 * GIB, "free_bytes": 100 * GIB,
                              "used_percent": pytest.approx(90.234375)}
    volume, = facts(obs, "volume")
    assert volume.keys == {"resource_id": "cinder:cb49b381-9012-40cb-b8ee-80c19a4801b5"}
    assert volume.attributes["size_bytes"] == 10 * GIB
    projects = {s.tags["project_id"]: s for s in samples(obs, "cloud_project")}
    assert projects[PROJECT_ID].tags["department"] == "大数据局"
    assert projects[PROJECT_ID].fields["vcpus"] == 1
    assert projects["89afd400-b646-4bbc-b12b-c0a4d63e5bd3"].fields["volume_bytes"] == 10 * GIB


def test_before_2_88_nova_describes_the_host_and_the_admin_view_names_it():
    with OpenStackAPI(compute_max="2.87") as api:
        api.faults["/placement/resource_providers"] = Fault(
            403, b'{"errors": [{"status": 403, "title": "Forbidden"}]}')
        obs, = poll(api)
        asked = {path: header for _m, path, header in api.requests if header}
    assert asked["/compute/v2.1/os-hypervisors/detail"] == "compute 2.87"
    # Placement refused: the host's figures come from nova's own pre-2.88 fields.
    assert obs.status == "partial" and "placement: HTTP 403" in obs.error
    host, = samples(obs, "hypervisor")
    assert host.fields == {"up": 1, "enabled": 1, "running_domains": 0, "cpus": 2,
                           "vcpus_allocated": 0, "memory_bytes": 8192 * MIB,
                           "memory_allocated_bytes": 512 * MIB, "disk_bytes": 1028 * GIB,
                           "disk_allocated_bytes": 0}
    hypervisor, = facts(obs, "hypervisor")
    assert {k: hypervisor.attributes[k] for k in ("cpu_model", "cpu_vendor", "architecture",
                                                  "cpu_sockets", "cpu_threads")} == {
        "cpu_model": "Nehalem", "cpu_vendor": "Intel", "architecture": "x86_64",
        "cpu_sockets": 4, "cpu_threads": 4}
    server, = facts(obs, "instance")
    assert server.attributes["host"] == "fake-mini"      # 2.47 admin view
    assert server.attributes["flavor"] == "m1.tiny.specs"


def test_a_server_naming_its_flavor_by_id_is_sized_from_the_flavor_list():
    with OpenStackAPI(compute_max="2.46") as api:
        obs, = poll(api)
    assert obs.status == "ok", obs.error
    server, = facts(obs, "instance")
    assert (server.attributes["flavor"], server.attributes["vcpus"],
            server.attributes["memory_bytes"]) == ("m1.tiny", 1, 512 * MIB)


def test_pages_are_followed_and_inventory_waits_for_its_interval():
    data = Dataset.generated(2500, hosts=30)
    with OpenStackAPI(data, page_limit=1000) as api:
        first, second = poll(api, polls=2, departments={"demo": "财政局"})
        pages = [p for _m, p, _h in api.requests if p.endswith("/servers/detail")]
    assert first.status == second.status == "ok"
    assert len(pages) == 3                    # 1000 + 1000 + 500, listed once
    instances = facts(first, "instance")
    assert len({f.keys["instance_uuid"] for f in instances}) == 2500
    assert len(facts(first, "volume")) == 2500 and len(facts(first, "hypervisor")) == 30
    demo = [f for f in instances if f.attributes["project"] == "demo"]
    assert demo and all(f.attributes["department"] == "财政局" for f in demo)
    # The second poll is a usage poll: hosts and pools, no listing of servers, no facts.
    assert second.facts == [] and not samples(second, "vm")
    assert len(samples(second, "hypervisor")) == 30
    stopped = [s for s in samples(first, "vm") if not s.fields["running"]]
    assert len(stopped) == 250


@pytest.mark.parametrize("path, fault, expected", [
    ("/compute/v2.1/os-hypervisors/detail", Fault(500), "nova hypervisors: HTTP 500"),
    ("/compute/v2.1/os-hypervisors/detail", Fault(429, b'{"message": "slow down"}',
                                                  {"Retry-After": "0"}),
     "nova hypervisors: HTTP 429: rate limited"),
    ("/compute/v2.1/servers/detail", Fault(200, b'{"servers": [{"id": "x", '),
     "nova servers:"),
    (f"/volume/v3/{PROJECT_ID}/volumes/detail", Fault(404, b'{"itemNotFound": {"code": 404,'
                                                      b' "message": "Unknown API version"}}'),
     "cinder volumes: HTTP 404"),
    (f"/volume/v3/{PROJECT_ID}/scheduler-stats/get_pools",
     Fault(403, b'{"forbidden": {"code": 403, "message": "Policy doesn\'t allow"}}'),
     "cinder pools: HTTP 403: forbidden"),
])
def test_one_failing_api_leaves_the_others(path, fault, expected):
    with OpenStackAPI() as api:
        api.faults[path] = fault
        obs, = poll(api, retries=1)
    assert obs.status == "partial"
    assert expected in obs.error
    assert "secret" not in obs.error
    assert samples(obs, "storage_pool") or samples(obs, "hypervisor")


def test_transient_429_and_503_are_retried():
    with OpenStackAPI() as api:
        api.faults["/compute/v2.1/servers/detail"] = Fault(429, b"{}", {"Retry-After": "0"},
                                                           times=1)
        api.faults["/placement/resource_providers"] = Fault(503, b"{}", times=1)
        obs, = poll(api, retries=2)
    assert obs.status == "ok", obs.error
    assert facts(obs, "instance") and samples(obs, "hypervisor")[0].fields["vcpus_capacity"]


def test_a_failed_inventory_is_read_again_on_the_next_poll():
    with OpenStackAPI() as api:
        api.faults["/compute/v2.1/servers/detail"] = Fault(500, times=2)
        first, second = poll(api, polls=2, retries=1)
    assert first.status == "partial" and not facts(first, "instance")
    assert second.status == "ok" and facts(second, "instance")


def test_wrong_password_and_unreachable_keystone_are_errors():
    with OpenStackAPI(password="other") as api:
        obs, = poll(api)
    assert obs.status == "error" and obs.error.startswith("keystone: HTTP 401")
    assert "secret" not in obs.error
    with OpenStackAPI() as api:
        url = api.url
    obs, = poll(type("Gone", (), {"url": url}), retries=0)
    assert obs.status == "error" and "keystone:" in obs.error


def test_a_slow_api_times_out_without_stopping_the_poll():
    with OpenStackAPI() as api:
        api.faults[f"/volume/v3/{PROJECT_ID}/scheduler-stats/get_pools"] = Fault(
            200, b'{"pools": []}', delay=2.0)
        obs, = poll(api, retries=0, request_timeout=0.5)
    assert obs.status == "partial" and "cinder pools:" in obs.error
    assert facts(obs, "instance")


def test_options_are_checked_and_the_password_is_a_reference(monkeypatch):
    with pytest.raises(ValueError, match="auth_url"):
        OpenStackCollector("c", {"auth_url": "keystone:5000", "username": "u",
                                 "password": "x"})
    with pytest.raises(ValueError, match="OS_TEST_MISSING"):
        OpenStackCollector("c", {"auth_url": "http://127.0.0.1:1/v3", "username": "u",
                                 "password": "env:OS_TEST_MISSING"})
    monkeypatch.setenv("OS_TEST_PW", "secret")
    with OpenStackAPI() as api:
        obs, = poll(api, password="env:OS_TEST_PW")
    assert obs.status == "ok"
    assert "secret" not in json.dumps([f.to_dict() for f in obs.facts])
