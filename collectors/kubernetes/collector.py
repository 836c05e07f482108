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

The wire client (``client.py``: lists as the API server's JSON, paged) is apart from the
mapping (``mapping.py``, pure functions tested on the documentation's samples); this module
only says what to read.
"""

from __future__ import annotations

import time

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Observation, Option,
                             OptionError, url_option)
from collectors.kubernetes import mapping
from collectors.kubernetes.client import CORE, METRICS, KubernetesClient, describe
from collectors.registry import register_collector
from collectors.secrets import resolve_option


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
        """The wire client; it is built on the first poll."""
        self.client = KubernetesClient(self.config, lambda: self.secret("token"))

    def close(self) -> None:
        """Close the client's connection pool."""
        self.client.close()

    def _department(self, namespace) -> str | None:
        return mapping.department(namespace, self.config["departments"],
                                  self.config["department_label"])

    def collect(self) -> Observation:
        """Read nodes, namespaces, pods and usage once."""
        stamp = time.time_ns()
        problems: list[str] = []
        try:
            nodes = self.client.list(CORE["nodes"])
        except Exception as exc:  # ApiException, urllib3 and config errors alike
            self.close()
            return Observation(status=STATUS_ERROR, error=f"nodes: {describe(exc)}")
        # A role without namespaces or pods still counts nodes.
        namespaces = self._read("namespaces", problems, CORE["namespaces"]) or []
        pods = self._read("pods", problems, CORE["pods"])
        node_used, pod_used = {}, {}
        if self.config["metrics"]:
            try:   # no metrics-server is common
                node_used = mapping.node_usage(self.client.list(METRICS["nodes"]))
                pod_used = mapping.pod_usage(self.client.list(METRICS["pods"]))
            except Exception as exc:  # noqa: BLE001 - reported in the poll's status
                problems.append(f"metrics.k8s.io: {describe(exc)}")
        obs = Observation()
        mapping.emit(obs, nodes, namespaces, pods, node_used, pod_used, self._department,
                     stamp)
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems)
        return obs

    def _read(self, label: str, problems: list[str], path: str) -> list[dict] | None:
        try:
            return self.client.list(path)
        except Exception as exc:  # noqa: BLE001 - reported in the poll's status
            problems.append(f"{label}: {describe(exc)}")
            return None
