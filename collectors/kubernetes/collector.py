"""Kubernetes collector: one cluster through the official Python client.

Reads nodes (capacity, allocatable, architecture, GPUs, readiness), namespaces, pods (their
containers' requests and limits, paged with ``limit``/``continue``) and metrics.k8s.io usage
of nodes and pods. Namespaces map to departments through the ``departments`` option or a
namespace label (``department_label``).

Measurements (tags; fields with units):

- ``k8s_node`` (``node``): ``cpu_capacity_cores``, ``cpu_allocatable_cores``,
  ``memory_capacity_bytes``, ``memory_allocatable_bytes``, ``pods_capacity``, ``gpus``,
  ``pods``, ``cpu_requests_cores``, ``cpu_limits_cores``, ``memory_requests_bytes``,
  ``memory_limits_bytes``, ``cpu_usage_cores``, ``memory_usage_bytes`` (metrics.k8s.io),
  ``ready``, ``schedulable``.
- ``k8s_namespace`` (``namespace``, ``department``): ``pods``, ``cpu_requests_cores``,
  ``cpu_limits_cores``, ``memory_requests_bytes``, ``memory_limits_bytes``, ``gpu_requests``,
  ``cpu_usage_cores``, ``memory_usage_bytes``.

Facts: ``node`` per node (keys ``hostname``, ``machine_uuid`` = the SMBIOS system UUID,
``mgmt_ip`` = InternalIP; attributes architecture, OS, kernel, kubelet and runtime versions,
CPU, memory, GPUs, roles) and ``namespace`` per namespace (key ``resource_id``; department).
Pods are counted, not recorded one by one: they come and go by the minute.
"""

from __future__ import annotations

import time
from decimal import Decimal

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Fact, Observation, Option,
                             OptionError, url_option)
from collectors.identity import clean_keys, drop_shared
from collectors.registry import register_collector
from collectors.secrets import resolve_option

#: Extended resources that are GPUs (device plugins of NVIDIA, AMD, Intel, Huawei Ascend).
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "huawei.com/Ascend910",
                 "huawei.com/Ascend310")
PAGE = 500


