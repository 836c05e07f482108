"""libvirt collector: a KVM (or any libvirt) host and its guests through libvirt-python.

Measurements (tags; fields with units):

- ``hypervisor``: ``cpus`` (logical), ``memory_bytes``, ``free_memory_bytes``, ``domains``,
  ``running_domains``, ``vcpus_allocated``, ``memory_allocated_bytes`` (running guests).
- ``vm`` (``domain``, ``uuid``): ``running`` (1/0), ``vcpus``, ``memory_bytes`` (maximum),
  ``memory_used_bytes`` (current), counter ``cpu_seconds`` and rate ``cpu_usage_percent``
  (of the guest's vCPUs).
- ``vm_disk`` (``domain``, ``disk``): counters ``read_bytes``, ``write_bytes``, ``reads``,
  ``writes``; ``*_per_second`` rates.
- ``vm_net`` (``domain``, ``interface``): counters ``rx_bytes``, ``tx_bytes``,
  ``rx_packets``, ``tx_packets``, ``rx_errors``, ``tx_errors``; ``*_per_second`` rates.

Facts: one ``hypervisor`` (keys ``hostname``, ``machine_uuid`` and ``serial_number`` from
SMBIOS sysinfo where libvirt has them; attributes CPU model, sockets, cores, threads, NUMA
nodes, MHz, memory, hypervisor and libvirt versions) and one ``instance`` per guest (keys
``instance_uuid``, ``mac``, ``hostname`` = the domain name; attributes ``vcpus``,
``memory_bytes``, ``state``, ``host``, ``disks``, ``os_type``, ``architecture``).
"""

from __future__ import annotations

import time
from xml.etree import ElementTree

from collectors.base import STATUS_ERROR, STATUS_PARTIAL, Collector, Fact, Observation, Option
from collectors.identity import clean_keys
from collectors.rates import RateTracker
from collectors.registry import register_collector

STATES = {0: "nostate", 1: "running", 2: "blocked", 3: "paused", 4: "shutdown",
          5: "shutoff", 6: "crashed", 7: "pmsuspended"}
DISK_FIELDS = ("reads", "read_bytes", "writes", "write_bytes")
NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_drop", "tx_bytes", "tx_packets",
              "tx_errors", "tx_drop")


def _quiet(_context, _error) -> None:
    """libvirt prints every error to stderr by default; they arrive as exceptions anyway."""


