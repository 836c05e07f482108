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

The wire client (``client.py``: session, PropertyCollector, performance counters, plain data
out) is apart from the mapping (``mapping.py``, pure functions tested on the recorded
simulator inventory); this module only says what to read when.

Facts: ``hypervisor`` per host (keys ``hostname``, ``machine_uuid``, ``serial_number``,
``mac``), ``instance`` per VM (keys ``instance_uuid`` = vCenter's instance UUID,
``machine_uuid`` = the BIOS UUID a guest agent sees, ``hostname``, ``mac``), ``datastore``
(key ``resource_id``). VMs carry ``folder``, ``resource_pool`` and, where the
``departments`` option maps either name, ``department``.
"""

from __future__ import annotations

import time

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Observation, Option,
                             at_least, url_option)
from collectors.registry import register_collector
from collectors.secrets import resolve_option
from collectors.vsphere import mapping
from collectors.vsphere.client import VsphereClient, describe, session_lost


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
        """The wire client (it logs in on the first poll) and the names read last."""
        self.client = VsphereClient(self.config, self.secret("password"))
        self._names: dict[str, str] = {}

    def close(self) -> None:
        """Destroy the view and log out."""
        self.client.close()

    def collect(self) -> Observation:
        """Read usage, and configuration when the inventory is due."""
        stamp = time.time_ns()
        try:
            si = self.client.connect()
        except Exception as exc:  # vim faults, socket and TLS errors, bad SOAP
            self.close()
            return Observation(status=STATUS_ERROR, error=f"{self.config['url']}: "
                                                          f"{describe(exc)}")
        inventory = self.inventory.due()
        obs = Observation()
        problems: list[str] = []
        try:
            objects = self.client.retrieve(si, inventory)
        except Exception as exc:  # noqa: BLE001 - reported as the target's status
            if session_lost(exc):
                self.close()   # logged out or expired: log in again next poll
            return Observation(status=STATUS_ERROR, error=f"RetrievePropertiesEx: "
                                                          f"{describe(exc)}")
        if inventory:
            self._names = mapping.names_of(objects)
        perf = {}
        if self.config["performance"] and objects.get("HostSystem"):
            try:
                perf = self.client.host_performance(si, objects["HostSystem"])
            except Exception as exc:  # noqa: BLE001 - quickStats still give usage
                problems.append(f"QueryPerf: {describe(exc)}")
        mapping.emit(obs, objects, perf, self._names, self.config["departments"], stamp,
                     inventory)
        if inventory:
            self.inventory.done()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems)
        return obs
