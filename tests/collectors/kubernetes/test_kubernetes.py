"""The Kubernetes collector against the documentation's node and metrics samples.

Expected numbers are the samples' own: kube-worker-1 has cpu "2", memory 2025188Ki
(allocatable 1922788Ki), pods "110"; metrics-server saw 487558164n cores and 732212Ki on it,
and 9559630n / 22244Ki for the scheduler pod. Pod requests are tests/apis/kubernetes.py's.
"""

from __future__ import annotations

import pytest

from collectors.kubernetes.collector import KubernetesCollector
from tests.apis.kubernetes import TOKEN, KubernetesAPI


def poll(api, **options):
    collector = KubernetesCollector("k8s", {"url": api.url, "token": TOKEN,
                                            "request_timeout": 5.0, **options})
    try:
        return collector.collect()
    finally:
        collector.close()


def by_tag(obs, measurement, tag):
    return {s.tags[tag]: s for s in obs.samples if s.measurement == measurement}


def test_nodes_namespaces_requests_and_usage():
    with KubernetesAPI(page_limit=1) as api:   # every list in pages of one
        obs = poll(api, departments={"kube-system": "政务云中心"},
                   department_label="ledger.gov/department")
        continued = [r for r in api.requests if "continue=" in r]
    assert obs.status == "ok", obs.error
    assert continued
    node = by_tag(obs, "k8s_node", "node")["kube-worker-1"].fields
    assert node["cpu_capacity_cores"] == 2 and node["pods_capacity"] == 110
    assert node["memory_capacity_bytes"] == 2025188 * 1024
    assert node["memory_allocatable_bytes"] == 1922788 * 1024
    assert node["cpu_usage_cores"] == pytest.approx(0.487558164)
    assert node["memory_usage_bytes"] == 732212 * 1024
    assert node["ready"] == 1 and node["pods"] == 2        # the finished job is not counted
    # portal-0: its init container (2 CPUs) outweighs its app containers (0.55).
    assert node["cpu_requests_cores"] == pytest.approx(2.1)
    assert node["gpu_requests"] == 1
    spaces = by_tag(obs, "k8s_namespace", "namespace")
    assert spaces["dsj-prod"].tags["department"] == "大数据局"       # from the label
    assert spaces["kube-system"].tags["department"] == "政务云中心"  # from the option
    assert spaces["kube-system"].fields["cpu_usage_cores"] == pytest.approx(0.00955963)
    assert spaces["dsj-prod"].fields["memory_requests_bytes"] == 576 * 1024 ** 2
    fact = next(f for f in obs.facts if f.kind == "node" and f.keys["hostname"] ==
                "kube-worker-1")
    assert fact.keys == {"hostname": "kube-worker-1", "mgmt_ip": "192.168.0.113",
                         "machine_uuid": "aa829ca9-73d7-064d-9019-df07404ad448"}
    assert (fact.attributes["architecture"], fact.attributes["kubelet_version"]) == \
        ("amd64", "v1.23.3")
    # The round-trip fixture's placeholder node is read without a crash.
    assert "nameValue" in by_tag(obs, "k8s_node", "node")
    namespaces = {f.keys["resource_id"]: f for f in obs.facts if f.kind == "namespace"}
    assert namespaces["k8s:dsj-prod"].attributes["department"] == "大数据局"


@pytest.mark.parametrize("path, fault, status, expected", [
    ("/api/v1/nodes", (500, b'{"kind": "Status", "code": 500}'), "error", "nodes: HTTP 500"),
    ("/api/v1/pods", (403, b'{"kind": "Status", "code": 403}'), "partial",
     "pods: HTTP 403: forbidden"),
    ("/apis/metrics.k8s.io/v1beta1/nodes", (404, b'{"kind": "Status", "code": 404}'),
     "partial", "metrics.k8s.io: HTTP 404"),
    ("/api/v1/namespaces", (200, b'{"kind": "NamespaceList", "items": [{"meta'), "partial",
     "namespaces:"),
    ("/api/v1/pods", (429, b'{"kind": "Status", "code": 429}'), "partial",
     "pods: HTTP 429: rate limited"),
])
def test_api_errors_give_a_status(path, fault, status, expected):
    with KubernetesAPI() as api:
        api.faults[path] = fault
        obs = poll(api)
    assert obs.status == status and expected in obs.error, obs.error
    if status == "partial":
        assert by_tag(obs, "k8s_node", "node")


def test_a_wrong_token_is_an_error_and_never_printed():
    with KubernetesAPI() as api:
        obs = poll(api, token="not-the-token")
    assert obs.status == "error" and "HTTP 401" in obs.error
    assert "not-the-token" not in obs.error


def test_options_are_checked(monkeypatch):
    with pytest.raises(ValueError, match="url"):
        KubernetesCollector("k", {"url": "10.0.3.10:6443", "token": "x"})
    with pytest.raises(ValueError, match="K8S_TEST_MISSING"):
        KubernetesCollector("k", {"url": "https://127.0.0.1:6443",
                                  "token": "env:K8S_TEST_MISSING"})
    monkeypatch.setenv("K8S_TEST_TOKEN", TOKEN)
    with KubernetesAPI() as api:
        assert poll(api, token="env:K8S_TEST_TOKEN").status == "ok"
