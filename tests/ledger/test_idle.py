"""Idle detection and rightsizing as pure functions over daily summaries."""

from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal

from ledger.idle import IdleInputs, analyse, day_is_idle, judge, rightsize
from ledger.policy import IDLE_PRESETS, AnalysisPolicy, IdlePolicy, RightsizingPolicy
from ledger.reconcile.entities import build
from tests.ledger.reconcile.rows import device, observed, resource

TODAY = dt.date(2026, 12, 1)
GIB = 1024 ** 3
Day = collections.namedtuple("Day", "day cpu_mean cpu_p95 cpu_max memory_mean memory_p95 "
                                    "memory_max net_in_mean net_in_p95 net_out_mean "
                                    "net_out_p95 coverage low_coverage")


def days(n=30, *, cpu=1.0, memory=10.0, net=1000.0, coverage=1.0, start=1):
    return [Day(TODAY - dt.timedelta(days=i), cpu, cpu * 2, cpu * 3, memory, memory, memory,
                net, net, net, net, coverage, coverage < 0.8) for i in range(start, start + n)]


def entity(**values):
    (one,), _ = build([observed("instance", collector="vsphere", **values)])
    return one


def test_presets_judge_days_as_their_vendors_do():
    aws = IDLE_PRESETS["aws"]
    # 5 MB a day in and out: 1000 bit/s each way is 21.6 MB: not idle by network.
    assert day_is_idle(days(1, cpu=5.0)[0], aws) == (False, ["cpu_mean_max", "net_bytes_max"])
    assert day_is_idle(days(1, cpu=5.0, net=100.0)[0], aws)[0] is True
    azure = IDLE_PRESETS["azure"]
    assert day_is_idle(days(1, cpu=1.4)[0], azure)[0] is True      # p95 2.8 < 3
    assert day_is_idle(days(1, cpu=1.6)[0], azure)[0] is False
    assert day_is_idle(days(1, coverage=0.5)[0], azure) is None    # low coverage never counts


def test_a_threshold_without_its_metric_is_not_evaluated_but_cpu_must_be():
    policy = IDLE_PRESETS["government"]
    no_network = days(1)[0]._replace(net_in_mean=None, net_in_p95=None, net_out_mean=None,
                                     net_out_p95=None)
    assert day_is_idle(no_network, policy) == (True, ["cpu_p95_max", "memory_p95_max"])
    assert day_is_idle(no_network._replace(cpu_p95=None, cpu_mean=None), policy) is None


def test_k_of_n_days_and_minimum_data():
    policy = IdlePolicy("t", window_days=14, days_required=4, min_days=7, cpu_mean_max=10.0)
    vm = entity(vcpus=4, memory_bytes=8 * GIB)
    busy_then_quiet = days(4, cpu=2.0) + days(10, cpu=50.0, start=5)
    verdict = judge(vm, busy_then_quiet, policy, TODAY, RightsizingPolicy())
    assert (verdict.status, verdict.idle_days, verdict.judged_days) == ("idle", 4, 14)
    three = judge(vm, days(3, cpu=2.0) + days(11, cpu=50.0, start=4), policy, TODAY,
                  RightsizingPolicy())
    assert three.status == "active"
    short = judge(vm, days(6, cpu=2.0), policy, TODAY, RightsizingPolicy())
    assert short.status == "insufficient_data" and short.rightsizing is None
    holes = judge(vm, days(14, cpu=2.0, coverage=0.5), policy, TODAY, RightsizingPolicy())
    assert holes.status == "insufficient_data"
    # Days outside the window (and today, unfinished) are not counted.
    old = judge(vm, days(14, cpu=2.0, start=15), policy, TODAY, RightsizingPolicy())
    assert old.judged_days == 0


def test_rightsizing_from_peak_p95_with_floors():
    vm = entity(vcpus=16, memory_bytes=64 * GIB)
    sized = rightsize(vm, days(30, cpu=5.0, memory=35.0), TODAY, RightsizingPolicy())
    # p95 CPU 10% of 16 vCPU at a 60% target: 16 * 10 / 60 = 2.67 -> 3.
    assert (sized["recommended_vcpus"], sized["reclaimable_vcpus"]) == (3, 13)
    assert (sized["recommended_memory_gib"], sized["reclaimable_memory_gib"]) == (32, 32.0)
    tiny = rightsize(entity(vcpus=2, memory_bytes=GIB), days(30, cpu=0.1, memory=1.0), TODAY,
                     RightsizingPolicy(min_vcpus=1, min_memory_gib=1))
    assert (tiny["recommended_vcpus"], tiny["recommended_memory_gib"]) == (1, 1.0)
    assert rightsize(entity(), days(30), TODAY, RightsizingPolicy()) is None   # no vCPUs


def test_findings_carry_money_approving_department_and_systems():
    vm = observed("instance", collector="vsphere", instance_uuid="11111111-2222-4333-8444-"
                  "555555555555", vcpus=4, memory_bytes=8 * GIB)
    entities, _ = build([vm])
    system = collections.namedtuple("System", "id code name department_id usage_status "
                                              "total_investment approving_department")(
        7, "IS7", "系统", 1, "in_use", Decimal("500000"), "发改委")
    declared_vm = resource("VM7", instance_id=vm.instance_uuid, annual_cost=Decimal("12000.50"),
                           information_system_id=7)
    spare = device("DEV9", status="idle", purchase_price=Decimal("90000"))
    declared = {("cloud_resource", declared_vm.id): declared_vm, ("device", spare.id): spare,
                ("information_system", 7): system}
    inputs = IdleInputs(entities, {vm.id: days(30)}, {entities[0].id: ("cloud_resource",
                                                                      declared_vm.id)},
                        declared, TODAY)
    outcome = analyse(inputs, AnalysisPolicy())
    found = {f.fingerprint: f for f in outcome.found}
    vm_idle = found[f"idle|o:{entities[0].id}"]
    assert (vm_idle.amount_fen, vm_idle.declared_code, vm_idle.details["note"]) == (
        1_200_050, "VM7", "declared_in_use")
    assert vm_idle.details["approving_department"] == "发改委"
    assert found[f"idle|d:device:{spare.id}"].details["basis"] == "declared"
    assert found[f"idle|d:device:{spare.id}"].amount_fen == 9_000_000
    system_idle = found["idle|d:information_system:7"]
    assert (system_idle.amount_fen, system_idle.details["basis"]) == (50_000_000, "observed")
    assert outcome.summary()["idle_investment_fen"] == 1_200_050 + 9_000_000 + 50_000_000
