"""The report builders on a realistic ledger (SQLite and PostgreSQL), and as pure functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.census.snapshot import Scope
from ledger.reports import ReportError, build, month_range, previous_month
from ledger.reports.utilization import UtilizationInputs, months, report
from ledger.reconcile.entities import build as entities_of
from tests.ledger.reconcile.rows import observed
from tests.ledger.reports.estate import NOW, POLICY, build_estate


@pytest.fixture
def estate(ledger, tmp_path):
    build_estate(ledger, tmp_path)
    return ledger


def scope_of(ledger, code):
    with ledger.engine.connect() as conn:
        return Scope.for_department(conn, code)


def by(rows, *keys):
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def test_utilization_by_department_system_and_month(estate):
    result = build(estate.engine, POLICY, "utilization", Scope.everything(), month="2026-11",
                   now=NOW)
    assert result.period == "2026-11"
    systems = by(result.section("by_system").rows, "department", "system")
    web_db = systems[("D001", "IS01")]
    # VM-WEB 8 vCPU at 1 %, VM-DB 16 vCPU at 10 %; memory 16 GiB at 10 %, 64 GiB at 60 %.
    assert (web_db["resources"], web_db["vcpu_allocated"], web_db["vcpu_used"]) == (2, 24, 1.68)
    assert (web_db["memory_allocated_gib"], web_db["memory_used_gib"]) == (80.0, 40.0)
    assert web_db["cpu_utilization"] == 0.07 and web_db["memory_utilization"] == 0.5
    # VM-WEB (8 of the 24 vCPU) was idle every day of November.
    assert web_db["idle_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert web_db["investment"] == Decimal("3000000")
    assert web_db["idle_investment"] == Decimal("1000000.00")
    archive = systems[("D00101", "IS02")]
    assert archive["idle_share"] == 1.0 and archive["idle_investment"] == Decimal("800000.00")
    # The undeclared Kunpeng host is capacity, not allocation: it is left out.
    police = {k: v for k, v in systems.items() if k[0] == "D002"}
    assert set(police) == {("D002", "IS03")}
    assert police[("D002", "IS03")]["vcpu_allocated"] == 12     # observed beats declared 8
    total = result.section("by_system").totals
    assert total["resources"] == 4 and total["vcpu_allocated"] == 24 + 4 + 12
    assert total["investment"] == Decimal("9600000")
    departments = by(result.section("by_department").rows, "department")
    assert departments["D002"]["vcpu_used"] == pytest.approx(12 * 0.4)


def test_utilization_counts_only_instances_like_the_compute_ledger(estate):
    """Hosts, switches and UPS with summaries add no allocated vCPU; the report's vCPU per
    department agree with the compute ledger's."""
    from collectors.base import Fact
    from ledger import analyses
    from ledger.models import UtilizationDay
    from ledger.observed import record_facts
    from tests.ledger.reports.estate import NOVEMBER, day_row

    with estate.session() as session:
        for name in ("sw-core-01", "ups-01"):
            record_facts(session, source=name, collector="snmp", seen_at=NOW,
                         tags={"department": "D002"},
                         facts=[Fact("device", {"serial_number": name.upper()},
                                     {"sys_name": name, "vendor": "Huawei"})])
        record_facts(session, source="bmc-01", collector="redfish", seen_at=NOW,
                     tags={"department": "D002"},
                     facts=[Fact("server", {"serial_number": "BMC0001"},
                                 {"cpu_threads": 128, "cpu_cores": 64,
                                  "memory_bytes": 512 * 1024 ** 3})])
        session.commit()
    from sqlalchemy import select

    from ledger.models import ObservedAsset
    with estate.engine.begin() as conn:
        ids = conn.execute(select(ObservedAsset.id).where(
            ObservedAsset.source.in_(["sw-core-01", "ups-01", "bmc-01"]))).scalars().all()
        assert len(ids) == 3
        conn.execute(UtilizationDay.__table__.insert(),
                     [day_row(i, day, 30.0, 30.0) for i in ids for day in NOVEMBER])
    result = build(estate.engine, POLICY, "utilization", Scope.everything(), month="2026-11",
                   now=NOW)
    departments = by(result.section("by_department").rows, "department")
    ledger = analyses.compute_ledger(estate.engine, POLICY, Scope.everything(),
                                     by="department", now=NOW)
    groups = {g["key"]: g for g in ledger["groups"]}
    assert departments["D002"]["resources"] == 1                # VM-POL only
    assert departments["D002"]["vcpu_allocated"] == groups["D002"]["vcpus"] == 12
    assert departments["D001"]["vcpu_allocated"] == 24          # VM-ROGUE has no summaries


