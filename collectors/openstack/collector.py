"""OpenStack collector: one cloud (region) through openstacksdk.

Every poll reads usage: nova hypervisors, placement resource providers (inventories and
usages) and cinder pools. Every ``inventory_interval`` (default 30 min) it also reads the
inventory: keystone projects, nova flavors and servers, cinder volumes; facts are emitted
only on those polls (a large cloud's 10,000 instances are not re-listed every minute).

Measurements (tags; fields with units):

- ``hypervisor`` (``hypervisor``): ``cpus``, ``memory_bytes``, ``disk_bytes`` (physical,
  placement totals or nova's pre-2.88 fields), ``vcpus_allocated``,
  ``memory_allocated_bytes``, ``disk_allocated_bytes`` (placement usages, else nova's
  ``*_used``), ``vcpus_capacity``, ``memory_capacity_bytes``, ``disk_capacity_bytes``
  (schedulable: (total - reserved) x allocation ratio), ``gpus``, ``running_domains``
  (before 2.88), ``up``, ``enabled``.
- ``storage_pool`` (``pool``, ``backend``): ``total_bytes``, ``free_bytes``, ``used_percent``.
- On inventory polls, ``vm`` (``instance``, ``uuid``, ``project``): ``running``, ``vcpus``,
  ``memory_bytes``, ``disk_bytes``; and ``cloud_project`` (``project``, ``project_id``,
  ``department``): ``instances``, ``running_instances``, ``vcpus``, ``memory_bytes``,
  ``volumes``, ``volume_bytes``.

Facts: ``instance`` per server (keys ``instance_uuid``, ``hostname``, ``mac``), ``hypervisor``
per compute node (keys ``hostname``, ``mgmt_ip``), ``volume`` per volume and ``storage_pool``
per cinder pool (key ``resource_id``). Instances and volumes carry ``project``, ``project_id``
and, where the ``departments`` option maps the project's name or ID, ``department``.

The wire client (``client.py``: keystone session, paged listings, placement) is apart from
the mapping of API objects to samples and facts (``mapping.py``, pure functions tested on the
api-ref samples); this module only says what to read when.

Compute microversions: the SDK asks each API for the newest version both sides know.
From 2.88 nova's hypervisor details carry no capacity or CPU description; capacity then
comes from placement only (a provider is a hypervisor's when its UUID is the compute node's
ID or its name the hypervisor's host name).
"""

from __future__ import annotations

import time

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Observation, Option,
                             OptionError, url_option)
from collectors.openstack import mapping
from collectors.openstack.client import OpenStackClient, describe
from collectors.registry import register_collector
from collectors.secrets import resolve_option


@register_collector
class OpenStackCollector(Collector):
    """Polls one OpenStack region with an admin (or reader) account."""

    kind = "openstack"
    description = ("An OpenStack cloud: projects, servers, flavors, hypervisors, placement "
                   "capacity, volumes and pools")
    options = (
        url_option("auth_url", required=True,
                   help="keystone v3 URL, e.g. https://keystone.gov.example:5000/v3"),
        Option("username", str, required=True, help="keystone user"),
        Option("password", str, "env:OS_PASSWORD", secret=True,
               help="env:NAME, file:PATH or a literal"),
        Option("project_name", str, "admin", help="project the token is scoped to"),
        Option("user_domain_name", str, "Default", help="the user's domain"),
        Option("project_domain_name", str, "Default", help="the project's domain"),
        Option("region_name", str, "", help="catalog region; empty takes the only one"),
        Option("interface", str, "public", help="catalog interface: public, internal, admin",
               choices=("public", "internal", "admin")),
        Option("verify_tls", bool, True, help="check the API's certificates"),
        Option("request_timeout", float, 30.0, help="seconds per request"),
        Option("retries", int, 2, help="resends of a request that failed to connect or got "
                                       "429/5xx (with keystoneauth's backoff)"),
        Option("departments", dict, {},
               help="project name or ID -> department, for the ledger's owner"),
        Option("volumes", bool, True, help="read cinder volumes and pools"),
    )
    #: Seconds between inventory reads (projects, flavors, servers, volumes).
    inventory_interval = 1800.0

    @classmethod
    def validate(cls, options) -> None:
        """Departments as text, and a password that resolves."""
        for key, value in options["departments"].items():
            if not isinstance(key, str) or not isinstance(value, str) or not value:
                raise OptionError("departments", f"{key!r}: project and department must be "
                                                 "non-empty text")
        resolve_option(options, "password")

    def setup(self) -> None:
        """The wire client; it connects on the first poll."""
        self.client = OpenStackClient(self.config, self.secret("password"))

    def close(self) -> None:
        """Drop the session."""
        self.client.close()

    def collect(self) -> Observation:
        """Read usage, and the inventory when it is due."""
        obs = Observation()
        stamp = time.time_ns()
        problems: list[str] = []
        try:
            self.client.connect()
        except Exception as exc:  # keystoneauth, requests and SDK errors alike
            self.close()
            return Observation(status=STATUS_ERROR, error=f"keystone: {describe(exc)}")
        inventory_due = self.inventory.due()
        hypervisors = _section("nova hypervisors", problems, self.client.hypervisors)
        providers = _section("placement", problems, self.client.providers)
        mapping.hypervisor_samples(obs, hypervisors or [], providers or {}, stamp,
                                   facts=inventory_due)
        if self.config["volumes"]:
            pools = _section("cinder pools", problems, self.client.pools)
            mapping.pool_samples(obs, pools or [], stamp, facts=inventory_due)
        if inventory_due and self._inventory(obs, problems, stamp):
            self.inventory.done()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems[:4])
            if not obs.samples and not obs.facts:
                obs.status = STATUS_ERROR
        return obs

    def _inventory(self, obs: Observation, problems: list[str], stamp: int) -> bool:
        """Read and map the inventory; whether every part of it was read."""
        before = len(problems)
        client = self.client
        # A reader without identity:list_projects still sees project IDs.
        projects = _section("keystone projects", problems, client.projects) or {}
        flavors = _section("nova flavors", problems, client.flavors) or {}
        servers = _section("nova servers", problems, client.servers)
        volumes = _section("cinder volumes", problems, client.volumes) \
            if self.config["volumes"] else []
        mapping.inventory(obs, servers or [], volumes or [], flavors, projects,
                          self.config["departments"], stamp)
        return len(problems) == before


def _section(label: str, problems: list[str], read):
    """``read()``, or None with the failure noted: one API failing leaves the others."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - reported in the poll's status
        problems.append(f"{label}: {describe(exc)}")
        return None
