"""A local Kubernetes API server answering from the samples in ../shared/fixtures/cloud/kubernetes.

Nodes: the documentation's ``kube-worker-1`` and the API round-trip fixture (every field set
to placeholders), in a ``NodeList`` envelope. Metrics: the documentation's NodeMetrics and
PodMetrics samples (and the round-trip PodMetrics) in ``NodeMetricsList``/``PodMetricsList``
envelopes; the NodeMetrics sample was taken on a node named ``minikube``, so it is served
under the sample node's name to pair them. Lists are paged with ``limit``/``continue`` like
the API server.

No Namespace or Pod sample exists in the fixtures: ``NAMESPACES`` and ``PODS`` below are
written here in the v1 wire format, modelled on the scheduler pod the PodMetrics sample
measures (kubeadm's static pod requests ``cpu: 100m``) plus one workload with limits and a
GPU, and one finished pod that must not count.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import urllib.parse

from tests.conftest import SHARED

SAMPLES = SHARED / "fixtures" / "cloud" / "kubernetes"
TOKEN = "k8s-test-token"


def _load(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _container(name, requests=None, limits=None):
    return {"name": name, "image": f"registry.local/{name}:1",
            "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}


def _pod(name, namespace, node, phase, containers, init=None):
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
            "spec": {"nodeName": node, "containers": containers,
                     **({"initContainers": init} if init else {})},
            "status": {"phase": phase}}


NAMESPACES = [
    {"metadata": {"name": "kube-system", "uid": "ns-kube-system",
                  "labels": {"kubernetes.io/metadata.name": "kube-system"}},
     "status": {"phase": "Active"}},
    {"metadata": {"name": "dsj-prod", "uid": "ns-dsj-prod",
                  "labels": {"kubernetes.io/metadata.name": "dsj-prod",
                             "ledger.gov/department": "大数据局"}},
     "status": {"phase": "Active"}},
]
PODS = [
    _pod("kube-scheduler-minikube", "kube-system", "kube-worker-1", "Running",
         [_container("kube-scheduler", requests={"cpu": "100m"})]),
    _pod("portal-0", "dsj-prod", "kube-worker-1", "Running",
         [_container("web", requests={"cpu": "500m", "memory": "512Mi"},
                     limits={"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}),
          _container("sidecar", requests={"cpu": "50m", "memory": "64Mi"})],
         init=[_container("migrate", requests={"cpu": "2", "memory": "128Mi"})]),
    _pod("report-job-x7", "dsj-prod", "kube-worker-1", "Succeeded",
         [_container("job", requests={"cpu": "4", "memory": "8Gi"})]),
]


class KubernetesAPI:
    """The server: ``start()``, ``url``, ``stop()``; ``faults`` maps a path to
    ``(status, body bytes)``; ``page_limit`` caps every page."""

    def __init__(self, page_limit: int = 500) -> None:
        self.page_limit = page_limit
        self.faults: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        self._server = None

    def lists(self) -> dict[str, tuple[str, str, list]]:
        worker = _load("website/node-kube-worker-1.derived.json")
        node_metrics = _load("website/nodemetrics-minikube.json")
        node_metrics["metadata"]["name"] = worker["metadata"]["name"]
        return {
            "/api/v1/nodes": ("NodeList", "v1",
                              [worker, _load("testdata/core.v1.Node.json")]),
            "/api/v1/namespaces": ("NamespaceList", "v1", copy.deepcopy(NAMESPACES)),
            "/api/v1/pods": ("PodList", "v1", copy.deepcopy(PODS)),
            "/apis/metrics.k8s.io/v1beta1/nodes": ("NodeMetricsList", "metrics.k8s.io/v1beta1",
                                                   [node_metrics]),
            "/apis/metrics.k8s.io/v1beta1/pods": (
                "PodMetricsList", "metrics.k8s.io/v1beta1",
                [_load("website/podmetrics-kube-scheduler-minikube.json"),
                 _load("testdata/metrics.k8s.io.v1beta1.PodMetrics.json")]),
        }

    def start(self) -> "KubernetesAPI":
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                api.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"kind": "Status", "apiVersion": "v1",
                                            "status": "Failure", "message": "Unauthorized",
                                            "reason": "Unauthorized", "code": 401})
                if parts.path in api.faults:
                    return self._send(*api.faults[parts.path])
                found = api.lists().get(parts.path)
                if found is None:
                    return self._send(404, {"kind": "Status", "apiVersion": "v1",
                                            "status": "Failure", "reason": "NotFound",
                                            "message": "the server could not find the "
                                                       "requested resource", "code": 404})
                kind, version, items = found
                limit = min(int(query.get("limit", [api.page_limit])[0]), api.page_limit)
                start = int(query.get("continue", ["0"])[0] or 0)
                page = items[start:start + limit]
                metadata = {"resourceVersion": "4026"}
                if start + limit < len(items):
                    metadata["continue"] = str(start + limit)
                self._send(200, {"kind": kind, "apiVersion": version, "metadata": metadata,
                                 "items": page})

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