@register_collector
class KubernetesCollector(Collector):
    """Polls one cluster's API server."""

    kind = "kubernetes"
    description = "A Kubernetes cluster: nodes, namespaces, pod requests/limits, usage"
    options = (
        url_option("url", help="API server URL, e.g. https://10.0.3.10:6443 "
                               "(or use kubeconfig)"),
        Option("token", str, "env:K8S_TOKEN", secret=True,
               help="bearer token of a read-only service account: env:NAME, file:PATH "
                    "or a literal"),
        Option("kubeconfig", str, "", help="a kubeconfig file instead of url and token"),
        Option("context", str, "", help="kubeconfig context (default: current)"),
        Option("ca_file", str, "", help="CA bundle for the API server's certificate"),
        Option("verify_tls", bool, True, help="check the API server's certificate"),
        Option("request_timeout", float, 30.0, help="seconds per request"),
        Option("departments", dict, {}, help="namespace -> department"),
        Option("department_label", str, "", help="namespace label holding the department"),
        Option("metrics", bool, True, help="read metrics.k8s.io (metrics-server)"),
    )

    @classmethod
    def validate(cls, options) -> None:
        """Either a kubeconfig or an http(s) URL with a token that resolves."""
        if options["kubeconfig"]:
            return
        if not options["url"]:
            raise OptionError("url", "must be an https:// URL (or give kubeconfig)")
        resolve_option(options, "token")

    def setup(self) -> None:
        """The client is built on the first poll."""
        self._api = None

    def _client(self):
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
            configuration.api_key = {"authorization": self.secret("token")}
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

    def _list(self, call, **kwargs) -> list:
        """Every item of a list call, following ``continue`` tokens."""
        items, token = [], None
        while True:
            page = call(limit=PAGE, _continue=token, _request_timeout=self.config[
                "request_timeout"], **kwargs)
            items.extend(page.items or [])
            token = page.metadata._continue if page.metadata else None
            if not token:
                return items

    def collect(self) -> Observation:
        """Read nodes, namespaces, pods and usage once."""
        from kubernetes import client

        stamp = time.time_ns()
        problems: list[str] = []
        try:
            api = self._client()
            core = client.CoreV1Api(api)
            nodes = self._list(core.list_node)
        except Exception as exc:  # ApiException, urllib3 and config errors alike
            self.close()
            return Observation(status=STATUS_ERROR, error=f"nodes: {describe(exc)}")
        try:
            namespaces = self._list(core.list_namespace)
        except Exception as exc:  # noqa: BLE001 - a role without namespaces still counts
            problems.append(f"namespaces: {describe(exc)}")
            namespaces = []
        try:
            pods = self._list(core.list_pod_for_all_namespaces)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"pods: {describe(exc)}")
            pods = None
        node_usage, pod_usage = {}, {}
        if self.config["metrics"]:
            metrics = client.CustomObjectsApi(api)
            try:
                node_usage = {item["metadata"]["name"]: item.get("usage", {})
                              for item in self._metrics(metrics, "nodes")}
                for item in self._metrics(metrics, "pods"):
                    usage = pod_usage.setdefault(item["metadata"].get("namespace", ""),
                                                 {"cpu": Decimal(0), "memory": Decimal(0)})
                    for container in item.get("containers") or []:
                        for key in ("cpu", "memory"):
                            usage[key] += _quantity(container.get("usage", {}).get(key))
            except Exception as exc:  # noqa: BLE001 - no metrics-server is common
                problems.append(f"metrics.k8s.io: {describe(exc)}")
        obs = Observation()
        self._emit(obs, nodes, namespaces, pods, node_usage, pod_usage, stamp)
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems)
        return obs

    def _metrics(self, api, plural: str) -> list[dict]:
        items, token = [], None
        while True:
            page = api.list_cluster_custom_object(
                "metrics.k8s.io", "v1beta1", plural, limit=PAGE, _continue=token,
                _request_timeout=self.config["request_timeout"])
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ValueError(f"{plural}: not a {plural[:-1].title()}MetricsList")
            items.extend(i for i in page["items"] if isinstance(i, dict) and "metadata" in i)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def _department(self, namespace) -> str | None:
        name = namespace if isinstance(namespace, str) else namespace.metadata.name
        mapped = self.config["departments"].get(name)
        if mapped or isinstance(namespace, str) or not self.config["department_label"]:
            return mapped
        return (namespace.metadata.labels or {}).get(self.config["department_label"])

    def _emit(self, obs, nodes, namespaces, pods, node_usage, pod_usage, stamp) -> None:
        per_node: dict[str, dict[str, Decimal]] = {}
        per_namespace: dict[str, dict[str, Decimal]] = {}
        for pod in pods or []:
            phase = pod.status.phase if pod.status else None
            if phase in ("Succeeded", "Failed"):
                continue   # finished pods hold no resources
            totals = _pod_resources(pod)
            for key, row in ((pod.spec.node_name, per_node),
                             (pod.metadata.namespace, per_namespace)):
                if key:
                    target = row.setdefault(key, {})
                    for name, value in totals.items():
                        target[name] = target.get(name, Decimal(0)) + value
                    target["pods"] = target.get("pods", Decimal(0)) + 1
        for node in nodes:
            name = node.metadata.name
            status = node.status
            capacity, allocatable = status.capacity or {}, status.allocatable or {}
            conditions = {c.type: c.status for c in status.conditions or []}
            used = node_usage.get(name, {})
            load = per_node.get(name, {})
            gpus = sum(_quantity(capacity.get(g)) for g in GPU_RESOURCES)
            fields = {
                "cpu_capacity_cores": _quantity(capacity.get("cpu")),
                "cpu_allocatable_cores": _quantity(allocatable.get("cpu")),
                "memory_capacity_bytes": _quantity(capacity.get("memory")),
                "memory_allocatable_bytes": _quantity(allocatable.get("memory")),
                "pods_capacity": _quantity(capacity.get("pods")), "gpus": gpus,
                "ready": conditions.get("Ready") == "True",
                "schedulable": not (node.spec and node.spec.unschedulable)}
            if pods is not None:
                fields.update({
                    "pods": load.get("pods", 0),
                    **{k: load.get(k, Decimal(0)) for k in _RESOURCE_FIELDS}})
            if used:
                fields["cpu_usage_cores"] = _quantity(used.get("cpu"))
                fields["memory_usage_bytes"] = _quantity(used.get("memory"))
            obs.add("k8s_node", {"node": name}, {k: float(v) if isinstance(v, Decimal) else v
                                                  for k, v in fields.items()}, stamp)
            obs.facts.append(_node_fact(node, fields))
        obs.facts = drop_shared(obs.facts, ["node"])   # cloned VMs share one SMBIOS UUID
        names = {ns.metadata.name: ns for ns in namespaces}
        for name in sorted(set(names) | set(per_namespace) | set(pod_usage)):
            department = self._department(names.get(name, name)) or ""
            load = per_namespace.get(name, {})
            fields = {"pods": load.get("pods", 0),
                      **{k: load.get(k, Decimal(0)) for k in _RESOURCE_FIELDS}}
            if name in pod_usage:
                fields["cpu_usage_cores"] = pod_usage[name]["cpu"]
                fields["memory_usage_bytes"] = pod_usage[name]["memory"]
            if pods is None:
                fields = {k: v for k, v in fields.items() if k.endswith("_usage_cores")
                          or k.endswith("_usage_bytes")}
            obs.add("k8s_namespace", {"namespace": name, "department": department},
                    {k: float(v) for k, v in fields.items()}, stamp)
            if name in names:
                ns = names[name]
                obs.facts.append(Fact("namespace", {"resource_id": f"k8s:{name}"}, {
                    k: v for k, v in {
                        "name": name, "department": department or None,
                        "phase": ns.status.phase if ns.status else None,
                        "uid": ns.metadata.uid,
                        "labels": dict(ns.metadata.labels or {})}.items() if v}))