def test_utilization_months_and_scope(estate):
    result = build(estate.engine, POLICY, "utilization", scope_of(estate, "D001"), now=NOW)
    assert result.period == "2025-12-01 – 2026-11-30" and result.scope == "D001"
    assert result.scope_name == "大数据中心"
    rows = result.section("by_system").rows
    assert {r["department"] for r in rows} == {"D001", "D00101"}      # never D002
    month = by(result.section("by_month").rows, "month")
    assert set(month) == {"2026-10", "2026-11"}
    # In October only VM-ARC (4 of 28 vCPU) idled; in November VM-WEB too.
    assert month["2026-10"]["idle_share"] == pytest.approx(4 / 28, abs=1e-4)
    assert month["2026-11"]["idle_share"] == pytest.approx(12 / 28, abs=1e-4)
    assert result.section("by_system").totals is None       # totals of one month only
    empty = build(estate.engine, POLICY, "utilization", scope_of(estate, "D001"),
                  month="2025-01", now=NOW)
    assert empty.section("by_system").rows == []


def test_idle_list_with_rightsizing_and_reclaimable(estate):
    result = build(estate.engine, POLICY, "idle", Scope.everything(), now=NOW)
    items = result.section("items").rows
    idle = by([r for r in items if r["kind"] == "idle"], "code")
    assert set(idle) == {"IS02", "VM-WEB", "VM-ARC"}
    assert items[0]["code"] == "IS02"                     # largest investment first
    web = idle["VM-WEB"]
    assert (web["amount"], web["idle_days"], web["approving_department"]) == (
        Decimal("24000.00"), "30/30", "自治区发改委")
    assert (web["reclaimable_vcpus"], web["reclaimable_memory_gib"]) == (8, 16.0)
    oversized = by([r for r in items if r["kind"] == "oversized"], "code")
    db = oversized["VM-DB"]
    assert (db["vcpus"], db["recommended_vcpus"], db["reclaimable_vcpus"]) == (16, 4, 12)
    assert oversized["VM-WEB"]["reclaimable_vcpus"] is None    # counted once, as idle
    totals = result.section("summary").totals
    assert totals["amount"] == Decimal("824000.00")
    assert totals["reclaimable_vcpus"] == 8 + 4 + 12 + 0
    police = build(estate.engine, POLICY, "idle", scope_of(estate, "D002"), now=NOW)
    assert {r["code"] for r in police.section("items").rows} == {"VM-POL"}
    assert [r["department"] for r in police.section("summary").rows] == ["D002"]
    # The command line's summary line is this report's totals, for its scope too.
    from ledger import findings
    from ledger.reports.idle import summary
    for scope, report_ in ((Scope.everything(), result), (scope_of(estate, "D002"), police)):
        with estate.engine.connect() as conn:
            items = findings.listing(conn, scope, kind="idle") + \
                findings.listing(conn, scope, kind="oversized")
        counted, totals = summary(items), report_.section("summary").totals
        assert counted["reclaimable_vcpus"] == totals["reclaimable_vcpus"]
        assert counted["reclaimable_memory_gib"] == totals["reclaimable_memory_gib"]
        assert Decimal(counted["idle_investment_fen"]) / 100 == totals["amount"]


def test_findings_census_against_observed(estate):
    result = build(estate.engine, POLICY, "findings", Scope.everything(), now=NOW)
    rows = result.section("items").rows
    kinds = sorted((r["kind"], r["code"] or r["source"]) for r in rows)
    assert kinds == [("mismatch", "VM-POL"), ("missing", "DEV-GHOST"),
                     ("undeclared", "host-kp"), ("undeclared", "vc-01")]
    mismatch = by(rows, "kind")["mismatch"]
    assert (mismatch["field"], mismatch["declared_value"], mismatch["observed_value"]) == (
        "vcpu", "8", "12")
    counts = result.section("counts")
    assert counts.totals["open"] == 4
    scoped = build(estate.engine, POLICY, "findings", scope_of(estate, "D00101"), now=NOW)
    assert scoped.section("items").rows == [] and scoped.section("counts").totals is None


def test_compute_summary(estate):
    result = build(estate.engine, POLICY, "compute", Scope.everything(), now=NOW)
    totals = {r["metric"]: r["value"] for r in result.section("totals").rows}
    assert (totals["hosts"], totals["cores"], totals["instances"], totals["vcpus"]) == (
        1, 64, 5, 8 + 16 + 4 + 12 + 2)
    assert totals["domestic_share"] == 1.0
    groups = by(result.section("groups").rows, "key")
    assert groups["D002"]["cores"] == 64 and groups["D001"]["vcpus"] == 26
    assert [c["vendor"] for c in result.section("composition").rows] == ["Huawei Kunpeng"]
    scoped = build(estate.engine, POLICY, "compute", scope_of(estate, "D001"), now=NOW)
    assert [g["key"] for g in scoped.section("groups").rows] == ["D001", "D00101"]


def test_months_and_bad_input():
    assert months(dt.date(2026, 10, 15), dt.date(2026, 12, 2)) == [
        ("2026-10", dt.date(2026, 10, 15), dt.date(2026, 10, 31)),
        ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 2))]
    assert month_range("2024-02", dt.date(2026, 1, 1))[:2] == (dt.date(2024, 2, 1),
                                                               dt.date(2024, 2, 29))
    assert previous_month(dt.date(2026, 1, 10)) == "2025-12"
    for bad in ("2026-13", "2026/11", "11-2026"):
        with pytest.raises(ReportError) as caught:
            month_range(bad, dt.date(2026, 1, 1))
        assert "YYYY-MM" in caught.value.en and bad in caught.value.zh
    with pytest.raises(ReportError):
        build(None, POLICY, "payroll", Scope.everything())


