"""The Kubernetes wire client: the official client's API client, lists as plain JSON.

Lists are read page by page (``limit``/``continue``) through the client's own ``call_api``
with ``response_type="object"``, so the answer is the API server's JSON as is: no model
objects are built (cheaper for clusters with thousands of pods) and
:mod:`collectors.kubernetes.mapping` maps the same JSON the documentation's samples hold.
Authentication, TLS, retries and ``ApiException`` are the client's.
"""

from __future__ import annotations

#: Objects per page of a list.
PAGE = 500
#: The lists read on every poll, by what they are called in errors.
CORE = {"nodes": "/api/v1/nodes", "namespaces": "/api/v1/namespaces",
        "pods": "/api/v1/pods"}
METRICS = {"nodes": "/apis/metrics.k8s.io/v1beta1/nodes",
           "pods": "/apis/metrics.k8s.io/v1beta1/pods"}


class KubernetesClient:
    """One API client for one cluster, built on first use."""

    def __init__(self, config, token) -> None:
        self.config = config
        self._token = token
        self._api = None

    def connect(self):
        """The official client's ApiClient, configured from the options."""
        from kubernetes import client, config

        if self._api is not None:
            return self._api
        if self.config["kubeconfig"]:
            configuration = client.Configuration()
            config.load_kube_config(config_file=self.config["kubeconfig"],
                                    context=self.config["context"] or None,
                                    client_configuration=configuration)
        else:
            configuration = client.Configuration()
            configuration.host = self.config["url"].rstrip("/")
            configuration.api_key = {"authorization": self._token()}
            configuration.api_key_prefix = {"authorization": "Bearer"}
            configuration.verify_ssl = self.config["verify_tls"]
            configuration.ssl_ca_cert = self.config["ca_file"] or None
        configuration.retries = 1
        self._api = client.ApiClient(configuration)
        return self._api

    def close(self) -> None:
        """Close the client's connection pool."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def list(self, path: str) -> list[dict]:
        """Every item of a list, following ``continue`` tokens; ValueError if not a list."""
        api = self.connect()
        items, token = [], None
        while True:
            query = [("limit", PAGE)] + ([("continue", token)] if token else [])
            page = api.call_api(path, "GET", query_params=query,
                                header_params={"Accept": "application/json"},
                                response_type="object", auth_settings=["BearerToken"],
                                _return_http_data_only=True, _preload_content=True,
                                _request_timeout=self.config["request_timeout"])
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ValueError(f"GET {path}: the answer is not a list")
            items.extend(i for i in page["items"] if isinstance(i, dict)
                         and isinstance(i.get("metadata"), dict))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items


def describe(exc: BaseException) -> str:
    """One line for an API error, a transport error or an unreadable answer."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        reason = getattr(exc, "reason", "") or ""
        hints = {401: "unauthorised (token)", 403: "forbidden (RBAC: get/list needed)",
                 404: "not found (API not served)", 429: "rate limited",
                 503: "service unavailable"}
        return f"HTTP {status}: {hints.get(status, reason)}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if len(text) > 240:
        text = text[:237] + "..."
    return f"{text} ({name})" if text else name
