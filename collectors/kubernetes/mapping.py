"""Kubernetes API objects to samples and facts: pure functions over the API's JSON.

Input is the JSON the API server answers (v1 Node, Namespace, Pod; metrics.k8s.io
NodeMetrics and PodMetrics), as :mod:`collectors.kubernetes.client` returns it and as the
documentation's samples in ``../shared/fixtures/cloud/kubernetes`` hold it, so every
function here is tested on those samples.
"""

from __future__ import annotations

from decimal import Decimal

from collectors.base import Fact, Observation
from collectors.identity import clean_keys, drop_shared

#: Extended resources that are GPUs (device plugins of NVIDIA, AMD, Intel, Huawei Ascend).
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "huawei.com/Ascend910",
                 "huawei.com/Ascend310")
RESOURCE_FIELDS = ("cpu_requests_cores", "cpu_limits_cores", "memory_requests_bytes",
                   "memory_limits_bytes", "gpu_requests")


def node_usage(metrics: list[dict]) -> dict[str, dict]:
    """NodeMetrics ``usage`` by node name."""
    return {item["metadata"].get("name"): item.get("usage") or {} for item in metrics}


def pod_usage(metrics: list[dict]) -> dict[str, dict[str, Decimal]]:
    """PodMetrics summed per namespace: ``cpu`` (cores) and ``memory`` (bytes)."""
    out: dict[str, dict[str, Decimal]] = {}
    for item in metrics:
        usage = out.setdefault(item["metadata"].get("namespace", ""),
                               {"cpu": Decimal(0), "memory": Decimal(0)})
        for container in item.get("containers") or []:
            for key in ("cpu", "memory"):
                usage[key] += quantity((container.get("usage") or {}).get(key))
    return out


def emit(obs: Observation, nodes: list[dict], namespaces: list[dict], pods: list[dict] | None,
         node_used: dict, pod_used: dict, departments, stamp: int) -> None:
    """``k8s_node`` and ``k8s_namespace`` samples and their facts.

    ``pods`` None means the pods could not be listed: requests and pod counts are then left
    out rather than reported as zero. ``departments`` maps a namespace object or name to
    its department (see :func:`department`)."""
    per_node, per_namespace = pod_totals(pods or [])
    for node in nodes:
        name = node["metadata"].get("name")
        fields = node_fields(node, per_node.get(name, {}) if pods is not None else None,
                             node_used.get(name, {}))
        obs.add("k8s_node", {"node": name}, {k: float(v) if isinstance(v, Decimal) else v
                                              for k, v in fields.items()}, stamp)
        obs.facts.append(node_fact(node, fields))
    obs.facts = drop_shared(obs.facts, ["node"])   # cloned VMs share one SMBIOS UUID
    names = {ns["metadata"].get("name"): ns for ns in namespaces}
    for name in sorted(set(names) | set(per_namespace) | set(pod_used)):
        dept = departments(names.get(name, name)) or ""
        load = per_namespace.get(name, {})
        fields = {"pods": load.get("pods", 0),
                  **{k: load.get(k, Decimal(0)) for k in RESOURCE_FIELDS}}
        if name in pod_used:
            fields["cpu_usage_cores"] = pod_used[name]["cpu"]
            fields["memory_usage_bytes"] = pod_used[name]["memory"]
        if pods is None:
            fields = {k: v for k, v in fields.items() if k.endswith("_usage_cores")
                      or k.endswith("_usage_bytes")}
        obs.add("k8s_namespace", {"namespace": name, "department": dept},
                {k: float(v) for k, v in fields.items()}, stamp)
        if name in names:
            obs.facts.append(namespace_fact(names[name], dept))


def department(namespace, mapping: dict[str, str], label: str) -> str | None:
    """A namespace's department: the ``departments`` option by name, else its label."""
    name = namespace if isinstance(namespace, str) else namespace["metadata"].get("name")
    mapped = mapping.get(name)
    if mapped or isinstance(namespace, str) or not label:
        return mapped
    return (namespace["metadata"].get("labels") or {}).get(label)


def pod_totals(pods: list[dict]) -> tuple[dict, dict]:
    """Requests, limits and pod counts of running pods, per node and per namespace."""
    per_node: dict[str, dict[str, Decimal]] = {}
    per_namespace: dict[str, dict[str, Decimal]] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue   # finished pods hold no resources
        totals = pod_resources(pod)
        for key, row in (((pod.get("spec") or {}).get("nodeName"), per_node),
                         (pod["metadata"].get("namespace"), per_namespace)):
            if key:
                target = row.setdefault(key, {})
                for name, value in totals.items():
                    target[name] = target.get(name, Decimal(0)) + value
                target["pods"] = target.get("pods", Decimal(0)) + 1
    return per_node, per_namespace


