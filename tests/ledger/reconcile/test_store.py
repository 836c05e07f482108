"""Reconciliation on the ledger (SQLite and PostgreSQL): idempotent runs, the findings'
lifecycle in the change log, department scope."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from collectors.base import Fact
from ledger import findings
from ledger.census.audit import verify
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.census.snapshot import Scope
from ledger.census.tables import audit_record
from ledger.models import Finding, ReconcilePair
from ledger.observed import record_facts
from ledger.policy import ReconcilePolicy
from ledger.reconcile import store
from tests.ledger.census.builders import filled_workbook

UTC = dt.timezone.utc
GIB = 1024 ** 3
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def switch(model="CE12808"):
    return Fact("device", {"serial_number": "2102351931DMK8000123", "mgmt_ip": "10.0.0.1",
                           "hostname": "core-sw-1"},
                {"vendor": "Huawei", "model": model, "device_type": "switch"})


def vm(vcpus=8):
    return Fact("instance", {"instance_uuid": "6f1c1c1e-8a7e-4b6b-9a0c-1b2c3d4e5f60",
                             "hostname": "web1"},
                {"vcpus": vcpus, "memory_bytes": 16 * GIB, "disk_bytes": 200 * GIB,
                 "department": "D001", "power_state": "running"})


def stranger():
    return Fact("host", {"machine_uuid": "1e0a7c2e-0000-4000-8000-00000000abcd",
                         "hostname": "shadow-it"}, {"memory_bytes": 8 * GIB})


@pytest.fixture
def estate(ledger, tmp_path):
    CensusService(ledger.engine, actor="test").apply(
        read_file(filled_workbook(tmp_path / "c.xlsx")))
    observe(ledger, switch(), vm(), stranger())
    return ledger


def observe(ledger, *facts, at=None):
    with ledger.session() as session:
        record_facts(session, source="core-sw-1", collector="snmp", facts=[facts[0]],
                     tags={"department": "D001", "datacenter": "DC01"}, seen_at=at or NOW)
        if len(facts) > 1:
            record_facts(session, source="zwy-vc", collector="vsphere", facts=facts[1:],
                         tags={"platform": "CP01"}, seen_at=at or NOW)
        session.commit()


def reconcile(ledger, **kwargs):
    return store.run(ledger.engine, ReconcilePolicy(), now=NOW, **kwargs)


def active(ledger):
    with ledger.engine.connect() as conn:
        return {(r.kind, r.declared_code, r.field, r.state) for r in conn.execute(
            select(Finding).where(Finding.active.is_(True)))}


def audit_count(ledger):
    with ledger.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(audit_record)).scalar_one()


def test_a_run_is_idempotent(estate):
    first = reconcile(estate)
    assert first.summary == {"matched": 2, "undeclared": 1, "missing": 1, "suspect": 0,
                             "mismatch": 0, "conflict": 0}
    assert active(estate) == {("undeclared", None, None, "open"),
                              ("missing", "DEV02", None, "open")}
    with estate.engine.connect() as conn:
        pairs_before = conn.execute(select(ReconcilePair).order_by(ReconcilePair.id)).all()
    records = audit_count(estate)
    second = reconcile(estate)
    assert second.summary == first.summary and second.pairs_written == 0
    assert (second.findings.opened, second.findings.resolved) == (0, 0)
    assert audit_count(estate) == records
    with estate.engine.connect() as conn:
        assert conn.execute(select(ReconcilePair).order_by(ReconcilePair.id)).all() == pairs_before
        assert conn.execute(select(func.count()).select_from(Finding)).scalar_one() == 2


def test_findings_clear_reopen_and_are_acknowledged_in_the_change_log(estate):
    reconcile(estate)
    observe(estate, switch("CE6881"), vm(vcpus=16))
    result = reconcile(estate)
    assert result.summary["mismatch"] == 2
    assert {(k, c, f) for k, c, f, _s in active(estate)} >= {
        ("mismatch", "DEV01", "model"), ("mismatch", "VM01", "vcpu")}
    observe(estate, switch(), vm(vcpus=16))                   # the model is put right
    reconcile(estate)
    with estate.engine.connect() as conn:
        fixed = conn.execute(select(Finding).where(Finding.field == "model")).one()
    assert (fixed.state, fixed.active, fixed.state_reason) == ("resolved", False,
                                                                "condition cleared")
    observe(estate, switch("CE6881"), vm(vcpus=16))           # and wrong again
    reconcile(estate)
    with estate.engine.connect() as conn:
        again = conn.execute(select(Finding).where(Finding.field == "model")).one()
    assert (again.id, again.state, again.active, again.reopened) == (fixed.id, "open", True, 1)
    assert again.first_seen == fixed.first_seen

    vcpu = next(f for f in findings.listing(estate.engine.connect(), Scope.everything())
                if f["field"] == "vcpu")
    findings.transition(estate.engine, vcpu["id"], "acknowledged", actor="张三",
                        reason="扩容已报批")
    with pytest.raises(findings.FindingError) as exc:
        findings.transition(estate.engine, vcpu["id"], "resolved", actor="张三", reason=" ")
    assert exc.value.reason == "reason_required"
    findings.transition(estate.engine, vcpu["id"], "resolved", actor="张三",
                        reason="台账已更正为 16 核")
    with estate.engine.connect() as conn:
        assert verify(conn).problems == []
        trail = conn.execute(select(audit_record.c.actor, audit_record.c.changes)
                             .where(audit_record.c.object_type == "finding",
                                    audit_record.c.object_key == f"mismatch|d:cloud_resource:"
                                    f"{_resource_id(conn)}|vcpu")
                             .order_by(audit_record.c.seq)).all()
    assert [(a, c["state"]) for a, c in trail] == [
        (findings.SYSTEM_ACTOR, [None, "open"]), ("张三", ["open", "acknowledged"]),
        ("张三", ["acknowledged", "resolved"])]
    reconcile(estate)                       # unchanged since resolved by hand: stays so
    with estate.engine.connect() as conn:
        assert conn.execute(select(Finding.state).where(Finding.id == vcpu["id"])).scalar() \
            == "resolved"
    observe(estate, switch("CE6881"), vm(vcpus=32))           # the evidence changes: reopened
    reconcile(estate)
    with estate.engine.connect() as conn:
        reopened = conn.execute(select(Finding).where(Finding.id == vcpu["id"])).one()
    assert (reopened.state, reopened.state_reason) == ("open", "condition returned")


def test_a_finding_resolved_by_hand_stays_resolved_until_its_condition_returns(estate):
    reconcile(estate)
    observe(estate, switch("CE6881"), vm())
    reconcile(estate)
    model = next(f for f in findings.listing(estate.engine.connect(), Scope.everything())
                 if f["field"] == "model")
    findings.transition(estate.engine, model["id"], "resolved", actor="张三",
                        reason="型号以实物为准，台账下次普查更正")
    reconcile(estate)
    reconcile(estate)
    with estate.engine.connect() as conn:
        kept = conn.execute(select(Finding).where(Finding.id == model["id"])).one()
    assert (kept.state, kept.state_reason, kept.reopened) == (
        "resolved", "型号以实物为准，台账下次普查更正", 0)
    observe(estate, switch(), vm())                           # the condition clears
    reconcile(estate)
    observe(estate, switch("CE6881"), vm())                   # and comes back
    reconcile(estate)
    with estate.engine.connect() as conn:
        back = conn.execute(select(Finding).where(Finding.id == model["id"])).one()
    assert (back.state, back.state_reason, back.reopened) == ("open", "condition returned", 1)


def test_a_new_poll_with_the_same_values_does_not_reopen_a_resolved_finding(estate):
    """A poll that reads the same values changes neither the condition nor the finding:
    the difference keeps the time its value was read by the run that judged it, the
    pair's last_seen moves. A new observed value is new evidence and reopens it."""
    observe(estate, switch("CE6881"), vm())
    reconcile(estate)
    model = next(f for f in findings.listing(estate.engine.connect(), Scope.everything())
                 if f["field"] == "model")
    findings.transition(estate.engine, model["id"], "resolved", actor="张三",
                        reason="型号以实物为准")
    later = NOW + dt.timedelta(minutes=5)
    observe(estate, switch("CE6881"), vm(), at=later)
    store.run(estate.engine, ReconcilePolicy(), now=later)
    with estate.engine.connect() as conn:
        kept = conn.execute(select(Finding).where(Finding.id == model["id"])).one()
    assert (kept.state, kept.reopened) == ("resolved", 0)
    assert kept.details["time"] == NOW.isoformat()            # read when it was judged
    with estate.engine.connect() as conn:
        pair = conn.execute(select(ReconcilePair).where(
            ReconcilePair.outcome == "mismatch", ReconcilePair.declared_code.is_not(None),
            ReconcilePair.observed_source == "core-sw-1")).one()
    assert pair.last_seen == later                            # seen again
    observe(estate, switch("CE6850"), vm(), at=later)        # another model: new evidence
    store.run(estate.engine, ReconcilePolicy(), now=later)
    with estate.engine.connect() as conn:
        back = conn.execute(select(Finding).where(Finding.id == model["id"])).one()
    assert (back.state, back.state_reason, back.reopened) == ("open", "condition returned", 1)


