"""A local OpenStack API that answers the real URL layout from the official api-ref samples.

It serves keystone (version discovery, password token with a catalog pointing back at this
server, projects), nova (servers, flavors, hypervisors), placement (resource providers,
inventories, usages) and cinder (volumes, pools) under devstack's path layout
(``/identity``, ``/compute/v2.1``, ``/placement``, ``/volume/v3/{project_id}``).

Bodies come from ``../shared/fixtures/cloud/openstack`` (read in place): the sample of the
highest microversion directory at or below the one the request asks for, as nova,
placement and cinder choose them. The samples' placeholder links
(``http://openstack.example.com/...``) are rewritten to this server, and paging is done here
with ``limit``/``marker`` and ``*_links`` like the services do, so a client never follows a
link off the loopback address.

``Dataset.generated(n)`` replaces the sample lists with ``n`` servers (and hosts, volumes)
built from the same samples, for pagination tests and the inventory benchmark.
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import json
import re
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from tests.conftest import SHARED

SAMPLES = SHARED / "fixtures" / "cloud" / "openstack"
TOKEN = "gAAAAABlocal-test-token"
PROJECT_ID = "6f70656e737461636b20342065766572"   # the nova samples' tenant
_VERSION_DIR = re.compile(r"v(\d+)\.(\d+)$")


def _mv(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def sample(relative: str, microversion: tuple[int, int] | None = None) -> dict:
    """The sample ``relative`` (``dir/name.json``) for ``microversion``, as nova picks it."""
    folder, name = relative.rsplit("/", 1)
    chosen = SAMPLES / folder / name
    best = None
    if microversion is not None:
        for sub in (SAMPLES / folder).iterdir():
            found = _VERSION_DIR.match(sub.name)
            if found and (sub / name).is_file():
                version = (int(found[1]), int(found[2]))
                if version <= microversion and (best is None or version > best):
                    best, chosen = version, sub / name
    return json.loads(chosen.read_text(encoding="utf-8"))


@dataclasses.dataclass
class Fault:
    """What a path answers instead: status and raw body, ``times`` times (None: always),
    after ``delay`` seconds."""

    status: int = 500
    body: bytes = b'{"computeFault": {"code": 500, "message": "Unexpected API Error."}}'
    headers: dict = dataclasses.field(default_factory=dict)
    times: int | None = None
    delay: float = 0.0


class Dataset:
    """What the cloud holds; by default exactly the samples' lists."""

    def __init__(self, servers=None, hypervisors=None, volumes=None, providers=None):
        self.servers = servers          # None: the sample of the asked microversion
        self.hypervisors = hypervisors
        self.volumes = volumes
        self.providers = providers

    @classmethod
    def generated(cls, count: int, hosts: int | None = None) -> "Dataset":
        """``count`` servers spread over ``hosts`` hypervisors, in the samples' shapes.

        Servers are stored in their 2.47 admin form (embedded flavor, host attributes) and
        hypervisors in both the 2.53 and 2.88 forms; the handler picks per microversion.
        """
        hosts = hosts or max(1, count // 20)
        server_tpl = sample("nova/servers/servers-details-resp.json", (2, 47))["servers"][0]
        old_tpl = sample("nova/os-hypervisors/hypervisors-detail-resp.json", (2, 53))
        new_tpl = sample("nova/os-hypervisors/hypervisors-detail-resp.json", (2, 88))
        volume_tpl = sample("cinder/volumes/volumes-list-detailed-response.json",
                            (3, 69))["volumes"][0]
        rp_tpl = sample("placement/resource_providers/get-resource_providers.json")
        projects = [p["id"] for p in sample("keystone/admin/projects-list-response.json")
                    ["projects"]]
        hypervisors = []
        providers = []
        for index in range(hosts):
            node = str(uuid.UUID(int=0x1000_0000 + index))
            name = f"compute-{index:04d}"
            old = copy.deepcopy(old_tpl["hypervisors"][0])
            old.update(id=node, hypervisor_hostname=name, host_ip=f"10.20.{index // 250}."
                       f"{index % 250 + 1}", vcpus=64, vcpus_used=0, memory_mb=524288,
                       memory_mb_used=0, local_gb=4000, local_gb_used=0, running_vms=0)
            old["service"] = dict(old["service"], host=name)
            new = copy.deepcopy(new_tpl["hypervisors"][0])
            new.update(id=node, hypervisor_hostname=name, host_ip=old["host_ip"])
            new["service"] = dict(new["service"], host=name)
            hypervisors.append({"old": old, "new": new})
            provider = copy.deepcopy(rp_tpl["resource_providers"][0])
            provider.update(uuid=node, name=name, parent_provider_uuid=None,
                            root_provider_uuid=node)
            provider["links"] = [dict(link, href=link["href"].replace(
                rp_tpl["resource_providers"][0]["uuid"], node)) for link in provider["links"]]
            providers.append(provider)
        servers, volumes = [], []
        for index in range(count):
            host = hypervisors[index % hosts]
            server = copy.deepcopy(server_tpl)
            server_id = str(uuid.UUID(int=0x2000_0000 + index))
            name = f"vm-{index:05d}"
            vcpus, ram = (2, 4096) if index % 3 else (8, 16384)
            server.update(id=server_id, name=name, tenant_id=projects[index % len(projects)])
            server["OS-EXT-SRV-ATTR:hostname"] = name
            server["OS-EXT-SRV-ATTR:host"] = host["old"]["hypervisor_hostname"]
            server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = host["old"]["hypervisor_hostname"]
            server["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{index:08x}"
            server["flavor"] = dict(server["flavor"], vcpus=vcpus, ram=ram, disk=40,
                                    original_name=f"gov.c{vcpus}m{ram // 1024}")
            mac = f"fa:16:3e:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}"
            server["addresses"] = {"private": [{"OS-EXT-IPS-MAC:mac_addr": mac,
                                               "OS-EXT-IPS:type": "fixed", "version": 4,
                                               "addr": f"172.16.{index // 250 % 250}."
                                                       f"{index % 250 + 1}"}]}
            if index % 10 == 9:
                server.update(status="SHUTOFF")
                server["OS-EXT-STS:power_state"] = 4
                server["OS-EXT-STS:vm_state"] = "stopped"
            server["links"] = []
            servers.append(server)
            host["old"]["vcpus_used"] += vcpus
            host["old"]["memory_mb_used"] += ram
            host["old"]["running_vms"] += 1
            volume = copy.deepcopy(volume_tpl)
            volume.update(id=str(uuid.UUID(int=0x3000_0000 + index)), name=f"{name}-data",
                          size=100, status="in-use", links=[])
            volume["os-vol-tenant-attr:tenant_id"] = server["tenant_id"]
            volume["attachments"] = [{"server_id": server_id, "device": "/dev/vdb"}]
            volumes.append(volume)
        return cls(servers=servers, hypervisors=hypervisors, volumes=volumes,
                   providers=providers)


class OpenStackAPI:
    """The server: ``start()``, ``url`` (keystone v3 auth URL), ``stop()``.

    ``compute_max`` is nova's maximum microversion (2.104 at the samples' snapshot; 2.87
    for a cloud from before the hypervisor change). ``faults`` maps a path (without query)
    to ``(status, body bytes, headers)`` for error tests; ``page_limit`` is nova's and
    cinder's default page size (osapi_max_limit).
    """

    def __init__(self, dataset: Dataset | None = None, compute_max: str = "2.104",
                 password: str = "secret", page_limit: int = 1000) -> None:
        self.dataset = dataset or Dataset()
        self.compute_max = _mv(compute_max)
        self.password = password
        self.page_limit = page_limit
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> "OpenStackAPI":
        api = self

        class Handler(_Handler):
            owner = api

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/identity/v3"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def catalog(self) -> list[dict]:
        """Identity, compute, placement and block-storage, every interface on this server."""
        def service(kind, name, url):
            return {"type": kind, "name": name, "id": uuid.uuid5(uuid.NAMESPACE_URL, kind).hex,
                    "endpoints": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, kind + i).hex,
                                   "interface": i, "region": "RegionOne",
                                   "region_id": "RegionOne", "url": url}
                                  for i in ("public", "internal", "admin")]}
        return [service("identity", "keystone", f"{self.base}/identity"),
                service("compute", "nova", f"{self.base}/compute/v2.1"),
                service("placement", "placement", f"{self.base}/placement"),
                service("block-storage", "cinder", f"{self.base}/volume/v3/{PROJECT_ID}"),
                service("volumev3", "cinderv3", f"{self.base}/volume/v3/{PROJECT_ID}")]


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: OpenStackAPI
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out as two writes

    def log_message(self, *args):
        pass

    # -- plumbing ---------------------------------------------------------------------
    def _fault(self, path: str) -> bool:
        fault = self.owner.faults.get(path)
        if fault is None or fault.times == 0:
            return False
        if fault.times is not None:
            fault.times -= 1
        if fault.delay:
            time.sleep(fault.delay)
        self._send(fault.status, fault.body, fault.headers)
        return True

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        data = data.replace(b"http://openstack.example.com/", f"{self.owner.base}/compute/"
                            .encode()).replace(b"http://example.com/identity",
                                               f"{self.owner.base}/identity".encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        names = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                 406: "notAcceptable"}
        self._send(status, {names.get(status, "error"): {"code": status, "message": message}})

    def _microversion(self, service: str, maximum: tuple[int, int],
                      default: tuple[int, int]) -> tuple[int, int] | None:
        header = self.headers.get("OpenStack-API-Version", "")
        asked = None
        for part in header.split(","):
            words = part.split()
            if len(words) == 2 and words[0] == service:
                asked = words[1]
        if asked is None and service == "compute":
            asked = self.headers.get("X-OpenStack-Nova-API-Version")
        if asked is None:
            return default
        if asked == "latest":
            return maximum
        version = _mv(asked)
        if version > maximum or version < (default[0], 0):
            self._error(406, f"Version {asked} is not supported by the API. "
                             f"Minimum is {default[0]}.{default[1]} and maximum is "
                             f"{maximum[0]}.{maximum[1]}.")
            return None
        return version

    def _page(self, items: list, key: str, query: dict, marker_key: str = "id",
              link_path: str = "") -> dict:
        limit = min(int(query.get("limit", [self.owner.page_limit])[0]), self.owner.page_limit)
        start = 0
        if "marker" in query:
            ids = [item[marker_key] for item in items]
            if query["marker"][0] not in ids:
                raise LookupError(f"marker {query['marker'][0]} not found")
            start = ids.index(query["marker"][0]) + 1
        page = items[start:start + limit]
        body = {key: page}
        if start + limit < len(items) and page:
            params = dict((k, v[0]) for k, v in query.items())
            params.update(limit=str(limit), marker=page[-1][marker_key])
            body[f"{key}_links"] = [{"rel": "next", "href": f"{self.owner.base}{link_path}?"
                                                          f"{urllib.parse.urlencode(params)}"}]
        return body

    # -- requests ---------------------------------------------------------------------
    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        self.owner.requests.append(("POST", path, None))
        if self._fault(path):
            return None
        if path != "/identity/v3/auth/tokens":
            return self._error(404, "not found")
        try:
            auth = json.loads(raw)["auth"]["identity"]["password"]["user"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "Expecting to find identity in auth")
        if auth.get("password") != self.owner.password:
            return self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires "
                                                         "authentication."}})
        body = sample("keystone/auth/responses/project-scoped-password.json")
        body["token"]["catalog"] = self.owner.catalog()
        body["token"]["project"]["id"] = PROJECT_ID
        body["token"]["expires_at"] = "2099-01-01T00:00:00.000000Z"
        self._send(201, body, {"X-Subject-Token": TOKEN})

    def do_GET(self):  # noqa: N802
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = urllib.parse.parse_qs(parts.query)
        self.owner.requests.append(("GET", path, self.headers.get("OpenStack-API-Version")))
        if self._fault(path):
            return None
        discovery = self._discovery(path)
        if discovery is not None:
            return self._send(200, discovery)
        if self.headers.get("X-Auth-Token") != TOKEN:
            return self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires "
                                                         "authentication."}})
        try:
            if path.startswith("/identity/v3/"):
                return self._identity(path, query)
            if path.startswith("/compute/v2.1/"):
                return self._compute(path.removeprefix("/compute/v2.1"), query)
            if path.startswith("/placement/"):
                return self._placement(path.removeprefix("/placement"), query)
            if path.startswith(f"/volume/v3/{PROJECT_ID}/"):
                return self._volume(path.removeprefix(f"/volume/v3/{PROJECT_ID}"), query)
        except LookupError as exc:
            return self._error(400, str(exc))
        self._error(404, f"{path} not found")

    def _discovery(self, path: str) -> dict | None:
        base = self.owner.base
        compute = {"id": "v2.1", "status": "CURRENT", "updated": "2013-07-23T11:33:21Z",
                   "version": "%d.%d" % self.owner.compute_max, "min_version": "2.1",
                   "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
                   "media-types": [{"base": "application/json",
                                    "type": "application/vnd.openstack.compute+json;version=2.1"}]}
        identity = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                    "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
                    "media-types": [{"base": "application/json",
                                     "type": "application/vnd.openstack.identity-v3+json"}]}
        placement = {"id": "v1.0", "status": "CURRENT", "max_version": "1.39",
                     "min_version": "1.0", "links": [{"rel": "self",
                                                      "href": f"{base}/placement/"}]}
        volume = {"id": "v3.0", "status": "CURRENT", "updated": "2023-08-31T00:00:00Z",
                  "version": "3.71", "min_version": "3.0",
                  "links": [{"rel": "self", "href": f"{base}/volume/v3/"}]}
        return {"/identity": {"versions": {"values": [identity]}},
                "/identity/v3": {"version": identity},
                "/compute": {"versions": [compute]},
                "/compute/v2.1": {"version": compute},
                "/placement": {"versions": [placement]},
                "/volume": {"versions": [volume]},
                "/volume/v3": {"versions": [volume]},
                f"/volume/v3/{PROJECT_ID}": {"versions": [volume]}}.get(path)

    def _identity(self, path: str, query: dict) -> None:
        if path == "/identity/v3/projects":
            return self._send(200, sample("keystone/admin/projects-list-response.json"))
        self._error(404, f"{path} not found")

    def _compute(self, path: str, query: dict) -> None:
        version = self._microversion("compute", self.owner.compute_max, (2, 1))
        if version is None:
            return None
        headers = {"OpenStack-API-Version": "compute %d.%d" % version,
                   "Vary": "OpenStack-API-Version"}
        data = self.owner.dataset
        if path == "/servers/detail":
            if data.servers is None:
                items = sample("nova/servers/servers-details-resp.json", version)["servers"]
            else:
                items = [_server_form(s, version) for s in data.servers]
            return self._send(200, self._page(items, "servers", query,
                                              link_path="/compute/v2.1/servers/detail"),
                              headers)
        if path == "/flavors/detail":
            items = sample("nova/flavors/flavors-detail-resp.json", version)["flavors"]
            return self._send(200, self._page(items, "flavors", query,
                                              link_path="/compute/v2.1/flavors/detail"),
                              headers)
        if path == "/os-hypervisors/detail":
            if data.hypervisors is None:
                items = sample("nova/os-hypervisors/hypervisors-detail-resp.json",
                               version)["hypervisors"]
            else:
                items = [h["new" if version >= (2, 88) else "old"] for h in data.hypervisors]
            if version < (2, 33):
                return self._send(200, {"hypervisors": items}, headers)
            return self._send(200, self._page(items, "hypervisors", query,
                                              link_path="/compute/v2.1/os-hypervisors/detail"),
                              headers)
        if path == "/os-hypervisors/statistics" and version < (2, 88):
            return self._send(200, sample("nova/os-hypervisors/"
                                          "hypervisors-statistics-resp.json"), headers)
        self._error(404, f"{path} not found")

    def _placement(self, path: str, query: dict) -> None:
        version = self._microversion("placement", (1, 39), (1, 0))
        if version is None:
            return None
        headers = {"OpenStack-API-Version": "placement %d.%d" % version}
        providers = self.owner.dataset.providers
        if providers is None:
            providers = self._sample_providers()
        if path == "/resource_providers":
            return self._send(200, {"resource_providers": providers}, headers)
        found = re.fullmatch(r"/resource_providers/([0-9a-f-]+)/(inventories|usages)", path)
        if found and any(p["uuid"] == found[1] for p in providers):
            if found[2] == "inventories":
                body = sample("placement/inventories/get-inventories.json")
            else:
                body = sample("placement/resource_provider_usages/"
                              "get-resource_provider_usages.json")
            return self._send(200, body, headers)
        self._error(404, f"{path} not found")

    def _sample_providers(self) -> list[dict]:
        """The sample providers, the first one paired with the sample compute node.

        The placement samples are independent of the nova ones; nova names a compute node's
        provider after the hypervisor and gives it the node's UUID, so the first sample
        provider takes the 2.88 hypervisor's identity and the others stay unpaired.
        """
        providers = sample("placement/resource_providers/"
                           "get-resource_providers.json")["resource_providers"]
        node = sample("nova/os-hypervisors/hypervisors-detail-resp.json",
                      (2, 88))["hypervisors"][0]
        first = providers[0]
        old = first["uuid"]
        first.update(uuid=node["id"], name=node["hypervisor_hostname"],
                     parent_provider_uuid=None, root_provider_uuid=node["id"])
        first["links"] = [dict(link, href=link["href"].replace(old, node["id"]))
                          for link in first["links"]]
        return providers

    def _volume(self, path: str, query: dict) -> None:
        version = self._microversion("volume", (3, 71), (3, 0))
        if version is None:
            return None
        headers = {"OpenStack-API-Version": "volume %d.%d" % version}
        if path == "/volumes/detail":
            items = self.owner.dataset.volumes
            if items is None:
                items = sample("cinder/volumes/volumes-list-detailed-response.json",
                               version)["volumes"]
            return self._send(200, self._page(items, "volumes", query,
                                              link_path=f"/volume/v3/{PROJECT_ID}"
                                                        "/volumes/detail"), headers)
        if path == "/scheduler-stats/get_pools":
            return self._send(200, sample("cinder/pools-list-detailed-response.json"), headers)
        self._error(404, f"{path} not found")


def _server_form(server: dict, version: tuple[int, int]) -> dict:
    """A generated server (2.47 admin form) as nova shows it at ``version``."""
    if version >= (2, 47):
        return server
    shown = dict(server)
    shown["flavor"] = {"id": "1", "links": []}
    return shown


def main() -> None:
    """Serve a generated cloud until standard input closes (for bench/inventory.py)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10000)
    parser.add_argument("--hosts", type=int, default=500)
    args = parser.parse_args()
    api = OpenStackAPI(Dataset.generated(args.servers, args.hosts)).start()
    print(json.dumps({"url": api.url}), flush=True)
    sys.stdin.read()
    api.stop()


if __name__ == "__main__":
    main()