def test_utilization_as_a_pure_function():
    """An instance with no declared twin and low-coverage days: only covered days count."""
    vm = observed("instance", collector="vsphere", department_id=7, vcpus=4,
                  memory_bytes=8 * 1024 ** 3)
    (entity,), _ = entities_of([vm])
    Day = type("Day", (), {})
    days = []
    for n, (cpu, low) in enumerate([(50.0, False), (10.0, False), (99.0, True)]):
        day = Day()
        day.__dict__.update(day=dt.date(2026, 11, n + 1), cpu_mean=cpu, cpu_p95=cpu,
                            cpu_max=cpu, memory_mean=25.0, memory_p95=25.0, memory_max=25.0,
                            net_in_mean=None, net_in_p95=None, net_out_mean=None,
                            net_out_p95=None, coverage=0.5 if low else 1.0, low_coverage=low)
        days.append(day)
    inputs = UtilizationInputs([entity], {vm.id: days}, {}, {}, {7: ("D7", "七局")},
                               dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    result = report(inputs, POLICY, Scope.everything(), scope_name=None, now=NOW)
    (row,) = result.section("by_system").rows
    assert (row["department"], row["system"], row["vcpu_used"]) == ("D7", None, 1.2)
    assert row["memory_used_gib"] == 2.0 and row["investment"] is None
    assert row["idle_share"] == 0.0                 # judged on 2 days, busy on both
    hidden = report(inputs, POLICY, Scope("D8", frozenset({8})), scope_name=None, now=NOW)
    assert hidden.section("by_system").rows == []


def test_kpi_money_is_yuan_text_everywhere(estate):
    """``idle_investment`` and the reclaimed rate's numerator and denominator share one unit
    (yuan as text): the idle money plus the reclaimed is the denominator."""
    from ledger import analyses

    kpi = analyses.kpis(estate.engine, POLICY, Scope.everything(), now=NOW)
    reclaimed, idle = kpi["idle_investment_reclaimed"], kpi["idle_investment"]
    assert reclaimed["unit"] == idle["unit"] == "CNY"
    assert Decimal(idle["value"]) > 0
    assert Decimal(reclaimed["numerator"]) + Decimal(idle["value"]) == \
        Decimal(reclaimed["denominator"])
    assert reclaimed["value"] == round(float(Decimal(reclaimed["numerator"]) /
                                             Decimal(reclaimed["denominator"])), 4)


def test_set_based_utilization_equals_its_definition(estate):
    """The report from the database's sums equals the report of its Python definition, for
    the whole estate and a department, for a month and for twelve months, also after a
    server seen by its BMC and its agent (one entity) and a stopped VM join."""
    from collectors.base import Fact
    from ledger.models import ObservedAsset, UtilizationDay
    from ledger.observed import record_facts
    from ledger.reconcile import store
    from ledger.reports import department_names, month_range
    from ledger.reports.utilization import report_of
    from ledger.reports.utilization_query import build as set_based
    from sqlalchemy import select
    from tests.ledger.reports.estate import NOVEMBER, day_row
    from tests.ledger.reports.utilization_reference import utilization_inputs

    with estate.session() as session:
        record_facts(session, source="vc-02", collector="vsphere", seen_at=NOW,
                     tags={"department": "D00101"},
                     facts=[Fact("instance", {"instance_uuid":
                                              "3f0e8d1c-1111-4a2b-9c3d-5e6f70819203"},
                                 {"vcpus": 6, "power_state": "stopped"}),
                            Fact("hypervisor", {"serial_number": "ESX0001"},
                                 {"cpu_cores": 32})])
        record_facts(session, source="bmc-09", collector="redfish", seen_at=NOW,
                     tags={"department": "D002"},
                     facts=[Fact("server", {"serial_number": "ESX0001"}, {"cpu_cores": 32})])
        session.commit()
    store.run(estate.engine, POLICY.reconcile, now=NOW)
    with estate.engine.begin() as conn:
        ids = conn.execute(select(ObservedAsset.id).where(
            ObservedAsset.source.in_(["vc-02", "bmc-09"]))).scalars().all()
        conn.execute(UtilizationDay.__table__.insert(),
                     [day_row(i, day, 3.0, 40.0) for i in ids for day in NOVEMBER])
    today = NOW.date()
    for scope in (Scope.everything(), scope_of(estate, "D001"), scope_of(estate, "D002")):
        for month in ("2026-11", None):
            first, last, period = month_range(month, today)
            with estate.engine.connect() as conn:
                want = report(utilization_inputs(conn, POLICY, first, last), POLICY, scope,
                              scope_name=None, now=NOW, period=period)
                got = report_of(set_based(conn, POLICY, scope, first, last),
                                department_names(conn), first, last, POLICY, scope,
                                scope_name=None, now=NOW, period=period)
            assert [s.rows for s in got.sections] == [s.rows for s in want.sections]
            assert [s.totals for s in got.sections] == [s.totals for s in want.sections]
            assert got.sections[0].rows, (scope.root, month)