@register_collector
class LibvirtCollector(Collector):
    """Polls one libvirt connection."""

    kind = "libvirt"
    description = "A KVM host through libvirt: node, guests, vCPU, memory, disk and NIC I/O"
    options = (
        Option("uri", str, "qemu:///system",
               help="libvirt URI, e.g. qemu+ssh://root@10.0.2.11/system or test:///default"),
    )

    def setup(self) -> None:
        """No connection until the first poll; counters for rates."""
        self._connection = None
        self._rates = RateTracker()

    def _connect(self):
        libvirt = _libvirt()
        libvirt.registerErrorHandler(_quiet, None)
        if self._connection is None or not self._connection.isAlive():
            self._connection = libvirt.openReadOnly(self.config["uri"])
        return self._connection

    def collect(self) -> Observation:
        """Read the node and every guest once."""
        try:
            libvirt = _libvirt()
        except ImportError as exc:
            return Observation(status=STATUS_ERROR, error=str(exc))
        now, stamp = time.time(), time.time_ns()
        try:
            conn = self._connect()
            node = conn.getInfo()
            hostname = conn.getHostname()
            domains = conn.listAllDomains()
        except libvirt.libvirtError as exc:
            self._connection = None
            return Observation(status=STATUS_ERROR,
                               error=f"{self.config['uri']}: {exc.get_error_message()}")
        obs = Observation()
        problems: list[str] = []
        running = vcpus = allocated = 0
        for domain in domains:
            try:
                state, max_kib, used_kib, domain_vcpus, cpu_ns = domain.info()
                xml = ElementTree.fromstring(domain.XMLDesc(0))
                self._domain(obs, domain, xml, state, max_kib, used_kib, domain_vcpus, cpu_ns,
                             now, stamp, hostname)
            except (libvirt.libvirtError, ElementTree.ParseError) as exc:
                problems.append(f"{_name(domain)}: {exc}")
                continue
            if state == 1:
                running, vcpus, allocated = running + 1, vcpus + domain_vcpus, \
                    allocated + max_kib * 1024
        try:
            free = conn.getFreeMemory()
        except libvirt.libvirtError:
            free = None
        obs.add("hypervisor", {}, {"cpus": node[2], "memory_bytes": node[1] * 1024 * 1024,
                                   "free_memory_bytes": free or None,
                                   "domains": len(domains), "running_domains": running,
                                   "vcpus_allocated": vcpus,
                                   "memory_allocated_bytes": allocated}, stamp)
        obs.facts.insert(0, self._hypervisor_fact(conn, node, hostname))
        self._rates.forget_untouched()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems[:3])
        return obs

    def _domain(self, obs, domain, xml, state, max_kib, used_kib, vcpus, cpu_ns, now, stamp,
                hostname) -> None:
        name, uuid = domain.name(), domain.UUIDString()
        tags = {"domain": name, "uuid": uuid}
        fields = {"running": state == 1, "vcpus": vcpus, "memory_bytes": max_kib * 1024,
                  "memory_used_bytes": used_kib * 1024, "cpu_seconds": cpu_ns / 1e9}
        rate = self._rates.rate((uuid, "cpu"), cpu_ns / 1e9, now)
        if rate is not None and vcpus:
            fields["cpu_usage_percent"] = min(100.0, rate / vcpus * 100)
        obs.add("vm", tags, fields, stamp)
        disks = [t.get("dev") for t in xml.findall("./devices/disk/target") if t.get("dev")]
        nics = [(i.find("target"), i.find("mac")) for i in xml.findall("./devices/interface")]
        if state == 1:
            for disk in disks:
                values = dict(zip(DISK_FIELDS, domain.blockStats(disk)))
                self._io(obs, "vm_disk", {"domain": name, "disk": disk}, uuid, values,
                         ("read_bytes", "write_bytes", "reads", "writes"), now, stamp)
            for target, _mac in nics:
                if target is not None and target.get("dev"):
                    values = dict(zip(NET_FIELDS, domain.interfaceStats(target.get("dev"))))
                    self._io(obs, "vm_net", {"domain": name, "interface": target.get("dev")},
                             uuid, {k: values[k] for k in ("rx_bytes", "tx_bytes", "rx_packets",
                                                           "tx_packets", "rx_errors",
                                                           "tx_errors")},
                             ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets"), now, stamp)
        os_type = xml.find("./os/type")
        macs = sorted({m.get("address").lower() for _t, m in nics
                       if m is not None and m.get("address")})
        keys, _placeholders = clean_keys({"instance_uuid": uuid, "hostname": name, "mac": macs})
        obs.facts.append(Fact("instance", keys,
                              {"name": name, "vcpus": vcpus, "memory_bytes": max_kib * 1024,
                               "state": STATES.get(state, str(state)), "host": hostname,
                               "disks": disks, "os_type": os_type.text if os_type is not None
                               else None, "architecture": os_type.get("arch")
                               if os_type is not None else None}))

    def _io(self, obs, measurement, tags, uuid, values, with_rates, now, stamp) -> None:
        fields = {k: v for k, v in values.items() if v is not None and v >= 0}
        for key in with_rates:
            if key in fields:
                rate = self._rates.rate((uuid, measurement, tags.get("disk") or
                                         tags.get("interface"), key), fields[key], now)
                if rate is not None:
                    fields[f"{key}_per_second"] = rate
        obs.add(measurement, tags, fields, stamp)

    def _hypervisor_fact(self, conn, node, hostname) -> Fact:
        libvirt = _libvirt()

        smbios = {}
        try:
            sysinfo = ElementTree.fromstring(conn.getSysinfo(0))
            smbios = {e.get("name"): (e.text or "").strip()
                      for e in sysinfo.findall("./system/entry")}
        except (libvirt.libvirtError, ElementTree.ParseError):
            pass
        try:
            versions = {"hypervisor": conn.getType(), "hypervisor_version": conn.getVersion(),
                        "libvirt_version": conn.getLibVersion()}
        except libvirt.libvirtError:
            versions = {}
        keys, placeholders = clean_keys({"hostname": hostname, "machine_uuid": smbios.get("uuid"),
                                         "serial_number": smbios.get("serial")})
        attributes = {"cpu_model": node[0], "cpu_mhz": node[3], "numa_nodes": node[4],
                      "cpu_sockets": node[5] * node[4], "cpu_cores": node[6] * node[5] * node[4],
                      "cpu_threads": node[2], "memory_bytes": node[1] * 1024 * 1024,
                      "vendor": smbios.get("manufacturer"), "model": smbios.get("product"),
                      **versions, **placeholders}
        return Fact("hypervisor", keys,
                    {k: v for k, v in attributes.items() if v not in (None, "")})

    def close(self) -> None:
        """Close the libvirt connection."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # a connection that already broke has nothing left to close
                pass
            self._connection = None


def _name(domain) -> str:
    try:
        return domain.name()
    except Exception:  # the domain vanished between the listing and this call
        return "?"


def _libvirt():
    """The libvirt bindings, or an ImportError that says how to install them."""
    try:
        import libvirt
    except ImportError:
        raise ImportError("the libvirt collector needs libvirt-python: apt-get install "
                          "libvirt-dev pkg-config && pip install -r "
                          "requirements-optional.txt") from None
    return libvirt
