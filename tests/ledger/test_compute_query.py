"""The compute ledger as set-based SQL (SQLite and PostgreSQL) gives the report of its
Python definition, on an estate where one server is seen by its BMC and its host agent, a
host agent runs inside a VM, accelerators and storage are reported, tags name data centers
by code and by name, and the census owns some assets and not others."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select, text

from collectors.base import Fact
from ledger import analyses, idle_query, migration_query
from ledger.census.tables import TABLES
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.snapshot import Scope
from ledger.compute import DIMENSIONS
from ledger.models import ObservedAsset, ReconcilePair, UtilizationDay
from ledger.observed import record_facts
from ledger.policy import IDLE_PRESETS, AnalysisPolicy
from ledger.reconcile import store
from tests.ledger.census.builders import filled_workbook
from tests.ledger.compute_reference import compute_ledger as reference
from tests.ledger.idle_reference import by_fingerprint, reference_idle
from tests.ledger.migration_reference import reference_evidence

UTC = dt.timezone.utc
GIB = 1024 ** 3
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
POLICY = AnalysisPolicy(timezone="Asia/Shanghai")
SERVER_UUID = "4c4c4544-0042-3510-8051-b7c04f4a3732"


def server_by_bmc():
    return Fact("server", {"serial_number": "21A8765432", "machine_uuid": SERVER_UUID},
                {"vendor": "Inspur", "model": "NF5280M6", "cpu_model":
                 "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz", "cpu_sockets": 2,
                 "cpu_cores": 56, "cpu_threads": 112, "memory_bytes": 512 * GIB,
                 "processors": [{"type": "GPU", "model": "NVIDIA A100-SXM4-80GB"},
                                {"type": "GPU", "model": "Unknown Accelerator X1"},
                                {"type": "GPU", "model": 9000}, "not a processor"]})


def server_by_agent():
    # The agent sees less (no sockets, less memory) and names the department by tag only.
    return Fact("host", {"machine_uuid": SERVER_UUID, "hostname": "video-01"},
                {"vendor": "Inspur", "model": "NF5280M6", "cpu_model": "",
                 "cpu_cores": 56, "memory_bytes": 500 * GIB})


def kunpeng():
    return Fact("host", {"machine_uuid": "9b1e3c1a-6d7b-4f1e-8a5e-0c3d2b1a0f9e",
                         "hostname": "kp-01"},
                {"vendor": "Huawei", "model": "TaiShan 200 (Model 2280)",
                 "cpu_model": "Kunpeng-920", "cpu_sockets": 2, "cpu_cores": 128,
                 "memory_bytes": 256 * GIB})


def agent_in_vm():
    return Fact("host", {"machine_uuid": "1e0a7c2e-0000-4000-8000-00000000abcd",
                         "hostname": "in-a-vm"},
                {"vendor": "QEMU", "model": "Standard PC (Q35 + ICH9, 2009)",
                 "cpu_model": "Hygon C86 7285 32-core Processor", "cpu_cores": 8,
                 "memory_bytes": 16 * GIB})


def hypervisor():
    return Fact("hypervisor", {"serial_number": "HV00000077", "hostname": "esxi-07"},
                {"vendor": "Dell Inc.", "model": "PowerEdge R740",
                 "cpu_model": "Mystery CPU 9000", "cpu_cores": 32, "cpu_threads": 64,
                 "memory_bytes": 384 * GIB})


def snmp_bmc():
    # An iBMC polled over SNMP: its profile answers for the machine (a physical host).
    return Fact("device", {"serial_number": "2102312FJD10KB000033"},
                {"vendor": "Huawei", "model": "TaiShan 200 (Model 2280)", "device_type": "server",
                 "profile": "huawei-ibmc", "hardware": True, "cpu_models": ["Kunpeng 920-5250"],
                 "cpu_cores": 96, "memory_bytes": 384 * GIB})


def snmp_linux():
    # net-snmp on some Linux: perhaps a virtual machine, never counted as hardware.
    return Fact("device", {"serial_number": "VMW-42-1a-2b"},
                {"vendor": "net-snmp", "device_type": "server", "profile": "linux",
                 "cpu_cores": 4, "memory_bytes": 8 * GIB})


def instance(uuid, vcpus, power="running", department=None):
    return Fact("instance", {"instance_uuid": uuid, "hostname": f"vm-{uuid[:4]}"},
                {"vcpus": vcpus, "memory_bytes": 2 * vcpus * GIB, "disk_bytes": 100 * GIB,
                 "power_state": power, **({"department": department} if department else {})})


def datastore(name, gib):
    return Fact("datastore", {"resource_id": f"ds:///vmfs/volumes/{name}/"},
                {"name": name, "capacity_bytes": gib * GIB})


@pytest.fixture
def estate(ledger, tmp_path):
    CensusService(ledger.engine, actor="test").apply(
        read_file(filled_workbook(tmp_path / "c.xlsx")))
    groups = [
        ("bmc-07", "redfish", [server_by_bmc()], {"department": "D001", "datacenter": "DC02"}),
        ("agent-video", "host", [server_by_agent()], {"department": "D001"}),
        ("agent-kp", "host", [kunpeng()],
         {"department": "D002", "datacenter": "公安局自建机房", "network": "NET01"}),
        ("agent-vm", "host", [agent_in_vm()], {"department": "D002"}),
        ("ibmc-kp-02", "snmp", [snmp_bmc()], {"department": "D002", "datacenter": "DC02"}),
        ("linux-01", "snmp", [snmp_linux()], {"department": "D002"}),
        ("vc-01", "vsphere", [hypervisor(),
                              instance("6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60", 8),  # VM01
                              instance("0a6e2d84-5d7e-4d0b-9c44-6f2a1b3c4d5e", 16,
                                       power="stopped"),
                              instance("7d3f9a10-2b4c-4e6d-8f00-112233445566", 4,
                                       department="D00201"),
                              datastore("ds-1", 2048)],
         {"department": "D001", "platform": "CP01", "datacenter": "DC01"}),
    ]
    with ledger.session() as session:
        for source, collector, facts, tags in groups:
            record_facts(session, source=source, collector=collector, facts=facts, tags=tags,
                         seen_at=NOW)
        session.commit()
    store.run(ledger.engine, POLICY.reconcile, now=NOW)
    with ledger.engine.connect() as conn:
        rows = {(r.source, r.kind): r for r in conn.execute(select(ObservedAsset))}
    days = [dt.date(2026, 11, d) for d in range(24, 31)]
    usage = [(rows[("bmc-07", "server")].id, 40.0), (rows[("agent-video", "host")].id, 20.0),
             (rows[("agent-kp", "host")].id, 10.0)]
    with ledger.engine.begin() as conn:
        conn.execute(UtilizationDay.__table__.insert(), [
            {"asset_id": asset, "day": day, "cpu_mean": cpu, "coverage": 1.0,
             "low_coverage": False, "demo": False} for asset, cpu in usage for day in days])
    return ledger


def _id(ledger, category, code):
    table = TABLES[category]
    with ledger.engine.connect() as conn:
        return conn.execute(select(table.c.id).where(table.c.code == code)).scalar_one()


def scopes(ledger):
    with ledger.engine.connect() as conn:
        return [Scope.everything(), Scope.for_department(conn, "D002"),
                Scope.for_department(conn, "D001")]


def test_the_query_gives_the_reference_report_for_every_grouping_and_scope(estate):
    for scope in scopes(estate):
        for by in DIMENSIONS:
            got = analyses.compute_ledger(estate.engine, POLICY, scope, by=by, now=NOW)
            want = reference(estate.engine, POLICY, scope, by=by, now=NOW)
            assert got == want, (scope.root, by)


def test_figures_of_the_estate(estate):
    report = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(), by="dc",
                                     now=NOW)
    totals = report["totals"]
    # The BMC and the agent are one server; the agent inside a VM is no hardware; the
    # iBMC seen over SNMP is a host, the Linux net-snmp agent is not.
    assert totals["hosts"] == 4
    assert totals["cores"] == 56 + 128 + 32 + 96
    assert totals["sockets"] == 2 + 2 + 1 + 1
    assert totals["memory_gib"] == 512 + 256 + 384 + 384      # the BMC speaks first
    assert totals["gpus"] == 3                      # a model that is no text is no FLOPS
    assert (totals["instances"], totals["instances_running"], totals["vcpus"]) == (3, 2, 28)
    assert totals["storage_bytes"] == 2048 * GIB
    assert totals["overcommit"] == round(28 / (112 + 128 + 64 + 96), 2)   # threads, else cores
    groups = {g["key"]: g for g in report["groups"]}
    # Every group carries every figure (0 where it has no such machine), as the totals do.
    assert all(set(g) - {"key"} == set(totals) - {"storage_bytes"} for g in report["groups"])
    # The server is declared in DC02 and tagged DC02; the Kunpeng names DC02 by its name.
    assert groups["DC02"]["hosts"] == 3 and groups["DC01"]["hosts"] == 1   # + the iBMC
    # Owners: the declared server belongs to D00201 whatever its tags say.
    by_department = {g["key"]: g for g in analyses.compute_ledger(
        estate.engine, POLICY, Scope.everything(), by="department", now=NOW)["groups"]}
    assert by_department["D00201"]["hosts"] == 1 and by_department["D002"]["hosts"] == 2
    assert report["unknown_cpu_models"] == [{"model": "Mystery CPU 9000", "hosts": 1,
                                             "cores": 32}]
    assert "Unknown Accelerator X1" in report["models_without_flops"]
    # A Kunpeng 920 without its model number has no figure (its models differ): listed.
    assert "Kunpeng-920" in report["models_without_flops"]
    assert "Kunpeng 920-5250" not in report["models_without_flops"]
    assert report["totals"]["fp64_tflops"] is not None
    assert [(c["arch"], c["vendor"], c["domestic"], c["hosts"], c["cores"])
            for c in report["composition"]] == [("aarch64", "Huawei Kunpeng", True, 2, 224),
                                                ("x86_64", "Intel", False, 1, 56)]
    assert report["domestic_share"] == round(224 / (224 + 56), 4)
    # Utilization weighs each host's mean CPU by its threads; the server's two rows pool.
    assert report["utilization"]["physical"] == round((30.0 * 112 + 10.0 * 128) / 240, 2)


def test_migration_evidence_is_counted_like_its_definition(estate):
    """The migration evidence (per system, network and data center) counted by the database
    equals the definition's, now and after the BMC's server is long gone."""
    gone_after = dt.timedelta(seconds=POLICY.reconcile.missing_after)
    for at in (NOW, NOW + gone_after + dt.timedelta(hours=1)):
        with estate.engine.connect() as conn:
            got = migration_query.evidence(conn, now=at, gone_after=gone_after,
                                           since=analyses.today(POLICY, at) -
                                           dt.timedelta(days=7))
        assert got == reference_evidence(estate.engine, POLICY, at)
    with estate.engine.connect() as conn:
        now = migration_query.evidence(conn, now=NOW, gone_after=gone_after,
                                       since=dt.date(2026, 11, 24))
    assert now.networks == {"NET01": (1, 1, 0.0)}
    # DEV02 (declared in DC02) is the server; the Kunpeng names DC02 by name, the BMC by code.
    assert now.dc_devices == {"DC02": 3, "DC01": 4}   # with the iBMC
    assert now.centers[_id(estate, "data_center", "DC02")] == (1, 1)
    # Reconciliation holds the Kunpeng host suspect (its agent stopped reporting it): it no
    # longer answers in DC02 or in its network, though not yet gone.
    with estate.engine.begin() as conn:
        kunpeng = conn.execute(select(ObservedAsset.id).where(
            ObservedAsset.source == "agent-kp")).scalar_one()
        pairs = ReconcilePair.__table__
        assert conn.execute(pairs.update().where(pairs.c.observed_asset_id == kunpeng)
                            .values(outcome="suspect")).rowcount == 1
    with estate.engine.connect() as conn:
        silent = migration_query.evidence(conn, now=NOW, gone_after=gone_after,
                                          since=dt.date(2026, 11, 24))
    assert silent == reference_evidence(estate.engine, POLICY, NOW)
    assert silent.dc_devices == {"DC02": 2, "DC01": 4}
    assert silent.networks == {"NET01": (1, 0, 0.0)}


def test_idle_findings_are_found_like_their_definition(estate):
    """Idle, oversized and declared-idle findings and the summary from the database equal
    the definition's, under the default and under AWS- and Azure-style policies."""
    with estate.engine.begin() as conn:   # an idle month for the VM01 instance, busy server
        vm = conn.execute(select(ObservedAsset.id).where(
            ObservedAsset.instance_uuid == "6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60")).scalar_one()
        days = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(30)]
        conn.execute(UtilizationDay.__table__.insert(), [
            {"asset_id": vm, "day": day, "cpu_mean": 0.5, "cpu_p95": 1.0 + n % 3,
             "cpu_max": 4.0, "memory_p95": 12.0, "net_in_mean": 100.0, "net_out_mean": 80.0,
             "net_in_p95": 900.0, "net_out_p95": 1200.0, "coverage": 0.5 if n == 3 else 1.0,
             "low_coverage": n == 3, "demo": False} for n, day in enumerate(days)])
    policies = [POLICY, AnalysisPolicy(timezone="Asia/Shanghai", idle={
        "default": IDLE_PRESETS["aws"], "instance": IDLE_PRESETS["azure"]}),
        # Kinds no entry names fall back to the government preset's 30 days.
        AnalysisPolicy(timezone="Asia/Shanghai", idle={"instance": IDLE_PRESETS["aws"]})]
    for policy in policies:
        with estate.engine.connect() as conn:
            found, summary = idle_query.analyse(conn, policy, analyses.today(policy, NOW))
        want_found, want_summary = reference_idle(estate.engine, policy, NOW)
        assert summary == want_summary
        assert by_fingerprint(found) == by_fingerprint(want_found)
    with estate.engine.connect() as conn:
        found, summary = idle_query.analyse(conn, POLICY, analyses.today(POLICY, NOW))
    kinds = {(f.kind, f.declared_code) for f in found}
    assert ("idle", "VM01") in kinds and ("oversized", "VM01") in kinds
    assert summary["idle"] >= 1 and summary["reclaimable_vcpus"] >= 7


