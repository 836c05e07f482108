"""vSphere collector: a vCenter (or ESXi host) through pyvmomi.

Everything is read with the PropertyCollector: one container view over the inventory and one
``RetrievePropertiesEx`` per object type (paged with ``ContinueRetrievePropertiesEx``), never
one call per property. Every poll reads usage (power states, quickStats, datastore space,
cluster totals) and the hosts' performance counters; every ``inventory_interval`` the same
calls also ask for configuration and hardware, and only those polls carry facts.

Measurements (tags; fields with units):

- ``hypervisor`` (``hypervisor``, ``cluster``): ``cpus`` (threads), ``cpu_mhz_total``,
  ``cpu_used_mhz``, ``cpu_usage_percent`` (``cpu.usage.average``, else quickStats),
  ``memory_bytes``, ``memory_used_bytes``, ``memory_usage_percent``, ``vcpus_allocated``,
  ``memory_allocated_bytes`` and ``running_domains`` (powered-on VMs on the host), ``up``,
  ``maintenance``, ``uptime_seconds``.
- ``vm`` (``instance``, ``uuid``, ``host``): ``running``, ``vcpus``, ``memory_bytes``,
  ``disk_bytes`` (committed), ``cpu_used_mhz``, ``cpu_usage_percent`` (of its vCPUs at the
  host's clock), ``memory_used_bytes`` (guest active), ``host_memory_bytes`` (consumed on
  the host).
- ``cluster`` (``cluster``): ``hosts``, ``effective_hosts``, ``cpu_cores``, ``cpus``,
  ``cpu_mhz_total``, ``cpu_effective_mhz``, ``memory_bytes``, ``memory_effective_bytes``.
- ``datastore`` (``datastore``, ``type``): ``capacity_bytes``, ``free_bytes``,
  ``provisioned_bytes``, ``used_percent``, ``accessible``.

Facts: ``hypervisor`` per host (keys ``hostname``, ``machine_uuid``, ``serial_number``,
``mac``), ``instance`` per VM (keys ``instance_uuid`` = vCenter's instance UUID,
``machine_uuid`` = the BIOS UUID a guest agent sees, ``hostname``, ``mac``), ``datastore``
(key ``resource_id``). VMs carry ``folder``, ``resource_pool`` and, where the
``departments`` option maps either name, ``department``.
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.parse

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Fact, Observation, Option,
                             at_least, url_option)
from collectors.identity import clean_keys, drop_shared
from collectors.registry import register_collector
from collectors.secrets import resolve_option

MIB = 1024 ** 2
#: Properties read on every poll, per type.
USAGE = {
    "HostSystem": ["name", "parent", "runtime.connectionState", "runtime.powerState",
                   "runtime.inMaintenanceMode", "summary.quickStats.overallCpuUsage",
                   "summary.quickStats.overallMemoryUsage", "summary.quickStats.uptime",
                   "summary.hardware.numCpuThreads", "summary.hardware.numCpuCores",
                   "summary.hardware.cpuMhz", "summary.hardware.memorySize"],
    "VirtualMachine": ["name", "config.instanceUuid", "config.template", "runtime.powerState",
                       "runtime.host", "summary.config.numCpu",
                       "summary.config.memorySizeMB", "summary.storage.committed",
                       "summary.quickStats.overallCpuUsage",
                       "summary.quickStats.guestMemoryUsage",
                       "summary.quickStats.hostMemoryUsage"],
    "ClusterComputeResource": ["name", "summary"],
    "Datastore": ["name", "summary"],
}
#: Properties added on inventory polls.
INVENTORY = {
    "HostSystem": ["summary.hardware", "summary.config.product.fullName",
                   "config.network.pnic"],
    "VirtualMachine": ["config.uuid", "summary.config.guestFullName", "guest.hostName",
                       "guest.ipAddress", "guest.net", "parent", "resourcePool"],
    "Folder": ["name"],
    "ResourcePool": ["name"],
}
#: Performance counters read for hosts, by their full name.
HOST_COUNTERS = ("cpu.usage.average", "mem.usage.average")
_PERF_BATCH = 200   # vCenter's config.vpxd.stats.maxQueryMetrics defaults to 256


@register_collector
class VsphereCollector(Collector):
    """Polls one vCenter or ESXi host."""

    kind = "vsphere"
    description = "VMware vSphere: clusters, ESXi hosts, VMs, datastores, quickStats, perf"
    options = (
        url_option("url", required=True, help="vCenter URL, e.g. https://vc.gov.example/sdk"),
        Option("username", str, required=True, help="a read-only vCenter user"),
        Option("password", str, "env:VSPHERE_PASSWORD", secret=True,
               help="env:NAME, file:PATH or a literal"),
        Option("verify_tls", bool, True, help="check vCenter's certificate"),
        Option("request_timeout", float, 60.0, help="seconds per SOAP call"),
        Option("page_size", int, 1000, help="objects per RetrievePropertiesEx page",
               check=at_least(1)),
        Option("performance", bool, True,
               help="read hosts' cpu/mem performance counters (realtime, 20 s samples)"),
        Option("departments", dict, {},
               help="VM folder or resource pool name -> department"),
    )
    #: Seconds between reads of configuration and hardware (facts).
    inventory_interval = 1800.0

    @classmethod
    def validate(cls, options) -> None:
        """A password that resolves."""
        resolve_option(options, "password")

    def setup(self) -> None:
        """The password; the session is opened on the first poll."""
        self._password = self.secret("password")
        self._si = None
        self._content = None
        self._view = None
        self._counters: dict[str, int] = {}
        self._names: dict[str, str] = {}

    # -- connection -------------------------------------------------------------------
    def _connect(self):
        from pyVim.connect import SmartStubAdapter
        from pyVmomi import vim

        if self._si is not None:
            return self._si
        url = urllib.parse.urlsplit(self.config["url"])
        context = None
        if url.scheme == "https":
            context = ssl.create_default_context()
            if not self.config["verify_tls"]:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        port = url.port or (443 if url.scheme == "https" else 80)
        # pyvmomi's convention: a negative port means plain HTTP. The stub is built here,
        # not by SmartConnect, so a failed login can still close its sockets.
        timeouts = {"httpConnectionTimeout": self.config["request_timeout"],
                    "connectionPoolTimeout": -1}
        if url.scheme == "https":
            stub = SmartStubAdapter(host=url.hostname, port=port, path=url.path or "/sdk",
                                    sslContext=context, **timeouts)
        else:
            # SmartStubAdapter always negotiates over https; SmartConnect's own http path
            # is this module function (not name-mangled, just undocumented).
            from pyVim import connect
            from pyVmomi import SoapStubAdapter
            from pyVmomi.VmomiSupport import GetServiceVersions
            version = getattr(connect, "__FindSupportedVersion")(
                "http", url.hostname, port, url.path or "/sdk", GetServiceVersions("vim25"),
                None, None, 80, None)
            if version is None:
                raise ConnectionError(f"{url.hostname}:{port} is down or is not a VIM server")
            stub = SoapStubAdapter(host=url.hostname, port=-port, path=url.path or "/sdk",
                                   version=version, **timeouts)
        try:
            si = vim.ServiceInstance("ServiceInstance", stub)
            # The service content is read once: every ``si.content`` would be a SOAP call.
            content = si.RetrieveContent()
            content.sessionManager.Login(self.config["username"], self._password, None)
            self._view = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.HostSystem, vim.VirtualMachine,
                                     vim.ClusterComputeResource, vim.Datastore, vim.Folder,
                                     vim.ResourcePool], True)
        except BaseException:
            stub.DropConnections()
            raise
        self._si, self._content = si, content
        return si

    def close(self) -> None:
        """Destroy the view and log out."""
        if self._si is not None:
            try:
                if self._view is not None:
                    self._view.DestroyView()
                self._content.sessionManager.Logout()
            except Exception:  # noqa: BLE001 - the session may already be gone
                pass
            try:
                self._si._stub.DropConnections()   # the SOAP stub pools its sockets
            except Exception:  # noqa: BLE001 - nothing left to close
                pass
        self._si = self._view = self._content = None

    # -- polling ----------------------------------------------------------------------
    def collect(self) -> Observation:
        """Read usage, and configuration when the inventory is due."""
        stamp = time.time_ns()
        try:
            si = self._connect()
        except Exception as exc:  # vim faults, socket and TLS errors, bad SOAP
            self.close()
            return Observation(status=STATUS_ERROR, error=f"{self.config['url']}: "
                                                          f"{describe(exc)}")
        inventory = self.inventory.due()
        obs = Observation()
        problems: list[str] = []
        try:
            objects = self._retrieve(si, inventory)
        except Exception as exc:  # noqa: BLE001 - reported as the target's status
            if _session_lost(exc):
                self.close()   # logged out or expired: log in again next poll
            return Observation(status=STATUS_ERROR, error=f"RetrievePropertiesEx: "
                                                          f"{describe(exc)}")
        if inventory:
            self._names = {moid: props.get("name", moid)
                           for kind in ("Folder", "ResourcePool", "HostSystem",
                                        "ClusterComputeResource")
                           for moid, props in objects.get(kind, {}).items()}
        perf = {}
        if self.config["performance"] and objects.get("HostSystem"):
            try:
                perf = self._host_performance(si, objects["HostSystem"])
            except Exception as exc:  # noqa: BLE001 - quickStats still give usage
                problems.append(f"QueryPerf: {describe(exc)}")
        self._emit(obs, objects, perf, stamp, inventory)
        if inventory:
            self.inventory.done()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems)
        return obs

    def _retrieve(self, si, inventory: bool) -> dict[str, dict[str, dict]]:
        """``{type: {moid: {property: value}}}`` through one RetrievePropertiesEx per page."""
        from pyVmomi import vim, vmodl

        kinds = dict(USAGE)
        if inventory:
            for kind, extra in INVENTORY.items():
                kinds[kind] = kinds.get(kind, []) + extra
        pc = vmodl.query.PropertyCollector
        traversal = pc.TraversalSpec(name="view", path="view", skip=False,
                                     type=vim.view.ContainerView)
        spec = pc.FilterSpec(
            objectSet=[pc.ObjectSpec(obj=self._view, skip=True, selectSet=[traversal])],
            propSet=[pc.PropertySpec(type=getattr(vim, kind), pathSet=paths, all=False)
                     for kind, paths in kinds.items()])
        collector = self._content.propertyCollector
        options = pc.RetrieveOptions(maxObjects=self.config["page_size"])
        found: dict[str, dict[str, dict]] = {kind: {} for kind in kinds}
        result = collector.RetrievePropertiesEx([spec], options)
        while result is not None:
            for item in result.objects:
                kind = type(item.obj).__name__.rsplit(".", 1)[-1]
                props = {p.name: p.val for p in item.propSet or []}
                found.setdefault(kind, {})[item.obj._moId] = props
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
        return found

    def _host_performance(self, si, hosts: dict) -> dict[str, dict[str, float]]:
        """Latest realtime ``cpu.usage.average`` and ``mem.usage.average`` per host (%)."""
        from pyVmomi import vim

        perf_manager = self._content.perfManager
        if not self._counters:   # one Fetch of the counter catalogue per session
            self._counters = {f"{c.groupInfo.key}.{c.nameInfo.key}.{c.rollupType}": c.key
                              for c in perf_manager.perfCounter}
        wanted = {self._counters[name]: name for name in HOST_COUNTERS if name in self._counters}
        if not wanted:
            return {}
        found: dict[str, dict[str, float]] = {}
        moids = [moid for moid, props in hosts.items()
                 if props.get("runtime.connectionState") == "connected"]
        for start in range(0, len(moids), _PERF_BATCH):
            specs = [vim.PerformanceManager.QuerySpec(
                entity=vim.HostSystem(moid, si._stub), intervalId=20, maxSample=1,
                metricId=[vim.PerformanceManager.MetricId(counterId=key, instance="")
                          for key in wanted])
                for moid in moids[start:start + _PERF_BATCH]]
            for entity in perf_manager.QueryPerf(querySpec=specs) or []:
                for series in entity.value or []:
                    name = wanted.get(series.id.counterId)
                    if name and series.value and series.value[-1] >= 0:
                        # Percent counters are in hundredths of a percent.
                        found.setdefault(entity.entity._moId, {})[name] = \
                            series.value[-1] / 100.0
        return found

    # -- output -----------------------------------------------------------------------
    def _emit(self, obs, objects, perf, stamp, inventory) -> None:
        hosts = objects.get("HostSystem", {})
        per_host: dict[str, dict[str, float]] = {}
        for moid, props in objects.get("VirtualMachine", {}).items():
            if props.get("config.template"):
                continue
            running = str(props.get("runtime.powerState")) == "poweredOn"
            host_ref = props.get("runtime.host")
            host_moid = host_ref._moId if host_ref is not None else None
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
            obs.add("vm", {"instance": props.get("name", moid), "uuid": uuid,
                           "host": host_name},
                    {"running": running, "vcpus": vcpus, "memory_bytes": memory or None,
                     "disk_bytes": props.get("summary.storage.committed"),
                     "cpu_used_mhz": used_mhz,
                     "cpu_usage_percent": _vm_cpu_percent(used_mhz, vcpus, host_props),
                     "memory_used_bytes": _mb(props.get("summary.quickStats.guestMemoryUsage")),
                     "host_memory_bytes": _mb(props.get("summary.quickStats.hostMemoryUsage"))},
                    stamp)
            if inventory:
                obs.facts.append(self._vm_fact(moid, props, uuid, host_name, vcpus, memory))
        for moid, props in hosts.items():
            cluster = self._cluster_of(props)
            threads = props.get("summary.hardware.numCpuThreads")
            cores = props.get("summary.hardware.numCpuCores")
            mhz = props.get("summary.hardware.cpuMhz")
            memory = props.get("summary.hardware.memorySize")
            used_mhz = props.get("summary.quickStats.overallCpuUsage")
            used_mem = _mb(props.get("summary.quickStats.overallMemoryUsage"))
            total_mhz = cores * mhz if cores and mhz else None
            counters = perf.get(moid, {})
            fields = {
                "cpus": threads, "cpu_mhz_total": total_mhz, "cpu_used_mhz": used_mhz,
                "cpu_usage_percent": counters.get("cpu.usage.average",
                                                  used_mhz / total_mhz * 100
                                                  if used_mhz is not None and total_mhz
                                                  else None),
                "memory_bytes": memory, "memory_used_bytes": used_mem,
                "memory_usage_percent": counters.get("mem.usage.average",
                                                     used_mem / memory * 100
                                                     if used_mem is not None and memory
                                                     else None),
                "up": props.get("runtime.connectionState") == "connected"
                and str(props.get("runtime.powerState")) == "poweredOn",
                "maintenance": bool(props.get("runtime.inMaintenanceMode")),
                "uptime_seconds": props.get("summary.quickStats.uptime"),
                "vcpus_allocated": 0, "memory_allocated_bytes": 0, "running_domains": 0,
                **per_host.get(moid, {})}
            obs.add("hypervisor", {"hypervisor": props.get("name", moid),
                                   "cluster": cluster or ""}, fields, stamp)
            if inventory:
                obs.facts.append(_host_fact(props, cluster))
        if inventory:
            # Whitebox and nested hosts answer one virtual serial, cloned VMs one BIOS UUID.
            obs.facts = drop_shared(obs.facts, ["hypervisor", "instance"])
        for moid, props in objects.get("ClusterComputeResource", {}).items():
            summary = props.get("summary")
            if summary is None:
                continue
            obs.add("cluster", {"cluster": props.get("name", moid)}, {
                "hosts": summary.numHosts, "effective_hosts": summary.numEffectiveHosts,
                "cpu_cores": summary.numCpuCores, "cpus": summary.numCpuThreads,
                "cpu_mhz_total": summary.totalCpu, "cpu_effective_mhz": summary.effectiveCpu,
                "memory_bytes": summary.totalMemory,
                "memory_effective_bytes": _mb(summary.effectiveMemory)}, stamp)
        for moid, props in objects.get("Datastore", {}).items():
            summary = props.get("summary")
            if summary is None:
                continue
            capacity, free = summary.capacity, summary.freeSpace
            fields = {"capacity_bytes": capacity, "free_bytes": free,
                      "accessible": bool(summary.accessible)}
            if capacity:
                fields["used_percent"] = (capacity - free) / capacity * 100
                fields["provisioned_bytes"] = capacity - free + (summary.uncommitted or 0)
            obs.add("datastore", {"datastore": summary.name, "type": summary.type or ""},
                    fields, stamp)
            if inventory:
                obs.facts.append(Fact("datastore", {"resource_id": summary.url or
                                                    f"vsphere:{moid}"}, {
                    "name": summary.name, "type": summary.type, "capacity_bytes": capacity,
                    "free_bytes": free, "accessible": bool(summary.accessible),
                    "multiple_host_access": summary.multipleHostAccess}))

    def _cluster_of(self, props) -> str | None:
        parent = props.get("parent")
        if parent is None or not isinstance(parent, _cluster_type()):
            return None
        return self._names.get(parent._moId)

    def _vm_fact(self, moid, props, uuid, host_name, vcpus, memory) -> Fact:
        folder = self._names.get(getattr(props.get("parent"), "_moId", ""))
        pool = self._names.get(getattr(props.get("resourcePool"), "_moId", ""))
        mapping = self.config["departments"]
        department = mapping.get(folder or "") or mapping.get(pool or "")
        macs, addresses = [], []
        for nic in props.get("guest.net") or []:
            if getattr(nic, "macAddress", None):
                macs.append(nic.macAddress.lower())
            addresses.extend(getattr(nic, "ipAddress", None) or [])
        keys, placeholders = clean_keys({
            "instance_uuid": uuid, "machine_uuid": props.get("config.uuid"),
            "hostname": props.get("guest.hostName") or props.get("name"), "mac": macs})
        attributes = {
            "name": props.get("name"), "moid": moid, "vcpus": vcpus, "memory_bytes": memory,
            "disk_bytes": props.get("summary.storage.committed"),
            "guest_os": props.get("summary.config.guestFullName"),
            "power_state": str(props.get("runtime.powerState")), "host": host_name or None,
            "folder": folder, "resource_pool": pool, "department": department,
            "ip_address": props.get("guest.ipAddress"), "addresses": addresses, **placeholders}
        return Fact("instance", keys,
                    {k: v for k, v in attributes.items() if v not in (None, "", [])})


def _vm_cpu_percent(used_mhz, vcpus, host_props) -> float | None:
    """A VM's CPU use as a share of its vCPUs at its host's clock (quickStats give MHz)."""
    mhz = host_props.get("summary.hardware.cpuMhz")
    if used_mhz is None or not vcpus or not mhz:
        return None
    return min(used_mhz / (vcpus * mhz) * 100, 100.0)


def _host_fact(props, cluster) -> Fact:
    hardware = props.get("summary.hardware")
    serial = None
    for info in getattr(hardware, "otherIdentifyingInfo", None) or []:
        key = getattr(getattr(info, "identifierType", None), "key", "")
        if key in ("SerialNumberTag", "ServiceTag", "EnclosureSerialNumberTag") and \
                info.identifierValue and info.identifierValue.strip():
            serial = info.identifierValue.strip()
            if key == "SerialNumberTag":
                break
    macs = sorted({p.mac.lower() for p in props.get("config.network.pnic") or []
                   if getattr(p, "mac", None)})
    keys, placeholders = clean_keys({"hostname": props.get("name"), "serial_number": serial,
                                     "machine_uuid": getattr(hardware, "uuid", None),
                                     "mac": macs})
    attributes = {
        "vendor": getattr(hardware, "vendor", None), "model": getattr(hardware, "model", None),
        "cpu_model": getattr(hardware, "cpuModel", None),
        "cpu_sockets": getattr(hardware, "numCpuPkgs", None),
        "cpu_cores": getattr(hardware, "numCpuCores", None),
        "cpu_threads": getattr(hardware, "numCpuThreads", None),
        "cpu_mhz": getattr(hardware, "cpuMhz", None),
        "memory_bytes": getattr(hardware, "memorySize", None),
        "nics": getattr(hardware, "numNics", None), "cluster": cluster,
        "product": props.get("summary.config.product.fullName"),
        "connection_state": str(props.get("runtime.connectionState")),
        "maintenance": bool(props.get("runtime.inMaintenanceMode")), **placeholders}
    return Fact("hypervisor", keys,
                {k: v for k, v in attributes.items() if v not in (None, "")})


def _cluster_type():
    from pyVmomi import vim
    return vim.ClusterComputeResource


def _mb(value):
    return value * MIB if isinstance(value, (int, float)) else None


def _session_lost(exc: BaseException) -> bool:
    from pyVmomi import vim
    return isinstance(exc, (vim.fault.NotAuthenticated, ConnectionError, socket.timeout))


def describe(exc: BaseException) -> str:
    """One line for a vim fault, a transport error or an unreadable answer."""
    name = type(exc).__name__
    text = str(exc).strip()
    msg = getattr(exc, "msg", None) or (text.splitlines()[0] if text else name)
    if name == "InvalidLogin" or "InvalidLogin" in name:
        return "login failed (user or password)"
    if isinstance(exc, socket.timeout) or "timed out" in str(msg):
        return f"timed out ({name})"
    text = f"{msg} ({name})" if name not in str(msg) else str(msg)
    return text if len(text) <= 300 else text[:297] + "..."
