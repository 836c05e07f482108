"""vSphere objects to samples and facts: pure functions over plain property data.

Input is what :meth:`collectors.vsphere.client.VsphereClient.retrieve` returns:
``{type: {moid: {property path: value}}}`` with data objects as dicts, references as
``{"type": ..., "moid": ...}`` and enumerations as text. Nothing here talks to vCenter, so
the mapping is tested on the recorded simulator inventory in ``../shared/fixtures/cloud``.
"""

from __future__ import annotations

from collectors.base import Fact, Observation
from collectors.identity import clean_keys, drop_shared

MIB = 1024 ** 2
#: The objects whose names the mapping needs on inventory polls (clusters, folders, pools).
NAMED = ("Folder", "ResourcePool", "HostSystem", "ClusterComputeResource")


def names_of(objects: dict) -> dict[str, str]:
    """Names by moid of the folders, pools, hosts and clusters read."""
    return {moid: props.get("name", moid) for kind in NAMED
            for moid, props in objects.get(kind, {}).items()}


def emit(obs: Observation, objects: dict, perf: dict, names: dict[str, str],
         departments: dict[str, str], stamp: int, inventory: bool) -> None:
    """Samples of VMs, hosts, clusters and datastores; their facts when ``inventory``."""
    hosts = objects.get("HostSystem", {})
    per_host = vm_samples(obs, objects.get("VirtualMachine", {}), hosts, names, departments,
                          stamp, inventory)
    for moid, props in hosts.items():
        cluster = cluster_of(props, names)
        obs.add("hypervisor", {"hypervisor": props.get("name", moid), "cluster": cluster or ""},
                host_fields(props, perf.get(moid, {}), per_host.get(moid, {})), stamp)
        if inventory:
            obs.facts.append(host_fact(props, cluster))
    if inventory:
        # Whitebox and nested hosts answer one virtual serial, cloned VMs one BIOS UUID.
        obs.facts = drop_shared(obs.facts, ["hypervisor", "instance"])
    cluster_samples(obs, objects.get("ClusterComputeResource", {}), stamp)
    datastore_samples(obs, objects.get("Datastore", {}), stamp, inventory)


def vm_samples(obs, vms: dict, hosts: dict, names: dict, departments: dict, stamp: int,
               inventory: bool) -> dict[str, dict[str, float]]:
    """One ``vm`` sample per VM (templates left out); returns what runs on each host."""
    per_host: dict[str, dict[str, float]] = {}
    for moid, props in vms.items():
        if props.get("config.template"):
            continue
        running = props.get("runtime.powerState") == "poweredOn"
        host_moid = (props.get("runtime.host") or {}).get("moid")
        vcpus = props.get("summary.config.numCpu")
        memory = (props.get("summary.config.memorySizeMB") or 0) * MIB
        if running and host_moid:
            row = per_host.setdefault(host_moid, {"vcpus_allocated": 0,
                                                  "memory_allocated_bytes": 0,
                                                  "running_domains": 0})
            row["vcpus_allocated"] += vcpus or 0
            row["memory_allocated_bytes"] += memory
            row["running_domains"] += 1
        uuid = (props.get("config.instanceUuid") or moid).lower()
        host_props = hosts.get(host_moid, {}) if host_moid else {}
        host_name = host_props.get("name", "")
        used_mhz = props.get("summary.quickStats.overallCpuUsage")
        obs.add("vm", {"instance": props.get("name", moid), "uuid": uuid, "host": host_name},
                {"running": running, "vcpus": vcpus, "memory_bytes": memory or None,
                 "disk_bytes": props.get("summary.storage.committed"),
                 "cpu_used_mhz": used_mhz,
                 "cpu_usage_percent": vm_cpu_percent(used_mhz, vcpus, host_props),
                 "memory_used_bytes": mb(props.get("summary.quickStats.guestMemoryUsage")),
                 "host_memory_bytes": mb(props.get("summary.quickStats.hostMemoryUsage"))},
                stamp)
        if inventory:
            obs.facts.append(vm_fact(moid, props, uuid, host_name, names, departments))
    return per_host


def host_fields(props: dict, counters: dict[str, float], running: dict[str, float]) -> dict:
    """A host's figures: quickStats, performance counters where read, what runs on it."""
    cores = props.get("summary.hardware.numCpuCores")
    mhz = props.get("summary.hardware.cpuMhz")
    memory = props.get("summary.hardware.memorySize")
    used_mhz = props.get("summary.quickStats.overallCpuUsage")
    used_mem = mb(props.get("summary.quickStats.overallMemoryUsage"))
    total_mhz = cores * mhz if cores and mhz else None
    return {
        "cpus": props.get("summary.hardware.numCpuThreads"), "cpu_mhz_total": total_mhz,
        "cpu_used_mhz": used_mhz,
        "cpu_usage_percent": counters.get("cpu.usage.average",
                                          used_mhz / total_mhz * 100
                                          if used_mhz is not None and total_mhz else None),
        "memory_bytes": memory, "memory_used_bytes": used_mem,
        "memory_usage_percent": counters.get("mem.usage.average",
                                             used_mem / memory * 100
                                             if used_mem is not None and memory else None),
        "up": props.get("runtime.connectionState") == "connected"
        and props.get("runtime.powerState") == "poweredOn",
        "maintenance": bool(props.get("runtime.inMaintenanceMode")),
        "uptime_seconds": props.get("summary.quickStats.uptime"),
        "vcpus_allocated": 0, "memory_allocated_bytes": 0, "running_domains": 0, **running}