def test_figures_that_move_every_day_are_not_new_evidence(ledger):
    """An overdue migration gains a day overdue every day; a finding resolved by hand
    stays resolved until its due date or status changes. A finding last written before
    evidence was kept (NULL) is not reopened by the first run that fills it in."""
    def overdue(days, due="2026-10-01"):
        return findings.Found("migration_overdue|d:information_system:7", "migration_overdue",
                              1, {"name": "社保系统", "due": due, "days_overdue": days,
                                  "status": "planned", "declared_status": "in_progress",
                                  "target": "CP01", "evidence": {"instances": days}},
                              declared_category="information_system", declared_code="IS07")

    kinds = frozenset({"migration_overdue"})

    def run(item):
        with ledger.engine.begin() as conn:
            return findings.sync(conn, kinds, [item], now=NOW)[0]

    run(overdue(60))
    with ledger.engine.connect() as conn:
        id_ = conn.execute(select(Finding.id)).scalar_one()
    findings.transition(ledger.engine, id_, "resolved", actor="李四", reason="已报批延期")
    assert run(overdue(61)).reopened == 0
    with ledger.engine.begin() as conn:                       # as before migration 0015
        conn.execute(Finding.__table__.update().values(evidence=None))
    assert run(overdue(62)).reopened == 0
    with ledger.engine.connect() as conn:
        row = conn.execute(select(Finding)).one()
    assert (row.state, row.details["days_overdue"]) == ("resolved", 62)
    assert row.evidence is not None
    assert run(overdue(63, due="2026-11-01")).reopened == 1   # a new due date


