"""OpenStack API objects to samples and facts: pure functions over the APIs' JSON.

Input is what :mod:`collectors.openstack.client` returns, which is what the api-ref samples
in ``../shared/fixtures/cloud/openstack`` hold: nova hypervisors, servers and flavors,
placement inventories and usages, cinder volumes and pools. No function here talks to a
cloud, so each is tested on those samples directly.
"""

from __future__ import annotations

import json
from typing import Any

from collectors.base import Fact, Observation
from collectors.identity import clean_keys

GIB = 1024 ** 3
MIB = 1024 ** 2
#: Resource classes that count as GPUs on a provider or in a flavor.
GPU_CLASSES = ("VGPU", "PGPU")
#: nova's power_state codes (nova/compute/power_state.py).
POWER_STATES = {0: "nostate", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                7: "suspended"}


def hypervisor(raw: dict) -> dict:
    """The fields of one nova hypervisor the mapping reads, under stable names."""
    return {
        "id": str(raw.get("id")), "name": raw.get("hypervisor_hostname"),
        "host_ip": raw.get("host_ip"), "type": raw.get("hypervisor_type"),
        "version": raw.get("hypervisor_version"), "state": raw.get("state"),
        "status": raw.get("status"), "service_host": (raw.get("service") or {}).get("host"),
        # Gone from 2.88 on: capacity then comes from placement.
        "cpu_info": raw.get("cpu_info"), "vcpus": raw.get("vcpus"),
        "vcpus_used": raw.get("vcpus_used"), "memory_mb": raw.get("memory_mb"),
        "memory_mb_used": raw.get("memory_mb_used"), "local_gb": raw.get("local_gb"),
        "local_gb_used": raw.get("local_gb_used"), "running_vms": raw.get("running_vms")}


def hypervisor_samples(obs: Observation, hypervisors: list[dict], providers: dict[str, dict],
                       stamp: int, facts: bool) -> None:
    """One ``hypervisor`` sample per host (and its fact when ``facts``).

    A provider is a hypervisor's when its UUID is the compute node's ID or its name the
    hypervisor's host name; placement's figures win over nova's pre-2.88 ones."""
    by_name = {p["name"]: p for p in providers.values()}
    for raw in hypervisors:
        hyp = hypervisor(raw)
        provider = providers.get(hyp["id"]) or by_name.get(hyp["name"]) or {}
        fields = hypervisor_fields(hyp, provider.get("inventories", {}),
                                   provider.get("usages", {}))
        obs.add("hypervisor", {"hypervisor": hyp["name"]}, fields, stamp)
        if facts:
            obs.facts.append(hypervisor_fact(hyp, fields))


def hypervisor_fields(hyp: dict, inv: dict, used: dict) -> dict[str, Any]:
    """A host's figures from placement inventories and usages, else nova's own fields."""
    fields: dict[str, Any] = {"up": hyp["state"] == "up", "enabled": hyp["status"] == "enabled",
                              "running_domains": hyp["running_vms"]}
    fields.update(_capacity(inv, used, "VCPU", 1, "cpus", "vcpus_allocated", "vcpus_capacity"))
    fields.update(_capacity(inv, used, "MEMORY_MB", MIB, "memory_bytes",
                            "memory_allocated_bytes", "memory_capacity_bytes"))
    fields.update(_capacity(inv, used, "DISK_GB", GIB, "disk_bytes", "disk_allocated_bytes",
                            "disk_capacity_bytes"))
    # Before 2.88 nova reports the same figures itself; placement wins when present.
    for key, value, scale in (("cpus", hyp["vcpus"], 1),
                              ("vcpus_allocated", hyp["vcpus_used"], 1),
                              ("memory_bytes", hyp["memory_mb"], MIB),
                              ("memory_allocated_bytes", hyp["memory_mb_used"], MIB),
                              ("disk_bytes", hyp["local_gb"], GIB),
                              ("disk_allocated_bytes", hyp["local_gb_used"], GIB)):
        if key not in fields and isinstance(value, (int, float)):
            fields[key] = value * scale
    gpus = sum(inv[c]["total"] or 0 for c in GPU_CLASSES if c in inv)
    if gpus:
        fields["gpus"] = gpus
    return fields


def _capacity(inv, used, resource_class, scale, total_key, used_key, capacity_key) -> dict:
    if resource_class not in inv:
        return {}
    item = inv[resource_class]
    total = item.get("total") or 0
    reserved = item.get("reserved") or 0
    ratio = item.get("allocation_ratio")
    ratio = ratio if ratio is not None else 1.0
    out = {total_key: total * scale, capacity_key: (total - reserved) * ratio * scale}
    if resource_class in used:
        out[used_key] = used[resource_class] * scale
    return out


