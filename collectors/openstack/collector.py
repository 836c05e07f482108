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

Compute microversions: the SDK asks each API for the newest version both sides know.
From 2.88 nova's hypervisor details carry no capacity or CPU description; capacity then
comes from placement only (a provider is a hypervisor's when its UUID is the compute node's
ID or its name the hypervisor's host name).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Fact, Observation, Option,
                             OptionError, url_option)
from collectors.identity import clean_keys
from collectors.registry import register_collector
from collectors.secrets import resolve_option

GIB = 1024 ** 3
MIB = 1024 ** 2
#: Resource classes that count as GPUs on a provider or in a flavor.
GPU_CLASSES = ("VGPU", "PGPU")
#: The newest response forms this collector reads (older ones are read too).
SERVER_MICROVERSION = "2.100"
VOLUME_MICROVERSION = "3.71"
#: What keystoneauth resends; 429 and 5xx are the usual transient answers of a busy cloud.
RETRIABLE = [429, 500, 502, 503, 504]
_LOGGER = logging.getLogger(__name__)


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
        """The password; the connection is made on the first poll."""
        self._password = self.secret("password")
        self._conn = None

    # -- connection -------------------------------------------------------------------
    def _connect(self):
        import openstack.connection

        if self._conn is None:
            cfg = self.config
            self._conn = self._new_connection(openstack.connection, cfg)
        return self._conn

    def _new_connection(self, module, cfg):
        return module.Connection(
                auth_url=cfg["auth_url"], username=cfg["username"], password=self._password,
                project_name=cfg["project_name"], user_domain_name=cfg["user_domain_name"],
                project_domain_name=cfg["project_domain_name"],
                region_name=cfg["region_name"] or None, interface=cfg["interface"],
                verify=cfg["verify_tls"], api_timeout=cfg["request_timeout"],
                connect_retries=cfg["retries"], status_code_retries=cfg["retries"],
                retriable_status_codes=RETRIABLE, app_name="infra-ledger")

    def close(self) -> None:
        """Drop the session (keystoneauth holds a connection pool)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - nothing left to release
                pass
            self._conn = None

    # -- polling ----------------------------------------------------------------------
    def collect(self) -> Observation:
        """Read usage, and the inventory when it is due."""
        obs = Observation()
        stamp = time.time_ns()
        problems: list[str] = []
        try:
            conn = self._connect()
            conn.authorize()
        except Exception as exc:  # keystoneauth, requests and SDK errors alike
            self.close()
            return Observation(status=STATUS_ERROR, error=f"keystone: {describe(exc)}")
        inventory_due = self.inventory.due()
        hypervisors = self._section("nova hypervisors", problems, self._hypervisors, conn)
        providers = self._section("placement", problems, self._providers, conn)
        self._hypervisor_samples(obs, hypervisors or [], providers or {}, stamp,
                                 facts=inventory_due)
        if self.config["volumes"]:
            pools = self._section("cinder pools", problems, self._pools, conn)
            self._pool_samples(obs, pools or [], stamp, facts=inventory_due)
        if inventory_due:
            complete = self._inventory(obs, conn, problems, stamp)
            if complete:
                self.inventory.done()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems[:4])
            if not obs.samples and not obs.facts:
                obs.status = STATUS_ERROR
        return obs

    def _section(self, label: str, problems: list[str], read, *args):
        try:
            return read(*args)
        except Exception as exc:  # one API failing leaves the others' results
            problems.append(f"{label}: {describe(exc)}")
            return None

    # -- usage ------------------------------------------------------------------------
    def _hypervisors(self, conn) -> list[dict]:
        found = []
        for hyp in _pages(conn.compute, "/os-hypervisors/detail", "hypervisors", "2.88"):
            found.append({
                "id": str(hyp.get("id")), "name": hyp.get("hypervisor_hostname"),
                "host_ip": hyp.get("host_ip"), "type": hyp.get("hypervisor_type"),
                "version": hyp.get("hypervisor_version"), "state": hyp.get("state"),
                "status": hyp.get("status"),
                "service_host": (hyp.get("service") or {}).get("host"),
                # Gone from 2.88 on: capacity then comes from placement.
                "cpu_info": hyp.get("cpu_info"), "vcpus": hyp.get("vcpus"),
                "vcpus_used": hyp.get("vcpus_used"), "memory_mb": hyp.get("memory_mb"),
                "memory_mb_used": hyp.get("memory_mb_used"), "local_gb": hyp.get("local_gb"),
                "local_gb_used": hyp.get("local_gb_used"),
                "running_vms": hyp.get("running_vms")})
        return found

    def _providers(self, conn) -> dict[str, dict]:
        """Resource providers by UUID, each with ``inventories`` and ``usages``."""
        found = {}
        for provider in conn.placement.resource_providers():
            inventories = {inv.resource_class: inv for inv in
                           conn.placement.resource_provider_inventories(provider)}
            response = conn.placement.get(f"/resource_providers/{provider.id}/usages")
            usages = _json(response).get("usages") or {}
            found[provider.id] = {"name": provider.name, "inventories": inventories,
                                  "usages": usages}
        return found

    def _pools(self, conn) -> list:
        return list(conn.block_storage.backend_pools())

    def _hypervisor_samples(self, obs, hypervisors, providers, stamp, facts) -> None:
        by_name = {p["name"]: p for p in providers.values()}
        for hyp in hypervisors:
            provider = providers.get(hyp["id"]) or by_name.get(hyp["name"]) or {}
            inv, used = provider.get("inventories", {}), provider.get("usages", {})
            fields: dict[str, Any] = {
                "up": hyp["state"] == "up", "enabled": hyp["status"] == "enabled",
                "running_domains": hyp["running_vms"]}
            fields.update(_capacity(inv, used, "VCPU", 1, "cpus", "vcpus_allocated",
                                    "vcpus_capacity"))
            fields.update(_capacity(inv, used, "MEMORY_MB", MIB, "memory_bytes",
                                    "memory_allocated_bytes", "memory_capacity_bytes"))
            fields.update(_capacity(inv, used, "DISK_GB", GIB, "disk_bytes",
                                    "disk_allocated_bytes", "disk_capacity_bytes"))
            # Before 2.88 nova reports the same figures itself; placement wins when present.
            for key, value, scale in (("cpus", hyp["vcpus"], 1),
                                      ("vcpus_allocated", hyp["vcpus_used"], 1),
                                      ("memory_bytes", hyp["memory_mb"], MIB),
                                      ("memory_allocated_bytes", hyp["memory_mb_used"], MIB),
                                      ("disk_bytes", hyp["local_gb"], GIB),
                                      ("disk_allocated_bytes", hyp["local_gb_used"], GIB)):
                if key not in fields and isinstance(value, (int, float)):
                    fields[key] = value * scale
            gpus = sum(inv[c].total for c in GPU_CLASSES if c in inv)
            if gpus:
                fields["gpus"] = gpus
            obs.add("hypervisor", {"hypervisor": hyp["name"]}, fields, stamp)
            if facts:
                obs.facts.append(_hypervisor_fact(hyp, fields))

    def _pool_samples(self, obs, pools, stamp, facts) -> None:
        for pool in pools:
            caps = pool.capabilities or {}
            total, free = _number(caps.get("total_capacity_gb")), \
                _number(caps.get("free_capacity_gb"))
            backend = caps.get("volume_backend_name") or pool.name
            fields = {}
            if total is not None:
                fields["total_bytes"] = total * GIB
            if free is not None:
                fields["free_bytes"] = free * GIB
            if total and free is not None:
                fields["used_percent"] = (total - free) / total * 100
            obs.add("storage_pool", {"pool": pool.name, "backend": backend}, fields, stamp)
            if facts:
                obs.facts.append(Fact("storage_pool", {"resource_id": f"cinder:{pool.name}"}, {
                    "name": pool.name, "backend": backend,
                    "protocol": caps.get("storage_protocol"),
                    "total_bytes": fields.get("total_bytes"),
                    "free_bytes": fields.get("free_bytes"),
                    "driver_version": caps.get("driver_version")}))

    # -- inventory --------------------------------------------------------------------
    def _inventory(self, obs, conn, problems, stamp) -> bool:
        before = len(problems)
        projects = self._section("keystone projects", problems,
                                 lambda: {p.id: p.name for p in conn.identity.projects()})
        if projects is None:   # a reader without identity:list_projects still sees IDs
            projects = {}
        flavors = self._section("nova flavors", problems, lambda: {
            f.id: f for f in conn.compute.flavors(details=True)}) or {}
        # The two big listings are read as plain JSON pages through the SDK's adapters:
        # building SDK resource objects costs ~5 ms per server (README, design notes).
        servers = self._section("nova servers", problems, lambda: list(_pages(
            conn.compute, "/servers/detail", "servers", SERVER_MICROVERSION,
            {"all_tenants": "True"})))
        volumes = self._section("cinder volumes", problems, lambda: list(_pages(
            conn.block_storage, "/volumes/detail", "volumes", VOLUME_MICROVERSION,
            {"all_tenants": "True"}))) if self.config["volumes"] else []
        totals: dict[str, dict[str, float]] = {}

        def project_totals(project_id):
            return totals.setdefault(project_id or "", {
                "instances": 0, "running_instances": 0, "vcpus": 0, "memory_bytes": 0,
                "volumes": 0, "volume_bytes": 0})

        for server in servers or []:
            fact = self._server_fact(server, flavors, projects)
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
        for volume in volumes or []:
            fact = self._volume_fact(volume, projects)
            obs.facts.append(fact)
            row = project_totals(fact.attributes["project_id"])
            row["volumes"] += 1
            row["volume_bytes"] += fact.attributes["size_bytes"] or 0
        for project_id, row in sorted(totals.items()):
            name = projects.get(project_id) or project_id
            obs.add("cloud_project", {"project": name, "project_id": project_id,
                                      "department": self._department(project_id, projects)
                                      or ""}, row, stamp)
        return len(problems) == before

    def _department(self, project_id, projects) -> str | None:
        mapping = self.config["departments"]
        return mapping.get(project_id) or mapping.get(projects.get(project_id) or "")

    def _server_fact(self, server: dict, flavors: dict, projects: dict) -> Fact:
        flavor = server.get("flavor") or {}
        flavor_id = flavor.get("id")
        if "vcpus" not in flavor and flavor_id in flavors:
            # Before 2.47 a server names its flavor by ID only.
            known = flavors[flavor_id]
            flavor = {"original_name": known.name, "vcpus": known.vcpus, "ram": known.ram,
                      "disk": known.disk, "extra_specs": known.extra_specs or {}}
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
            "department": self._department(project_id, projects),
            "flavor": flavor.get("original_name") or flavor_id,
            "vcpus": vcpus, "memory_bytes": ram * MIB if ram is not None else None,
            "disk_bytes": disk * GIB if disk is not None else None,
            "gpus": _flavor_gpus(flavor.get("extra_specs") or {}),
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

    def _volume_fact(self, volume: dict, projects: dict) -> Fact:
        project_id = volume.get("os-vol-tenant-attr:tenant_id")
        size = volume.get("size") or 0
        bootable = volume.get("bootable")
        attributes = {
            "name": volume.get("name"), "size_bytes": size * GIB, "status": volume.get("status"),
            "project_id": project_id, "project": projects.get(project_id),
            "department": self._department(project_id, projects),
            "volume_type": volume.get("volume_type"),
            "bootable": str(bootable).lower() if bootable is not None else None,
            "availability_zone": volume.get("availability_zone"),
            "pool": volume.get("os-vol-host-attr:host"),
            "attached_to": [a.get("server_id") for a in volume.get("attachments") or []
                            if isinstance(a, dict) and a.get("server_id")]}
        return Fact("volume", {"resource_id": f"cinder:{volume['id']}"},
                    {k: v for k, v in attributes.items() if v not in (None, "", [])}
                    | {"size_bytes": attributes["size_bytes"], "project_id": project_id})


#: nova's power_state codes (nova/compute/power_state.py).
POWER_STATES = {0: "nostate", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                7: "suspended"}


def _capacity(inv, used, resource_class, scale, total_key, used_key, capacity_key) -> dict:
    if resource_class not in inv:
        return {}
    item = inv[resource_class]
    total = item.total or 0
    reserved = item.reserved or 0
    ratio = item.allocation_ratio if item.allocation_ratio is not None else 1.0
    out = {total_key: total * scale, capacity_key: (total - reserved) * ratio * scale}
    if resource_class in used:
        out[used_key] = used[resource_class] * scale
    return out


def _hypervisor_fact(hyp: dict, fields: dict) -> Fact:
    info = hyp["cpu_info"]
    if isinstance(info, str):   # before 2.28 cpu_info is a JSON string
        import json
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


def _flavor_gpus(extra_specs: dict) -> int | None:
    total = 0
    for key, value in extra_specs.items():
        if key in (f"resources:{c}" for c in GPU_CLASSES):
            total += int(_number(value) or 0)
        elif key == "pci_passthrough:alias":   # "alias:count[,alias:count]"
            for part in str(value).split(","):
                name, _, count = part.partition(":")
                if "gpu" in name.lower():
                    total += int(_number(count) or 1)
    return total or None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):   # cinder reports "infinite" and "unknown" too
        return None


def _pages(proxy, path: str, key: str, client_max: str, params: dict | None = None):
    """Every item of a paged nova/cinder listing, at the newest microversion both know.

    Follows ``<key>_links`` ``next`` like the SDK does; the proxy is a keystoneauth adapter,
    so authentication, the catalog endpoint, retries and timeouts are the SDK's own.
    """
    from openstack import exceptions, utils

    microversion = utils.maximum_supported_microversion(proxy, client_max)
    url, query = path, dict(params or {})
    while url:
        response = proxy.get(url, params=query, microversion=microversion)
        exceptions.raise_from_response(response)
        body = _json(response)
        items = body.get(key)
        if not isinstance(items, list):
            raise ValueError(f"GET {response.url}: no {key!r} list in the answer")
        yield from (item for item in items if isinstance(item, dict) and "id" in item)
        url, query = None, None
        for link in body.get(f"{key}_links") or []:
            if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
                url = link["href"]
        if url and not items:
            break   # a next link after an empty page would loop


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise ValueError(f"GET {response.url}: HTTP {response.status_code}, "
                         "body is not JSON") from None
    if response.status_code >= 400:
        raise ValueError(f"GET {response.url}: HTTP {response.status_code}")
    return body if isinstance(body, dict) else {}


def describe(exc: BaseException) -> str:
    """One line for an SDK, keystoneauth or transport error; never the credentials."""
    status, cause = None, exc
    while cause is not None and status is None:   # the SDK wraps keystoneauth's errors
        status = getattr(cause, "status_code", None) or getattr(cause, "http_status", None)
        cause = cause.__cause__ or cause.__context__
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if status:
        hints = {401: "authentication failed (user, password or domain)",
                 403: "forbidden: the account lacks the admin or reader role",
                 404: "not found (service or microversion not supported)",
                 429: "rate limited (429) after retries"}
        hint = hints.get(int(status))
        if hint or int(status) >= 500:
            text = f"HTTP {status}: {hint or 'server error after retries'} - {text}"
        elif not text.startswith(str(status)):
            text = f"HTTP {status}: {text}"
    if len(text) > 300:
        text = text[:297] + "..."
    return text if name in text else f"{text} ({name})"