_RESOURCE_FIELDS = ("cpu_requests_cores", "cpu_limits_cores", "memory_requests_bytes",
                    "memory_limits_bytes", "gpu_requests")


def _pod_resources(pod) -> dict[str, Decimal]:
    """A pod's effective requests and limits, as the scheduler counts them.

    The larger of the sum over app containers and the largest init container, plus the
    pod overhead (RuntimeClass).
    """
    def sums(containers):
        out = {k: Decimal(0) for k in _RESOURCE_FIELDS}
        for container in containers or []:
            res = container.resources
            requests = (res.requests if res else None) or {}
            limits = (res.limits if res else None) or {}
            out["cpu_requests_cores"] += _quantity(requests.get("cpu"))
            out["memory_requests_bytes"] += _quantity(requests.get("memory"))
            out["cpu_limits_cores"] += _quantity(limits.get("cpu"))
            out["memory_limits_bytes"] += _quantity(limits.get("memory"))
            out["gpu_requests"] += sum(_quantity(limits.get(g) or requests.get(g))
                                       for g in GPU_RESOURCES)
        return out

    app = sums(pod.spec.containers)
    for container in pod.spec.init_containers or []:
        single = sums([container])
        for key in app:
            app[key] = max(app[key], single[key])
    for key, value in (pod.spec.overhead or {}).items():
        if key == "cpu":
            app["cpu_requests_cores"] += _quantity(value)
        elif key == "memory":
            app["memory_requests_bytes"] += _quantity(value)
    return app


def _node_fact(node, fields) -> Fact:
    info = node.status.node_info
    addresses = {a.type: a.address for a in node.status.addresses or []}
    labels = node.metadata.labels or {}
    roles = sorted(k.split("/", 1)[1] for k in labels
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    keys, placeholders = clean_keys({
        "hostname": addresses.get("Hostname") or node.metadata.name,
        "machine_uuid": info.system_uuid if info else None,
        "mgmt_ip": addresses.get("InternalIP")})
    attributes = {
        "name": node.metadata.name, "uid": node.metadata.uid,
        "architecture": info.architecture if info else None,
        "os": info.os_image if info else None, "kernel": info.kernel_version if info else None,
        "kubelet_version": info.kubelet_version if info else None,
        "container_runtime": info.container_runtime_version if info else None,
        "machine_id": info.machine_id if info else None,
        "provider_id": node.spec.provider_id if node.spec else None,
        "cpus": float(fields["cpu_capacity_cores"]),
        "memory_bytes": float(fields["memory_capacity_bytes"]),
        "gpus": float(fields["gpus"]) or None, "roles": roles or None,
        "ready": fields["ready"], **placeholders}
    return Fact("node", keys,
                {k: v for k, v in attributes.items() if v not in (None, "", [])})


def _quantity(value) -> Decimal:
    """A Kubernetes quantity ("2", "487558164n", "1922788Ki") as a Decimal; 0 when absent."""
    from kubernetes.utils import parse_quantity

    if value in (None, ""):
        return Decimal(0)
    try:
        return parse_quantity(value)
    except ValueError:
        return Decimal(0)


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