def pod_resources(pod: dict) -> dict[str, Decimal]:
    """A pod's effective requests and limits, as the scheduler counts them.

    The larger of the sum over app containers and the largest init container, plus the
    pod overhead (RuntimeClass).
    """
    def sums(containers):
        out = {k: Decimal(0) for k in RESOURCE_FIELDS}
        for container in containers or []:
            res = container.get("resources") or {}
            requests, limits = res.get("requests") or {}, res.get("limits") or {}
            out["cpu_requests_cores"] += quantity(requests.get("cpu"))
            out["memory_requests_bytes"] += quantity(requests.get("memory"))
            out["cpu_limits_cores"] += quantity(limits.get("cpu"))
            out["memory_limits_bytes"] += quantity(limits.get("memory"))
            out["gpu_requests"] += sum(quantity(limits.get(g) or requests.get(g))
                                       for g in GPU_RESOURCES)
        return out

    spec = pod.get("spec") or {}
    app = sums(spec.get("containers"))
    for container in spec.get("initContainers") or []:
        single = sums([container])
        for key in app:
            app[key] = max(app[key], single[key])
    for key, value in (spec.get("overhead") or {}).items():
        if key == "cpu":
            app["cpu_requests_cores"] += quantity(value)
        elif key == "memory":
            app["memory_requests_bytes"] += quantity(value)
    return app


def node_fields(node: dict, load: dict | None, used: dict) -> dict:
    """A node's capacity, readiness, what its pods request (when listed) and its usage."""
    status = node.get("status") or {}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    fields = {
        "cpu_capacity_cores": quantity(capacity.get("cpu")),
        "cpu_allocatable_cores": quantity(allocatable.get("cpu")),
        "memory_capacity_bytes": quantity(capacity.get("memory")),
        "memory_allocatable_bytes": quantity(allocatable.get("memory")),
        "pods_capacity": quantity(capacity.get("pods")),
        "gpus": sum(quantity(capacity.get(g)) for g in GPU_RESOURCES),
        "ready": conditions.get("Ready") == "True",
        "schedulable": not (node.get("spec") or {}).get("unschedulable")}
    if load is not None:
        fields.update({"pods": load.get("pods", 0),
                       **{k: load.get(k, Decimal(0)) for k in RESOURCE_FIELDS}})
    if used:
        fields["cpu_usage_cores"] = quantity(used.get("cpu"))
        fields["memory_usage_bytes"] = quantity(used.get("memory"))
    return fields


def node_fact(node: dict, fields: dict) -> Fact:
    """The ``node`` fact: host name, SMBIOS UUID, InternalIP; versions, CPU, memory, roles."""
    meta, status = node["metadata"], node.get("status") or {}
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    labels = meta.get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    keys, placeholders = clean_keys({
        "hostname": addresses.get("Hostname") or meta.get("name"),
        "machine_uuid": info.get("systemUUID"), "mgmt_ip": addresses.get("InternalIP")})
    attributes = {
        "name": meta.get("name"), "uid": meta.get("uid"),
        "architecture": info.get("architecture"), "os": info.get("osImage"),
        "kernel": info.get("kernelVersion"), "kubelet_version": info.get("kubeletVersion"),
        "container_runtime": info.get("containerRuntimeVersion"),
        "machine_id": info.get("machineID"),
        "provider_id": (node.get("spec") or {}).get("providerID"),
        "cpus": float(fields["cpu_capacity_cores"]),
        "memory_bytes": float(fields["memory_capacity_bytes"]),
        "gpus": float(fields["gpus"]) or None, "roles": roles or None,
        "ready": fields["ready"], **placeholders}
    return Fact("node", keys, {k: v for k, v in attributes.items() if v not in (None, "", [])})


def namespace_fact(namespace: dict, dept: str) -> Fact:
    """The ``namespace`` fact (key ``resource_id`` = ``k8s:<name>``)."""
    meta = namespace["metadata"]
    return Fact("namespace", {"resource_id": f"k8s:{meta.get('name')}"}, {
        k: v for k, v in {
            "name": meta.get("name"), "department": dept or None,
            "phase": (namespace.get("status") or {}).get("phase"), "uid": meta.get("uid"),
            "labels": dict(meta.get("labels") or {})}.items() if v})


def quantity(value) -> Decimal:
    """A Kubernetes quantity ("2", "487558164n", "1922788Ki") as a Decimal; 0 when absent."""
    from kubernetes.utils import parse_quantity

    if value in (None, ""):
        return Decimal(0)
    try:
        return parse_quantity(value)
    except ValueError:
        return Decimal(0)
