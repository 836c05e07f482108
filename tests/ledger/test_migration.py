"""Migration progress as a pure function: statuses from evidence, overdue, findings."""

from __future__ import annotations

import collections
import datetime as dt

from ledger.migration import MigrationInputs, progress
from tests.ledger.reconcile.rows import device, resource

TODAY = dt.date(2026, 12, 1)
System = collections.namedtuple("System", "id code name department_id migration_plan "
                                          "run_location migration_target_id migration_due "
                                          "migration_status")
Network = collections.namedtuple("Network", "id code name department_id integration_plan "
                                            "integration_status integration_due")
Center = collections.namedtuple("Center", "id code name department_id build_mode "
                                          "consolidation_status")


def run(systems=(), resources=(), devices=(), networks=(), centers=(), activity=None,
        network_devices=None, dc_devices=None):
    return progress(MigrationInputs(list(systems), list(resources), list(devices),
                                    list(networks), list(centers), activity or {},
                                    network_devices or {}, dc_devices or {}, {1: "CP01"},
                                    TODAY))


def test_system_statuses_follow_the_evidence():
    due = TODAY - dt.timedelta(days=5)
    systems = [System(i, f"IS{i}", "s", 1, "migrate", None, 1, due, "in_progress")
               for i in range(1, 6)]
    vm = {i: resource(f"VM{i}", information_system_id=i, platform_id=1) for i in range(2, 6)}
    old = {i: device(f"DEV{i}", information_system_id=i, device_type="server")
           for i in (3, 4, 5)}
    activity = {("cloud_resource", vm[i].id): "active" for i in vm}
    activity[("device", old[3].id)] = "active"
    activity[("device", old[4].id)] = "idle"
    activity[("device", old[5].id)] = "gone"
    result = run(systems, vm.values(), old.values(), activity=activity)
    statuses = {s["code"]: (s["status"], s["overdue"]) for s in result.systems}
    assert statuses == {"IS1": ("planned", True), "IS2": ("migrated", False),
                        "IS3": ("in_progress", True), "IS4": ("migrated", False),
                        "IS5": ("legacy_retired", False)}
    assert {f.declared_code for f in result.found} == {"IS1", "IS3"}
    assert result.found[0].details["days_overdue"] == 5
    assert result.rates()["cloud_migration_rate"] == 0.6


def test_a_system_declared_on_the_cloud_is_migrated_with_an_instance_missing():
    """Declared on the cloud and seen there: migrated, though one VM is missing and a
    device of the system is busy (only a ``migrate`` plan is in progress then)."""
    system = System(1, "IS1", "s", 1, "on_cloud", "gov_cloud", None, None, None)
    vms = [resource(f"VM{i}", information_system_id=1, platform_id=1) for i in range(4)]
    switch = device("DEV-CORE", information_system_id=1)
    activity = {("cloud_resource", vm.id): "active" for vm in vms[:3]}
    activity[("device", switch.id)] = "active"
    (item,) = run([system], vms, [switch], activity=activity).systems
    assert item["status"] == "migrated"
    assert (item["evidence"]["cloud_seen_on_target"], item["evidence"]["cloud_declared"]) == \
        (3, 4)
    assert item["evidence"]["legacy_active"] == 1
    busy_host = device("DEV-HOST", information_system_id=2, device_type="server")
    moving = System(2, "IS2", "s", 1, "migrate", None, 1, None, "in_progress")
    vm = resource("VM9", information_system_id=2, platform_id=1)
    activity = {("cloud_resource", vm.id): "active", ("device", busy_host.id): "active"}
    (item,) = run([moving], [vm], [busy_host], activity=activity).systems
    assert item["status"] == "in_progress"


def test_declared_done_without_evidence_and_wrong_platform():
    system = System(1, "IS1", "s", 1, "migrate", None, 1, None, "completed")
    elsewhere = resource("VM1", information_system_id=1, platform_id=2)
    result = run([system], [elsewhere], activity={("cloud_resource", elsewhere.id): "active"})
    (item,) = result.systems
    assert item["status"] == "planned" and item["declared_done_without_evidence"]
    assert item["evidence"]["cloud_seen"] == 1 and item["evidence"]["cloud_seen_on_target"] == 0


def test_networks_and_data_centers():
    late = Network(1, "NET1", "视频专网", 2, "interconnect", "in_progress",
                   TODAY - dt.timedelta(days=40))
    done = Network(2, "NET2", "社保专网", 2, "migrate", "completed", TODAY)
    kept = Network(3, "NET3", "应急专网", 2, "keep", None, None)
    closed = Center(1, "DC1", "旧机房", 2, "self_built", "closed")
    result = run(networks=[late, done, kept], centers=[closed],
                 network_devices={"NET2": [("active", 2e6), ("gone", None)]},
                 dc_devices={"DC1": 3})
    items = {n["code"]: n for n in result.networks}
    assert items["NET1"]["overdue"] and items["NET1"]["days_overdue"] == 40
    assert items["NET2"]["declared_done_but_active"]
    assert items["NET2"]["evidence"] == {"devices": 2, "devices_answering": 1,
                                         "traffic_bps": 2e6}
    assert not items["NET3"]["overdue"]
    assert {(f.kind, f.declared_code) for f in result.found} == {
        ("network_overdue", "NET1"), ("dc_still_active", "DC1")}
    assert result.rates()["network_integration_rate"] == 0.5
    assert result.by_department()[2]["networks_overdue"] == 1
