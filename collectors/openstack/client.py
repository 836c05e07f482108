"""The OpenStack wire client: keystone session, paged nova/cinder listings, placement.

Everything this module returns is plain JSON as the APIs answer it (nova's servers,
hypervisors and flavors, cinder's volumes and pools, placement's inventories and usages),
so :mod:`collectors.openstack.mapping` maps the same data the api-ref samples hold. SDK
resource objects are only read here, for the small lists, and turned back into their JSON
form; the two big listings (servers, volumes) are read as JSON pages through the SDK's own
keystoneauth adapters: building SDK objects costs ~5 ms per server (README, design notes).
"""

from __future__ import annotations

#: The newest response forms the mapping reads (older ones are read too).
SERVER_MICROVERSION = "2.100"
HYPERVISOR_MICROVERSION = "2.88"
VOLUME_MICROVERSION = "3.71"
#: What keystoneauth resends; 429 and 5xx are the usual transient answers of a busy cloud.
RETRIABLE = [429, 500, 502, 503, 504]


class OpenStackClient:
    """One keystone session to one cloud region, opened on first use."""

    def __init__(self, config, password: str) -> None:
        self.config = config
        self._password = password
        self._conn = None

    def connect(self):
        """The SDK connection, authorized (raises the SDK's or keystoneauth's errors)."""
        import openstack.connection

        if self._conn is None:
            cfg = self.config
            self._conn = openstack.connection.Connection(
                auth_url=cfg["auth_url"], username=cfg["username"], password=self._password,
                project_name=cfg["project_name"], user_domain_name=cfg["user_domain_name"],
                project_domain_name=cfg["project_domain_name"],
                region_name=cfg["region_name"] or None, interface=cfg["interface"],
                verify=cfg["verify_tls"], api_timeout=cfg["request_timeout"],
                connect_retries=cfg["retries"], status_code_retries=cfg["retries"],
                retriable_status_codes=RETRIABLE, app_name="infra-ledger")
        self._conn.authorize()
        return self._conn

    def close(self) -> None:
        """Drop the session (keystoneauth holds a connection pool)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - nothing left to release
                pass
            self._conn = None

    def hypervisors(self) -> list[dict]:
        """nova's hypervisor details, at the newest form up to 2.88."""
        return list(_pages(self._conn.compute, "/os-hypervisors/detail", "hypervisors",
                           HYPERVISOR_MICROVERSION))

    def providers(self) -> dict[str, dict]:
        """Placement resource providers by UUID: ``name``, ``inventories`` (by resource
        class: ``total``, ``reserved``, ``allocation_ratio``) and ``usages``."""
        conn, found = self._conn, {}
        for provider in conn.placement.resource_providers():
            inventories = {inv.resource_class: {"total": inv.total, "reserved": inv.reserved,
                                                "allocation_ratio": inv.allocation_ratio}
                           for inv in conn.placement.resource_provider_inventories(provider)}
            response = conn.placement.get(f"/resource_providers/{provider.id}/usages")
            found[provider.id] = {"name": provider.name, "inventories": inventories,
                                  "usages": _json(response).get("usages") or {}}
        return found

    def pools(self) -> list[dict]:
        """cinder's backend pools: ``name`` and ``capabilities``."""
        return [{"name": pool.name, "capabilities": pool.capabilities or {}}
                for pool in self._conn.block_storage.backend_pools()]

    def projects(self) -> dict[str, str]:
        """keystone project names by ID."""
        return {p.id: p.name for p in self._conn.identity.projects()}

    def flavors(self) -> dict[str, dict]:
        """nova flavors by ID, as the flavors API describes them."""
        return {f.id: {"id": f.id, "name": f.name, "vcpus": f.vcpus, "ram": f.ram,
                       "disk": f.disk, "extra_specs": f.extra_specs or {}}
                for f in self._conn.compute.flavors(details=True)}

    def servers(self) -> list[dict]:
        """Every server of every project, as JSON pages."""
        return list(_pages(self._conn.compute, "/servers/detail", "servers",
                           SERVER_MICROVERSION, {"all_tenants": "True"}))

    def volumes(self) -> list[dict]:
        """Every volume of every project, as JSON pages."""
        return list(_pages(self._conn.block_storage, "/volumes/detail", "volumes",
                           VOLUME_MICROVERSION, {"all_tenants": "True"}))


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