def _resource_id(conn):
    from ledger.census.tables import TABLES
    table = TABLES["cloud_resource"]
    return conn.execute(select(table.c.id).where(table.c.code == "VM01")).scalar_one()


def test_results_and_transitions_stay_in_the_department(estate):
    reconcile(estate)
    police = Scope.for_department(estate.engine.connect(), "D002")
    with estate.engine.connect() as conn:
        pairs, total = store.list_pairs(conn, police)
        assert total == 1 and pairs[0]["declared"] == {
            "category": "device", "code": "DEV02", "department": "D00201"}
        assert store.summary(conn, police)["missing"] == 1
        others = [f["id"] for f in findings.listing(conn, Scope.everything())
                  if f["department"] != "D00201"]
    with pytest.raises(findings.FindingError) as exc:
        findings.transition(estate.engine, others[0], "acknowledged", actor="x", reason=None,
                            scope=police)
    assert exc.value.reason == "not_found"


def test_departments_declared_after_the_poll_are_resolved(ledger, tmp_path):
    with ledger.session() as session:
        record_facts(session, source="sw", collector="snmp", facts=[switch()],
                     tags={"department": "D001"}, seen_at=NOW)
        session.commit()
    reconcile(ledger)
    assert ("unknown_department", None, None, "open") in active(ledger)
    CensusService(ledger.engine, actor="test").apply(
        read_file(filled_workbook(tmp_path / "c.xlsx")))
    reconcile(ledger)
    assert not any(kind == "unknown_department" for kind, *_ in active(ledger))


