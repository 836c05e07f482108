"""The vSphere wire client: one pyvmomi session, the PropertyCollector, the perf counters.

What it returns is plain data: ``{type: {moid: {property path: value}}}`` where data objects
are dicts of their properties, managed object references ``{"type": ..., "moid": ...}`` and
enumerations their text, so :mod:`collectors.vsphere.mapping` never sees a pyvmomi object and
is tested on recorded samples.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import urllib.parse

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
PERF_BATCH = 200   # vCenter's config.vpxd.stats.maxQueryMetrics defaults to 256



class VsphereClient:
    """One session to one vCenter or ESXi host, opened on first use."""

    def __init__(self, config, password: str) -> None:
        self.config = config
        self._password = password
        self._si = None
        self._content = None
        self._view = None
        self._counters: dict[str, int] = {}

    def connect(self):
        """The service instance, logged in, with a container view over the inventory."""
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

    def retrieve(self, si, inventory: bool) -> dict[str, dict[str, dict]]:
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
                props = {p.name: plain(p.name, p.val) for p in item.propSet or []}
                found.setdefault(kind, {})[item.obj._moId] = props
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
        return found

    def host_performance(self, si, hosts: dict) -> dict[str, dict[str, float]]:
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
        for start in range(0, len(moids), PERF_BATCH):
            specs = [vim.PerformanceManager.QuerySpec(
                entity=vim.HostSystem(moid, si._stub), intervalId=20, maxSample=1,
                metricId=[vim.PerformanceManager.MetricId(counterId=key, instance="")
                          for key in wanted])
                for moid in moids[start:start + PERF_BATCH]]
            for entity in perf_manager.QueryPerf(querySpec=specs) or []:
                for series in entity.value or []:
                    name = wanted.get(series.id.counterId)
                    if name and series.value and series.value[-1] >= 0:
                        # Percent counters are in hundredths of a percent.
                        found.setdefault(entity.entity._moId, {})[name] = \
                            series.value[-1] / 100.0
        return found



def plain(name: str, value):
    """A property value as plain data (see the module doc); guest NICs keep MAC and IPs."""
    if name == "guest.net":
        return [{"macAddress": getattr(nic, "macAddress", None),
                 "ipAddress": list(getattr(nic, "ipAddress", None) or [])}
                for nic in value or []]
    if name == "config.network.pnic":
        return [{"device": getattr(p, "device", None), "mac": getattr(p, "mac", None)}
                for p in value or []]
    return _plain(value)


def _plain(value):
    from pyVmomi import VmomiSupport, vim

    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):     # enumerations are str subclasses
        return str(value)
    if isinstance(value, vim.ManagedObject):
        return {"type": type(value).__name__.rsplit(".", 1)[-1], "moid": value._moId}
    if isinstance(value, VmomiSupport.DataObject):
        return {p.name: _plain(getattr(value, p.name, None)) for p in value._GetPropertyList()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def session_lost(exc: BaseException) -> bool:
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
