"""Reconciliation and the analyses on a realistic estate, on SQLite and PostgreSQL.

Real collectors poll real agents through the scheduler's own code: snmpsim serving device
recordings from ../shared (a Huawei, an HPE Comware, a Cisco, a Ruijie and a ZTE switch, a
Hillstone firewall), govmomi's vCenter simulator and libvirt's test driver. A census
workbook (the product's template) declares some of those assets correctly, some wrongly and
some not at all, as departments do; every outcome must come out, each explained.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ledger import analyses, findings, idle_query, migration_query
from ledger.census.audit import verify
from ledger.estate import target_states
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.snapshot import Scope
from ledger.census.template import write_workbook
from ledger.compute import DIMENSIONS
from ledger.models import ObservedAsset, UtilizationDay
from ledger.policy import AnalysisPolicy, ReconcilePolicy
from ledger.reconcile import sql, store
from ledger.reconcile.engine import reconcile
from monitor.config import parse_settings
from monitor.scheduler import Monitor
from monitor.store import open_configured_store
from tests.apis.vcsim import VcSim
from tests.collectors.libvirt.test_libvirt import NODE
from tests.collectors.snmp.conftest import snmpsim_server  # noqa: F401 - a fixture
from tests.ledger.compute_reference import compute_ledger as reference_compute
from tests.ledger.idle_reference import by_fingerprint, reference_idle
from tests.ledger.migration_reference import reference_evidence

UTC = dt.timezone.utc
GIB = 1024 ** 3
ZONE = "Asia/Shanghai"
SWITCHES = {  # target -> (recording, department tag, extra tags)
    "sw-huawei": ("vrp_5720", "D001", {"datacenter": "DC01"}),
    "sw-hpe": ("comware", "D002", {"datacenter": "DC01"}),
    "sw-cisco": ("iosxe_c9300", "D001", {}),
    "sw-ruijie": ("ruijie", "D001", {"network": "NET01"}),
    "fw-hillstone": ("stoneos", "D001", {}),
    "sw-zte": ("zxr10_5950", "D001", {"datacenter": "DC02"}),
    "sw-lab": ("junos_mx5t-isis", "D404", {}),
}


@pytest.fixture(scope="module")
def vcenter():
    with VcSim() as sim:
        yield sim


def target_config(snmpsim, vcenter, *, zte_community="zxr10_5950"):
    targets = []
    for name, (recording, department, tags) in SWITCHES.items():
        community = zte_community if name == "sw-zte" else recording
        targets.append({"name": name, "kind": "snmp", "interval": 5 if name == "sw-zte"
                        else 3600, "timeout": 5 if name == "sw-zte" else 60,
                        "tags": {"department": department, **tags},
                        "options": {"host": "127.0.0.1", "port": snmpsim.port,
                                    "community": community, "retries": 1,
                                    # A busy CI machine answers slowly; the short one lets
                                    # the ZTE's failing poll end within its 10 s timeout.
                                    "request_timeout": 3 if name == "sw-zte" else 10}})
    targets.append({"name": "kvm-01", "kind": "libvirt", "interval": 3600,
                    "tags": {"department": "D001", "platform": "CP01", "datacenter": "DC01"},
                    "options": {"uri": f"test://{NODE}"}})
    targets.append({"name": "vc-01", "kind": "vsphere", "interval": 3600, "timeout": 60,
                    "tags": {"department": "D001", "platform": "CP01", "datacenter": "DC01"},
                    "options": {"url": vcenter.url, "username": "ledger", "password": "secret",
                                "verify_tls": False}})
    return targets


def poll(targets, ledger_url, data_dir, names=None):
    settings = parse_settings({"scheduler": {"jitter": 0}, "ledger": {"url": ledger_url},
                               "targets": targets}, "(test)", data_dir=str(data_dir))
    from ledger.db import Ledger
    ledger = Ledger(ledger_url)
    store_ = open_configured_store(settings)
    try:
        return Monitor(settings, ledger, store_).poll_once(names)
    finally:
        store_.close()
        ledger.close()


def observed(ledger, source, kind=None):
    with ledger.session() as session:
        query = select(ObservedAsset).where(ObservedAsset.source == source)
        if kind:
            query = query.where(ObservedAsset.kind == kind)
        return list(session.scalars(query.order_by(ObservedAsset.id)))


def census(ledger, tmp_path):
    """The census as departments filled it in, from what they believe their assets are."""
    ruijie = observed(ledger, "sw-ruijie")[0]
    hillstone = observed(ledger, "fw-hillstone")[0]
    zte = observed(ledger, "sw-zte")[0]
    vms = sorted(observed(ledger, "vc-01", "instance"), key=lambda a: a.attributes["name"])
    vm1, vm2 = vms[0], vms[1]
    today = dt.date.today()
    device = {"department": "D001", "status": "in_use", "data_center": "DC01"}
    data = {
        "region": [{"code": "150000", "name": "内蒙古自治区", "level": "province"}],
        "department": [{"code": "D001", "name": "大数据中心", "region": "150000"},
                       {"code": "D002", "name": "公安厅", "region": "150000"}],
        "data_center": [
            {"code": "DC01", "name": "政务云主节点", "department": "D001",
             "build_mode": "self_built", "consolidation_status": "in_use"},
            {"code": "DC02", "name": "公安自建机房", "department": "D002",
             "build_mode": "self_built", "consolidation_status": "closed"}],
        "cloud_platform": [{"code": "CP01", "name": "自治区政务云", "department": "D001",
                            "build_mode": "self_built", "data_center": "DC01"}],
        "dedicated_network": [{"code": "NET01", "name": "社保专网", "department": "D001",
                               "coverage": "provincial", "integration_plan": "migrate",
                               "integration_status": "completed",
                               "integration_due": today - dt.timedelta(days=30)}],
        "information_system": [
            {"code": "IS01", "name": "政务服务平台", "department": "D001",
             "network_type": "egov_extranet", "build_type": "existing", "usage_status": "in_use",
             "run_location": "self_built_dc", "migration_plan": "migrate",
             "migration_target": "CP01", "migration_due": today - dt.timedelta(days=10),
             "migration_status": "in_progress", "approving_department": "自治区发改委",
             "total_investment": Decimal("3000000")},
            {"code": "IS02", "name": "档案查询系统", "department": "D001",
             "network_type": "egov_extranet", "build_type": "existing", "usage_status": "in_use",
             "approving_department": "自治区财政厅", "total_investment": Decimal("800000")}],
        "device": [
            # Declared right: serial, vendor (in Chinese) and model as the device says.
            {**device, "code": "DEV-HW", "name": "核心交换机", "device_type": "switch",
             "vendor": "华为", "model": "S5720-56C-PWR-EI-AC",
             "serial_number": "2102359576DMHC000120", "purchase_price": Decimal("86000")},
            # Declared wrongly: another model, and owned by a department the target is not.
            {**device, "code": "DEV-HPE", "name": "汇聚交换机", "device_type": "switch",
             "vendor": "HPE", "model": "HP 5130-24G", "serial_number": "DM20F3400Z",
             "information_system": "IS01", "purchase_price": Decimal("450000")},
            # Found by MAC (no serial in the recording).
            {**device, "code": "DEV-RJ", "name": "接入交换机", "device_type": "switch",
             "vendor": "锐捷", "mac": ruijie.macs[0]},
            # Two declared devices each holding one of the firewall's MACs: a conflict.
            {**device, "code": "DEV-FW-A", "name": "边界防火墙A", "device_type": "firewall",
             "mac": hillstone.macs[0]},
            {**device, "code": "DEV-FW-B", "name": "边界防火墙B", "device_type": "firewall",
             "mac": hillstone.macs[1]},
            {**device, "code": "DEV-ZTE", "name": "机房交换机", "device_type": "switch",
             "mac": zte.macs[0], "data_center": "DC02"},
            # Declared, never seen.
            {**device, "code": "DEV-GHOST", "name": "备用服务器", "device_type": "server",
             "serial_number": "6CU1234XYZ", "vendor": "Inspur"},
            # Retired: not expected to answer.
            {**device, "code": "DEV-OLD", "name": "旧路由器", "device_type": "router",
             "status": "retired", "serial_number": "OLD0001"}],
        "cloud_resource": [
            {"code": "VM-WEB", "name": "档案查询-web", "department": "D001",
             "resource_type": "instance", "platform": "CP01", "information_system": "IS02",
             "instance_id": "5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11", "vcpu": 8,
             "memory_gib": 16.0, "status": "in_use", "annual_cost": Decimal("24000")},
            {"code": "VM-DB", "name": "档案查询-db", "department": "D001",
             "resource_type": "instance", "platform": "CP01",
             "instance_id": "9b2e6d4a-1c3f-4e5a-8b7c-0d9e8f7a6b54", "vcpu": 16,
             "memory_gib": 64.0, "status": "in_use"},
            {"code": "VC-VM1", "name": "政务服务-app", "department": "D001",
             "resource_type": "instance", "platform": "CP01", "information_system": "IS01",
             "instance_id": vm1.instance_uuid, "vcpu": vm1.vcpus + 2, "status": "in_use"},
            {"code": "VC-VM2", "name": "政务服务-db", "department": "D001",
             "resource_type": "instance", "platform": "CP01", "information_system": "IS01",
             "instance_id": vm2.instance_uuid, "vcpu": vm2.vcpus, "status": "in_use"}],
    }
    path = tmp_path / "普查表.xlsx"
    write_workbook(path, data)
    CensusService(ledger.engine, actor="数据专员").apply(read_file(path))
    return {"vm1": vm1, "vm2": vm2, "hillstone": hillstone}


@pytest.fixture
def estate(ledger, snmpsim_server, vcenter, tmp_path):  # noqa: F811
    targets = target_config(snmpsim_server, vcenter)
    polled = poll(targets, ledger.url, tmp_path / "data")
    assert {name: obs.status for name, obs in polled.items()} == {
        name: "ok" for name in polled}, {n: o.error for n, o in polled.items()}
    facts = census(ledger, tmp_path)
    return {"targets": targets, "facts": facts, "snmpsim": snmpsim_server, "vcenter": vcenter,
            "data": tmp_path / "data"}


def pairs(ledger, scope=None):
    with ledger.engine.connect() as conn:
        return store.all_pairs(conn, scope or Scope.everything())


def by_code(items):
    return {p["declared"]["code"]: p for p in items if p["declared"]}


def same_as_the_definition(ledger, policy: ReconcilePolicy,
                           now: dt.datetime | None = None) -> None:
    """The set-based SQL the ledger runs gives the pairs and findings of the Python
    definition on this estate."""
    now = now or dt.datetime.now(UTC)
    with ledger.engine.connect() as conn:
        expected = reconcile(store.load_inputs(conn, now), policy)
        got = sql.reconcile(conn, policy, now)
    assert (got.pairs, got.found, got.members) == (expected.pairs, expected.found,
                                                   expected.members)


def test_every_outcome_from_real_collectors(ledger, estate):
    result = store.run(ledger.engine, ReconcilePolicy())
    same_as_the_definition(ledger, ReconcilePolicy())
    found = pairs(ledger)
    declared = by_code(found)
    assert declared["DEV-HW"]["outcome"] == "matched"
    assert declared["DEV-HW"]["matched_by"] == "serial_number"
    assert declared["DEV-HW"]["observed"]["source"] == "sw-huawei"

    hpe = declared["DEV-HPE"]
    assert (hpe["outcome"], hpe["matched_by"]) == ("mismatch", "serial_number")
    differences = {d["field"]: d for d in hpe["differences"]}
    assert set(differences) == {"model", "department"}
    assert differences["model"]["declared"] == "HP 5130-24G"
    assert differences["model"]["observed"] == "HP 10508"
    assert differences["model"]["source"] == "sw-hpe" and differences["model"]["time"]
    assert (differences["department"]["declared"], differences["department"]["observed"]) == \
        ("D001", "D002")

    assert (declared["DEV-RJ"]["outcome"], declared["DEV-RJ"]["matched_by"]) == ("matched",
                                                                               "mac")
    for code in ("DEV-FW-A", "DEV-FW-B"):
        assert declared[code]["outcome"] == "conflict"
        assert declared[code]["observed"]["source"] == "fw-hillstone"
    assert declared["DEV-GHOST"]["outcome"] == "missing"
    assert declared["DEV-GHOST"]["last_seen"] is None
    assert "DEV-OLD" not in declared

    web, db = declared["VM-WEB"], declared["VM-DB"]
    assert (web["outcome"], web["matched_by"]) == ("matched", "instance_uuid")
    assert web["observed"]["source"] == "kvm-01"
    assert db["outcome"] == "mismatch" and db["differences"][0]["field"] == "status"
    assert (db["differences"][0]["declared"], db["differences"][0]["observed"]) == (
        "in_use", "stopped")
    vm1 = declared["VC-VM1"]
    assert vm1["outcome"] == "mismatch" and vm1["differences"] == [{
        "field": "vcpu", "declared": estate["facts"]["vm1"].vcpus + 2,
        "observed": estate["facts"]["vm1"].vcpus, "source": "vc-01",
        "time": vm1["differences"][0]["time"]}]
    assert declared["VC-VM2"]["outcome"] == "matched"

    undeclared = {p["observed"]["source"] for p in found if p["outcome"] == "undeclared"}
    assert {"sw-cisco", "sw-lab", "kvm-01", "vc-01"} <= undeclared   # + hosts and other VMs
    summary = result.summary
    assert summary["matched"] == 5 and summary["mismatch"] == 3 and summary["conflict"] == 2
    assert summary["missing"] == 1 and summary["suspect"] == 0
    assert summary["undeclared"] == sum(p["outcome"] == "undeclared" for p in found)

    active = {(f["kind"], f["declared"]["code"] if f["declared"] else f["observed"]["source"])
              for f in findings.listing(ledger.engine.connect(), Scope.everything())}
    assert ("unknown_department", "sw-lab") in active
    assert ("mismatch", "DEV-HPE") in active and ("missing", "DEV-GHOST") in active
    # The second run changes nothing; the change log holds every finding and verifies.
    again = store.run(ledger.engine, ReconcilePolicy())
    assert (again.pairs_written, again.findings.opened, again.findings.resolved) == (0, 0, 0)
    with ledger.engine.connect() as conn:
        assert verify(conn).problems == []

    # A department's data officer sees only its own pairs.
    with ledger.engine.connect() as conn:
        police = Scope.for_department(conn, "D002")
    assert [p["declared"]["code"] for p in pairs(ledger, police)] == []


def test_suspect_then_missing_after_being_seen(ledger, estate):
    store.run(ledger.engine, ReconcilePolicy())
    # The ZTE switch stops answering (its agent no longer knows our community).
    targets = target_config(estate["snmpsim"], estate["vcenter"], zte_community="wrong")
    # Polled as the scheduler would, until its polls have failed for three intervals.
    for _attempt in range(10):
        polled = poll(targets, ledger.url, estate["data"], ["sw-zte"])
        assert polled["sw-zte"].status in ("error", "timeout")
        with ledger.engine.connect() as conn:
            state = target_states(conn)["sw-zte"]
        if state.last_poll - state.last_success >= dt.timedelta(seconds=3 * 5):
            break
    later = dt.datetime.now(UTC) + dt.timedelta(seconds=60)
    store.run(ledger.engine, ReconcilePolicy(), now=later)
    same_as_the_definition(ledger, ReconcilePolicy(), later)
    zte = by_code(pairs(ledger))["DEV-ZTE"]
    assert (zte["outcome"], zte["matched_by"], zte["observed"]["source"]) == (
        "suspect", "mac", "sw-zte")
    much_later = dt.datetime.now(UTC) + dt.timedelta(days=8)
    store.run(ledger.engine, ReconcilePolicy(), now=much_later)
    same_as_the_definition(ledger, ReconcilePolicy(), much_later)
    gone = by_code(pairs(ledger))["DEV-ZTE"]
    assert gone["outcome"] == "missing" and gone["last_seen"] == zte["last_seen"]
    states = {(f["kind"], f["declared"]["code"]): f["state"] for f in findings.listing(
        ledger.engine.connect(), Scope.everything(), active_only=False)
        if f["declared"] and f["declared"]["code"] == "DEV-ZTE"}
    assert states == {("suspect", "DEV-ZTE"): "resolved", ("missing", "DEV-ZTE"): "open"}


def summaries(ledger, asset_ids, *, cpu, memory=20.0, net=50_000.0, days=30):
    today = dt.datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    rows = [{"asset_id": asset_id, "day": today - dt.timedelta(days=n), "cpu_mean": cpu,
             "cpu_p95": cpu * 1.5, "cpu_max": cpu * 2, "memory_mean": memory,
             "memory_p95": memory, "memory_max": memory, "net_in_mean": net,
             "net_in_p95": net, "net_in_max": net, "net_out_mean": net, "net_out_p95": net,
             "net_out_max": net, "disk_mean": None, "disk_p95": None, "disk_max": None,
             "coverage": 1.0, "low_coverage": False, "demo": False}
            for asset_id in asset_ids for n in range(1, days + 1)]
    with ledger.engine.begin() as conn:
        conn.execute(UtilizationDay.__table__.insert(), rows)


def test_idle_rightsizing_migration_compute_and_kpis(ledger, estate):
    policy = AnalysisPolicy(timezone=ZONE)
    store.run(ledger.engine, policy.reconcile)
    guests = {g.hostname: g for g in observed(ledger, "kvm-01", "instance")}
    hpe, ruijie = observed(ledger, "sw-hpe")[0], observed(ledger, "sw-ruijie")[0]
    summaries(ledger, [guests["gov-web-01"].id], cpu=1.0)     # quiet for a month
    summaries(ledger, [hpe.id], cpu=35.0, net=4e8)            # the legacy switch works hard
    summaries(ledger, [ruijie.id], cpu=20.0, net=1e6)         # the "migrated" network too
    summaries(ledger, [guests["gov-db-02"].id], cpu=10.0, memory=60.0)  # busy, oversized
    summary = analyses.run_idle(ledger.engine, policy)
    at = dt.datetime.now(UTC)
    with ledger.engine.connect() as conn:   # the set-based query and the definition agree
        found, counted = idle_query.analyse(conn, policy, analyses.today(policy, at))
    want_found, want_counted = reference_idle(ledger.engine, policy, at)
    assert counted == want_counted and by_fingerprint(found) == by_fingerprint(want_found)
    items = {(f["kind"], f["declared"]["code"] if f["declared"] else None): f
             for f in findings.listing(ledger.engine.connect(), Scope.everything())
             if f["kind"] in ("idle", "oversized")}
    idle_web = items[("idle", "VM-WEB")]
    assert idle_web["amount"] == "24000.00" and idle_web["details"]["basis"] == "observed"
    assert idle_web["details"]["note"] == "declared_in_use"
    assert idle_web["details"]["approving_department"] == "自治区财政厅"
    assert idle_web["details"]["idle_days"] == 30
    system = items[("idle", "IS02")]                     # its only resource is idle
    assert system["amount"] == "800000.00"
    assert system["details"]["basis"] == "observed"
    sized = items[("oversized", "VM-DB")]["details"]
    assert (sized["vcpus"], sized["recommended_vcpus"], sized["reclaimable_vcpus"]) == (16, 4, 12)
    assert (sized["memory_gib"], sized["recommended_memory_gib"]) == (64.0, 55)
    assert ("idle", "DEV-HPE") not in items
    assert summary["idle_investment_fen"] == 2_400_000 + 80_000_000

    progress = analyses.migration_progress(ledger.engine, policy, Scope.everything())
    at = dt.datetime.now(UTC)
    with ledger.engine.connect() as conn:   # the set-based counts and the definition agree
        assert migration_query.evidence(
            conn, now=at, gone_after=dt.timedelta(seconds=policy.reconcile.missing_after),
            since=analyses.today(policy, at) - dt.timedelta(days=7)) == \
            reference_evidence(ledger.engine, policy, at)
    systems = {s["code"]: s for s in progress["systems"]}
    assert systems["IS01"]["status"] == "in_progress" and systems["IS01"]["overdue"]
    assert systems["IS01"]["evidence"]["cloud_seen_on_target"] == 2
    assert systems["IS01"]["evidence"]["legacy_active"] == 1
    network = progress["networks"][0]
    assert network["declared_done_but_active"] and network["evidence"]["devices_answering"] == 1
    analyses.run_migration(ledger.engine, policy)
    kinds = {(f["kind"], f["declared"]["code"]) for f in findings.listing(
        ledger.engine.connect(), Scope.everything()) if f["kind"] in (
        "migration_overdue", "network_overdue", "dc_still_active")}
    assert kinds == {("migration_overdue", "IS01"), ("dc_still_active", "DC02")}

    ledger_ = analyses.compute_ledger(ledger.engine, policy, Scope.everything(), by="platform")
    at = dt.datetime.fromisoformat(ledger_["as_of"])
    for by in DIMENSIONS:   # the set-based query and the definition agree on real data
        assert analyses.compute_ledger(ledger.engine, policy, Scope.everything(), by=by,
                                       now=at) == \
            reference_compute(ledger.engine, policy, Scope.everything(), by=by, now=at)
    hypervisors = observed(ledger, "vc-01", "hypervisor") + observed(ledger, "kvm-01",
                                                                   "hypervisor")
    assert ledger_["totals"]["hosts"] == len(hypervisors)
    assert ledger_["totals"]["cores"] == sum(h.cpu_cores for h in hypervisors)
    guests = observed(ledger, "vc-01", "instance") + observed(ledger, "kvm-01", "instance")
    assert ledger_["totals"]["vcpus"] == sum(g.vcpus for g in guests)
    assert [g["key"] for g in ledger_["groups"]] == ["CP01"]
    assert {c["vendor"] for c in ledger_["composition"]} == {"Intel"}
    assert [u["model"] for u in ledger_["unknown_cpu_models"]] == ["x86_64"]   # libvirt's

    kpi = analyses.kpis(ledger.engine, policy, Scope.everything())
    assert kpi["cloud_migration_rate"]["value"] == 0.0 and kpi["cloud_migration_rate"]["met"] \
        is False
    assert kpi["ledger_accuracy"]["denominator"] == 9    # 10 declared, DEV-OLD retired