def test_the_readable_text_shows_times_in_the_configured_zone_with_their_offset(estate):
    """``reconcile`` and ``findings`` print when a value was observed and when a finding was
    first and last seen in the analyses' zone, offset written out, never bare UTC."""
    from monitor.analysis_text import findings_text, reconcile_text

    reconcile(estate)
    observe(estate, switch("CE6881"))
    result = reconcile(estate)
    with estate.engine.connect() as conn:
        summary = store.summary(conn, Scope.everything())
        pairs = store.all_pairs(conn, Scope.everything())
        items = findings.listing(conn, Scope.everything(), kind="mismatch")
    shanghai = NOW.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(sep=" ")
    new_york = NOW.astimezone(ZoneInfo("America/New_York")).isoformat(sep=" ")
    assert shanghai.endswith("+08:00") and new_york[-6:] in ("-05:00", "-04:00")
    text = reconcile_text(summary, pairs, result, Scope.everything(), "zh", "Asia/Shanghai")
    assert f"实测 CE6881 (来源 core-sw-1, {shanghai})" in text
    listed = findings_text(items, "en", "America/New_York")
    assert f"CE6881 (from core-sw-1, {new_york})" in listed
    assert f"; {new_york} → {new_york})" in listed
    assert NOW.isoformat() not in text + listed


def test_an_undeclared_finding_names_its_asset(estate):
    """Without a declared twin a finding still says which machine it is (name, UUID) and
    links to the observed asset; text and reports show it."""
    from ledger.reports.findings import _row
    from monitor.analysis_text import findings_text

    reconcile(estate)
    (item,) = findings.listing(estate.engine.connect(), Scope.everything(), kind="undeclared")
    assert item["observed"]["name"] == "shadow-it"
    assert item["observed"]["uuid"] == "1e0a7c2e-0000-4000-8000-00000000abcd"
    assert item["observed"]["kind"] == "host" and item["observed"]["asset_id"]
    assert item["subject"] == "shadow-it · 1e0a7c2e-0000-4000-8000-00000000abcd"
    assert "shadow-it · 1e0a7c2e" in findings_text([item], "zh", "Asia/Shanghai")
    assert _row(item)["name"] == item["subject"]
    page, _total = findings.page(estate.engine.connect(), Scope.everything(),
                                 kind="undeclared")
    assert page[0]["subject"] == item["subject"]


def test_keys_typed_in_full_width_match_what_the_device_reports(ledger, tmp_path):
    """A census sheet typed in an input method's full-width mode (ＳＮ, １０．０．０．１)
    names the device that reports the same key in ASCII."""
    import openpyxl

    path = filled_workbook(tmp_path / "c.xlsx")
    book = openpyxl.load_workbook(path)
    typed = {"2102351931DMK8000123": "２１０２３５１９３１ＤＭＫ８０００１２３",
             "10.0.0.1": "１０．０．０．１"}
    changed = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in typed:
                    cell.value = typed[cell.value]
                    changed += 1
    assert changed == 2
    book.save(path)
    CensusService(ledger.engine, actor="test").apply(read_file(path))
    observe(ledger, switch())
    reconcile(ledger)
    with ledger.engine.connect() as conn:
        pair = conn.execute(select(ReconcilePair).where(
            ReconcilePair.observed_source == "core-sw-1")).one()
    assert pair.declared_category == "device" and pair.matched_by == "serial_number"
    assert pair.outcome in ("matched", "mismatch")
    assert not [d for d in pair.differences or [] if d["field"] in ("serial_number",
                                                                      "management_ip")]