def test_a_processor_list_that_is_no_list_names_no_accelerator(estate):
    """A row that reports a GPU count and a ``processors`` attribute that is no list (a
    count, as some inventories give it) has no accelerator models: the compute ledger
    counts its GPUs and never fails on it (the whole page would)."""
    with estate.session() as session:
        record_facts(session, source="bmc-odd", collector="redfish", seen_at=NOW,
                     tags={"department": "D001"},
                     facts=[Fact("server", {"serial_number": "ODD0000001"},
                                 {"cpu_cores": 8, "gpus": 4, "processors": 4})])
        session.commit()
    store.run(estate.engine, POLICY.reconcile, now=NOW)
    report = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(), by="dc",
                                     now=NOW)
    assert report["totals"]["gpus"] == 3 + 4


def test_idle_findings_survive_a_declared_asset_deleted_since_reconciliation(estate):
    """The census may delete a declared asset between a reconciliation and the idle
    analysis (``ledger idle`` runs on its own): the pair still names it, and an idle VM paired
    with it is then an idle finding without a declared asset, never a KeyError."""
    with estate.engine.begin() as conn:
        vm = conn.execute(select(ObservedAsset.id).where(
            ObservedAsset.instance_uuid == "6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60")).scalar_one()
        conn.execute(UtilizationDay.__table__.insert(), [
            {"asset_id": vm, "day": dt.date(2026, 11, 1) + dt.timedelta(days=n),
             "cpu_mean": 0.5, "cpu_p95": 1.0, "cpu_max": 4.0, "coverage": 1.0,
             "low_coverage": False, "demo": False} for n in range(30)])
    CensusService(estate.engine, actor="test").delete("cloud_resource", "VM01")
    summary = analyses.run_idle(estate.engine, POLICY, now=NOW)
    assert summary["idle"] >= 1