def cluster_samples(obs: Observation, clusters: dict, stamp: int) -> None:
    """One ``cluster`` sample per cluster summary."""
    for moid, props in clusters.items():
        summary = props.get("summary")
        if summary is None:
            continue
        obs.add("cluster", {"cluster": props.get("name", moid)}, {
            "hosts": summary.get("numHosts"), "effective_hosts": summary.get("numEffectiveHosts"),
            "cpu_cores": summary.get("numCpuCores"), "cpus": summary.get("numCpuThreads"),
            "cpu_mhz_total": summary.get("totalCpu"),
            "cpu_effective_mhz": summary.get("effectiveCpu"),
            "memory_bytes": summary.get("totalMemory"),
            "memory_effective_bytes": mb(summary.get("effectiveMemory"))}, stamp)


def datastore_samples(obs: Observation, datastores: dict, stamp: int, inventory: bool) -> None:
    """One ``datastore`` sample per datastore summary (and its fact when ``inventory``)."""
    for moid, props in datastores.items():
        summary = props.get("summary")
        if summary is None:
            continue
        capacity, free = summary.get("capacity"), summary.get("freeSpace")
        fields = {"capacity_bytes": capacity, "free_bytes": free,
                  "accessible": bool(summary.get("accessible"))}
        if capacity:
            fields["used_percent"] = (capacity - free) / capacity * 100
            fields["provisioned_bytes"] = capacity - free + (summary.get("uncommitted") or 0)
        obs.add("datastore", {"datastore": summary.get("name"), "type": summary.get("type") or ""},
                fields, stamp)
        if inventory:
            obs.facts.append(Fact("datastore", {"resource_id": summary.get("url") or
                                                f"vsphere:{moid}"}, {
                "name": summary.get("name"), "type": summary.get("type"),
                "capacity_bytes": capacity, "free_bytes": free,
                "accessible": bool(summary.get("accessible")),
                "multiple_host_access": summary.get("multipleHostAccess")}))


def cluster_of(props: dict, names: dict[str, str]) -> str | None:
    """The name of the cluster a host belongs to (None for a standalone host)."""
    parent = props.get("parent") or {}
    if parent.get("type") != "ClusterComputeResource":
        return None
    return names.get(parent.get("moid"))


def vm_fact(moid: str, props: dict, uuid: str, host_name: str, names: dict,
            departments: dict) -> Fact:
    """The ``instance`` fact of a VM: instance and BIOS UUIDs, guest host name, MACs."""
    folder = names.get((props.get("parent") or {}).get("moid", ""))
    pool = names.get((props.get("resourcePool") or {}).get("moid", ""))
    department = departments.get(folder or "") or departments.get(pool or "")
    macs, addresses = [], []
    for nic in props.get("guest.net") or []:
        if nic.get("macAddress"):
            macs.append(nic["macAddress"].lower())
        addresses.extend(nic.get("ipAddress") or [])
    keys, placeholders = clean_keys({
        "instance_uuid": uuid, "machine_uuid": props.get("config.uuid"),
        "hostname": props.get("guest.hostName") or props.get("name"), "mac": macs})
    memory = (props.get("summary.config.memorySizeMB") or 0) * MIB
    attributes = {
        "name": props.get("name"), "moid": moid, "vcpus": props.get("summary.config.numCpu"),
        "memory_bytes": memory, "disk_bytes": props.get("summary.storage.committed"),
        "guest_os": props.get("summary.config.guestFullName"),
        "power_state": str(props.get("runtime.powerState")), "host": host_name or None,
        "folder": folder, "resource_pool": pool, "department": department,
        "ip_address": props.get("guest.ipAddress"), "addresses": addresses, **placeholders}
    return Fact("instance", keys, {k: v for k, v in attributes.items() if v not in (None, "", [])})


def host_fact(props: dict, cluster: str | None) -> Fact:
    """The ``hypervisor`` fact of a host: serial, BIOS UUID, NIC MACs; hardware."""
    hardware = props.get("summary.hardware") or {}
    serial = None
    for info in hardware.get("otherIdentifyingInfo") or []:
        key = (info.get("identifierType") or {}).get("key", "")
        value = info.get("identifierValue")
        if key in ("SerialNumberTag", "ServiceTag", "EnclosureSerialNumberTag") and \
                value and value.strip():
            serial = value.strip()
            if key == "SerialNumberTag":
                break
    macs = sorted({p["mac"].lower() for p in props.get("config.network.pnic") or []
                   if p.get("mac")})
    keys, placeholders = clean_keys({"hostname": props.get("name"), "serial_number": serial,
                                     "machine_uuid": hardware.get("uuid"), "mac": macs})
    attributes = {
        "vendor": hardware.get("vendor"), "model": hardware.get("model"),
        "cpu_model": hardware.get("cpuModel"), "cpu_sockets": hardware.get("numCpuPkgs"),
        "cpu_cores": hardware.get("numCpuCores"), "cpu_threads": hardware.get("numCpuThreads"),
        "cpu_mhz": hardware.get("cpuMhz"), "memory_bytes": hardware.get("memorySize"),
        "nics": hardware.get("numNics"), "cluster": cluster,
        "product": props.get("summary.config.product.fullName"),
        "connection_state": str(props.get("runtime.connectionState")),
        "maintenance": bool(props.get("runtime.inMaintenanceMode")), **placeholders}
    return Fact("hypervisor", keys, {k: v for k, v in attributes.items() if v not in (None, "")})


def vm_cpu_percent(used_mhz, vcpus, host_props) -> float | None:
    """A VM's CPU use as a share of its vCPUs at its host's clock (quickStats give MHz)."""
    mhz = host_props.get("summary.hardware.cpuMhz")
    if used_mhz is None or not vcpus or not mhz:
        return None
    return min(used_mhz / (vcpus * mhz) * 100, 100.0)


def mb(value):
    """Megabytes as bytes; None for anything not a number."""
    return value * MIB if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None
