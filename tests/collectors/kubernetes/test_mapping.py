"""The Kubernetes mapping as pure functions on the documentation's samples, read in place.

kube-worker-1 (website/node-kube-worker-1.derived.json) has cpu "2", memory 2025188Ki,
allocatable 1922788Ki, pods "110"; the NodeMetrics sample saw 487558164n cores and 732212Ki,
the PodMetrics sample 9559630n / 22244Ki for the scheduler in kube-system. Pods come from
tests/apis/kubernetes.py (no Pod sample exists in the fixtures).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from collectors.base import Observation
from collectors.kubernetes import mapping
from tests.apis.kubernetes import NAMESPACES, PODS
from tests.conftest import SHARED

SAMPLES = SHARED / "fixtures" / "cloud" / "kubernetes"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def departments(namespace):
    return mapping.department(namespace, {"kube-system": "政务云中心"}, "ledger.gov/department")


def test_node_capacity_usage_and_fact_from_the_samples():
    node = sample("website/node-kube-worker-1.derived.json")
    usage = sample("website/nodemetrics-minikube.json")["usage"]
    fields = mapping.node_fields(node, None, usage)
    assert fields["cpu_capacity_cores"] == 2 and fields["pods_capacity"] == 110
    assert fields["memory_capacity_bytes"] == 2025188 * 1024
    assert fields["memory_allocatable_bytes"] == 1922788 * 1024
    assert fields["cpu_usage_cores"] == Decimal("0.487558164")
    assert fields["ready"] is True and "pods" not in fields     # pods not listed
    fact = mapping.node_fact(node, fields)
    assert fact.keys == {"hostname": "kube-worker-1", "mgmt_ip": "192.168.0.113",
                         "machine_uuid": "aa829ca9-73d7-064d-9019-df07404ad448"}
    assert (fact.attributes["architecture"], fact.attributes["kubelet_version"]) == \
        ("amd64", "v1.23.3")


def test_the_round_trip_node_with_placeholder_values_maps_without_a_crash():
    node = sample("testdata/core.v1.Node.json")
    fields = mapping.node_fields(node, {}, {})
    fact = mapping.node_fact(node, fields)
    assert fact.kind == "node" and fact.attributes["name"] == node["metadata"]["name"]


def test_pods_count_requests_as_the_scheduler_does():
    per_node, per_namespace = mapping.pod_totals(PODS)
    worker = per_node["kube-worker-1"]
    assert worker["pods"] == 2                      # the finished job is not counted
    # portal-0: its init container (2 CPUs) outweighs its app containers (0.55).
    assert worker["cpu_requests_cores"] == Decimal("2.1")
    assert worker["gpu_requests"] == 1
    assert per_namespace["dsj-prod"]["memory_requests_bytes"] == 576 * 1024 ** 2


def test_namespaces_get_departments_and_pod_usage():
    node = sample("website/node-kube-worker-1.derived.json")
    pod_used = mapping.pod_usage([sample("website/podmetrics-kube-scheduler-minikube.json")])
    obs = Observation()
    mapping.emit(obs, [node], NAMESPACES, PODS, {}, pod_used, departments, 7)
    spaces = {s.tags["namespace"]: s for s in obs.samples if s.measurement == "k8s_namespace"}
    assert spaces["dsj-prod"].tags["department"] == "大数据局"       # from the label
    assert spaces["kube-system"].tags["department"] == "政务云中心"  # from the option
    assert spaces["kube-system"].fields["cpu_usage_cores"] == pytest.approx(0.00955963)
    assert spaces["kube-system"].fields["memory_usage_bytes"] == 22244 * 1024
    facts = {f.keys["resource_id"]: f for f in obs.facts if f.kind == "namespace"}
    assert facts["k8s:dsj-prod"].attributes["department"] == "大数据局"
    # Without the pod list, namespaces report usage only, never zero requests.
    bare = Observation()
    mapping.emit(bare, [node], NAMESPACES, None, {}, pod_used, departments, 7)
    system = next(s for s in bare.samples if s.tags.get("namespace") == "kube-system")
    assert set(system.fields) == {"cpu_usage_cores", "memory_usage_bytes"}