def hypervisor_fact(hyp: dict, fields: dict) -> Fact:
    """The ``hypervisor`` fact: host name and address, CPU description, capacity."""
    info = hyp["cpu_info"]
    if isinstance(info, str):   # before 2.28 cpu_info is a JSON string
        try:
            info = json.loads(info)
        except ValueError:
            info = {}
    info = info if isinstance(info, dict) else {}
    topology = info.get("topology") or {}
    sockets, cores, threads = (topology.get(k) for k in ("sockets", "cores", "threads"))
    keys = {"hostname": hyp["name"], "mgmt_ip": hyp["host_ip"]}
    attributes = {
        "compute_node_id": hyp["id"], "service_host": hyp["service_host"],
        "hypervisor_type": hyp["type"], "hypervisor_version": hyp["version"],
        "state": hyp["state"], "status": hyp["status"], "cpu_model": info.get("model"),
        "cpu_vendor": info.get("vendor"), "architecture": info.get("arch"),
        # nova's topology is per socket: cores per socket, threads per core.
        "cpu_sockets": sockets,
        "cpu_cores": sockets * cores if sockets and cores else None,
        "cpu_threads": sockets * cores * threads if sockets and cores and threads else None,
        "cpus": fields.get("cpus"), "memory_bytes": fields.get("memory_bytes"),
        "disk_bytes": fields.get("disk_bytes"), "vcpus_capacity": fields.get("vcpus_capacity"),
        "memory_capacity_bytes": fields.get("memory_capacity_bytes"), "gpus": fields.get("gpus")}
    return Fact("hypervisor", {k: v for k, v in keys.items() if v},
                {k: v for k, v in attributes.items() if v not in (None, "")})


def pool_samples(obs: Observation, pools: list[dict], stamp: int, facts: bool) -> None:
    """One ``storage_pool`` sample per cinder pool (and its fact when ``facts``)."""
    for pool in pools:
        caps = pool.get("capabilities") or {}
        total, free = number(caps.get("total_capacity_gb")), number(caps.get("free_capacity_gb"))
        backend = caps.get("volume_backend_name") or pool["name"]
        fields = {}
        if total is not None:
            fields["total_bytes"] = total * GIB
        if free is not None:
            fields["free_bytes"] = free * GIB
        if total and free is not None:
            fields["used_percent"] = (total - free) / total * 100
        obs.add("storage_pool", {"pool": pool["name"], "backend": backend}, fields, stamp)
        if facts:
            obs.facts.append(Fact("storage_pool", {"resource_id": f"cinder:{pool['name']}"}, {
                "name": pool["name"], "backend": backend,
                "protocol": caps.get("storage_protocol"),
                "total_bytes": fields.get("total_bytes"), "free_bytes": fields.get("free_bytes"),
                "driver_version": caps.get("driver_version")}))


def inventory(obs: Observation, servers: list[dict], volumes: list[dict], flavors: dict,
              projects: dict[str, str], departments: dict[str, str], stamp: int) -> None:
    """Facts of servers and volumes, ``vm`` samples, and ``cloud_project`` totals."""
    totals: dict[str, dict[str, float]] = {}

    def project_totals(project_id):
        return totals.setdefault(project_id or "", {
            "instances": 0, "running_instances": 0, "vcpus": 0, "memory_bytes": 0,
            "volumes": 0, "volume_bytes": 0})

    for server in servers:
        fact = server_fact(server, flavors, projects, departments)
        obs.facts.append(fact)
        attrs = fact.attributes
        running = attrs["power_state"] == "running"
        uuid = fact.keys.get("instance_uuid") or str(server["id"])
        obs.add("vm", {"instance": attrs["name"] or uuid, "uuid": uuid,
                       "project": attrs["project"] or attrs["project_id"] or ""},
                {"running": running, "vcpus": attrs["vcpus"],
                 "memory_bytes": attrs["memory_bytes"], "disk_bytes": attrs["disk_bytes"]},
                stamp)
        row = project_totals(attrs["project_id"])
        row["instances"] += 1
        row["running_instances"] += running
        row["vcpus"] += attrs["vcpus"] or 0
        row["memory_bytes"] += attrs["memory_bytes"] or 0
    for volume in volumes:
        fact = volume_fact(volume, projects, departments)
        obs.facts.append(fact)
        row = project_totals(fact.attributes["project_id"])
        row["volumes"] += 1
        row["volume_bytes"] += fact.attributes["size_bytes"] or 0
    for project_id, row in sorted(totals.items()):
        name = projects.get(project_id) or project_id
        obs.add("cloud_project", {"project": name, "project_id": project_id, "department":
                                  department(project_id, projects, departments) or ""},
                row, stamp)