def test_a_fact_recorded_during_the_query_is_counted_as_the_definition_would(estate):
    """The scheduler records facts while the dashboard computes the ledger. The query reads
    the estate in several statements (the distinct host models it judges first, the
    entities later): on PostgreSQL each statement sees what was committed when it began, so
    a VM's host agent recorded in between is judged by nobody and counted as a physical
    server. The report must be that of one state of the estate, before or after."""
    import threading
    if estate.engine.dialect.name != "postgresql":
        pytest.skip("statement snapshots: PostgreSQL")
    before = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(), by="dc",
                                     now=NOW)
    blocker = estate.engine.connect()
    # Hold the query at its first read of the data-center code book (after the host models
    # were judged), while the agent of a new VM is recorded.
    blocker.execute(text(f"LOCK TABLE {TABLES['data_center'].name} IN ACCESS EXCLUSIVE MODE"))
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("report", analyses.compute_ledger(
        estate.engine, POLICY, Scope.everything(), by="dc", now=NOW)))
    worker.start()
    deadline = time.monotonic() + 30
    with estate.engine.connect() as watch:            # until the query waits for the lock
        while not watch.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                                ).scalar_one():
            assert time.monotonic() < deadline
            time.sleep(0.05)
            watch.rollback()
    with estate.session() as session:
        record_facts(session, source="agent-new-vm", collector="host", seen_at=NOW,
                     tags={"department": "D001"},
                     facts=[Fact("host", {"machine_uuid": "5e0a7c2e-0000-4000-8000-0000000000ff",
                                          "hostname": "new-vm"},
                                 {"vendor": "QEMU", "model": "Standard PC (i440FX + PIIX, 1996)",
                                  "cpu_model": "Hygon C86 7285 32-core Processor",
                                  "cpu_cores": 4, "memory_bytes": 8 * GIB})])
        session.commit()
    blocker.rollback()
    blocker.close()
    worker.join(30)
    after = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(), by="dc",
                                    now=NOW)
    assert before["totals"]["hosts"] == after["totals"]["hosts"] == 4   # a VM is no server
    assert out["report"]["totals"] == before["totals"]


def test_a_ledger_upgraded_to_entity_ids_counts_each_server_once(estate):
    """A ledger reconciled before migration 0013 has no ``entity_id`` yet: until the next
    (daily) reconciliation the set-based analyses take every row for an entity of its own,
    so a server its BMC and its agent both see is two servers, the agent's row outside the
    department that declared it. Upgrading must leave the report as its definition gives it."""
    from alembic import command
    from ledger.db import alembic_config, upgrade
    command.downgrade(alembic_config(estate.engine), "0012")
    upgrade(estate.engine)
    got = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(), by="department",
                                  now=NOW)
    want = reference(estate.engine, POLICY, Scope.everything(), by="department", now=NOW)
    # 3: the downgrade dropped the iBMC's hardware flag too (back with its next poll).
    assert got["totals"]["hosts"] == want["totals"]["hosts"] == 3
    assert got == want