def department(project_id, projects: dict[str, str], departments: dict[str, str]) -> str | None:
    """The department the ``departments`` option maps the project's ID or name to."""
    return departments.get(project_id) or departments.get(projects.get(project_id) or "")


def server_fact(server: dict, flavors: dict, projects: dict, departments: dict) -> Fact:
    """The ``instance`` fact of one nova server: UUID, host name, MACs; size and place."""
    flavor = server.get("flavor") or {}
    flavor_id = flavor.get("id")
    if "vcpus" not in flavor and flavor_id in flavors:
        # Before 2.47 a server names its flavor by ID only.
        known = flavors[flavor_id]
        flavor = {"original_name": known["name"], "vcpus": known["vcpus"], "ram": known["ram"],
                  "disk": known["disk"], "extra_specs": known.get("extra_specs") or {}}
    vcpus, ram, disk = flavor.get("vcpus"), flavor.get("ram"), flavor.get("disk")
    macs, addresses = [], []
    for network, entries in (server.get("addresses") or {}).items():
        for entry in entries or []:
            if entry.get("OS-EXT-IPS-MAC:mac_addr"):
                macs.append(entry["OS-EXT-IPS-MAC:mac_addr"].lower())
            if entry.get("addr"):
                addresses.append({"network": network, "address": entry["addr"],
                                  "type": entry.get("OS-EXT-IPS:type")})
    project_id = server.get("tenant_id")
    name = server.get("name")
    keys, _placeholders = clean_keys({
        "instance_uuid": server["id"], "mac": macs,
        "hostname": server.get("OS-EXT-SRV-ATTR:hostname") or name})
    power = server.get("OS-EXT-STS:power_state")
    attributes = {
        "name": name, "project_id": project_id, "project": projects.get(project_id),
        "department": department(project_id, projects, departments),
        "flavor": flavor.get("original_name") or flavor_id,
        "vcpus": vcpus, "memory_bytes": ram * MIB if ram is not None else None,
        "disk_bytes": disk * GIB if disk is not None else None,
        "gpus": flavor_gpus(flavor.get("extra_specs") or {}),
        "host": server.get("OS-EXT-SRV-ATTR:hypervisor_hostname")
        or server.get("OS-EXT-SRV-ATTR:host"),
        "status": server.get("status"), "power_state": POWER_STATES.get(power, power),
        "availability_zone": server.get("OS-EXT-AZ:availability_zone"),
        "addresses": addresses, "created": server.get("created"),
        "volumes": [v.get("id") for v in server.get("os-extended-volumes:volumes_attached")
                    or [] if isinstance(v, dict)]}
    return Fact("instance", keys, {k: v for k, v in attributes.items()
                                   if v not in (None, "", [])} | {
        k: attributes[k] for k in ("vcpus", "memory_bytes", "disk_bytes", "project_id",
                                   "project", "power_state", "name")})


def volume_fact(volume: dict, projects: dict, departments: dict) -> Fact:
    """The ``volume`` fact of one cinder volume (key ``resource_id`` = ``cinder:<id>``)."""
    project_id = volume.get("os-vol-tenant-attr:tenant_id")
    size = volume.get("size") or 0
    bootable = volume.get("bootable")
    attributes = {
        "name": volume.get("name"), "size_bytes": size * GIB, "status": volume.get("status"),
        "project_id": project_id, "project": projects.get(project_id),
        "department": department(project_id, projects, departments),
        "volume_type": volume.get("volume_type"),
        "bootable": str(bootable).lower() if bootable is not None else None,
        "availability_zone": volume.get("availability_zone"),
        "pool": volume.get("os-vol-host-attr:host"),
        "attached_to": [a.get("server_id") for a in volume.get("attachments") or []
                        if isinstance(a, dict) and a.get("server_id")]}
    return Fact("volume", {"resource_id": f"cinder:{volume['id']}"},
                {k: v for k, v in attributes.items() if v not in (None, "", [])}
                | {"size_bytes": attributes["size_bytes"], "project_id": project_id})


def flavor_gpus(extra_specs: dict) -> int | None:
    """GPUs a flavor asks for: placement resources or PCI passthrough aliases naming a GPU."""
    total = 0
    for key, value in extra_specs.items():
        if key in (f"resources:{c}" for c in GPU_CLASSES):
            total += int(number(value) or 0)
        elif key == "pci_passthrough:alias":   # "alias:count[,alias:count]"
            for part in str(value).split(","):
                name, _, count = part.partition(":")
                if "gpu" in name.lower():
                    total += int(number(count) or 1)
    return total or None


def number(value) -> float | None:
    """A number from JSON, or None (cinder reports "infinite" and "unknown" too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
