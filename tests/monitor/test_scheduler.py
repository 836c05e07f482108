"""The scheduler routes observations and keeps targets independent of each other."""

from __future__ import annotations

import time

import pytest

from ledger.db import Ledger
from ledger.observed import observed_for_source
from ledger.status import runtime_stats, target_states
from monitor.config import parse_settings
from monitor.scheduler import Monitor
from collectors.base import Fact
from tests.monitor.fakes import CountingCollector, RecordingStore, SlowCollector


@pytest.fixture
def two_targets(tmp_path):
    return parse_settings({"scheduler": {"jitter": 0},
                           "targets": [{"name": "fast", "kind": "host", "interval": 1,
                                        "tags": {"department": "大数据局"}},
                                       {"name": "slow", "kind": "host", "interval": 1,
                                        "timeout": 1}]},
                          "(test)", data_dir=str(tmp_path / "data"))


def test_a_hung_target_never_delays_another(two_targets, ledger):
    fast, slow = CountingCollector("fast"), SlowCollector("slow")
    store = RecordingStore()
    collectors = {"fast": fast, "slow": slow}
    monitor = Monitor(two_targets, ledger, store, collector_factory=lambda t: collectors[t.name])
    monitor.start()
    try:
        time.sleep(4.5)
    finally:
        slow.release.set()
        monitor.stop()
    gaps = [b - a for a, b in zip(fast.polls, fast.polls[1:])]
    assert len(fast.polls) >= 4
    assert max(gaps) < 1.6, gaps  # the fast target kept its 1 s rhythm
    with ledger.session() as session:
        states = {s.name: s for s in target_states(session)}
        assets = observed_for_source(session, "fast")
        stats = runtime_stats(session)
    assert states["slow"].status == "timeout" and states["slow"].up is False
    assert states["fast"].status == "ok" and states["fast"].polls_total == len(fast.polls)
    assert assets[0].department == "大数据局" and assets[0].hostname == "fast"
    assert stats["scheduler_targets"].value == 2
    written = [s for s in store.samples if s.tags["target"] == "fast"
               and s.measurement != "poll"]
    assert len(written) == len(fast.polls)
    # Each poll's outcome is a sample of its own (the pages' poll history).
    outcomes = {name: [s.fields["up"] for s in store.samples if s.measurement == "poll"
                       and s.tags["target"] == name] for name in ("fast", "slow")}
    assert outcomes["fast"] == [1.0] * len(fast.polls)
    assert outcomes["slow"] and set(outcomes["slow"]) == {0.0}
    assert written[0].tags["department"] == "大数据局"


def test_scheduler_with_the_real_host_collector_and_embedded_store(settings, embedded_store,
                                                                   tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    monitor = Monitor(settings, ledger, embedded_store)
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with ledger.session() as session:
                (state,) = target_states(session)
            if state.polls_total >= 1:
                break
            time.sleep(0.1)
    finally:
        monitor.stop()
    assert state.status == "ok"
    now = time.time()
    mem = embedded_store.query("mem", "total_bytes", now - 600, now + 1, tags={"target": "local"})
    assert mem and mem[0].points[0][1] > 0
    ledger.close()


class InventoryCollector(CountingCollector):
    """Reports its facts on the first poll only, as a cloud inventory every 30 minutes does."""

    kind = "inventory"

    def collect(self):
        obs = super().collect()
        if len(self.polls) > 1:
            obs.facts = []
        return obs


def block_fact_writes(ledger, blocked: bool) -> None:
    """Make the real database refuse (or again accept) writes of observed assets."""
    from sqlalchemy import text
    postgres = ledger.engine.dialect.name == "postgresql"
    with ledger.engine.begin() as conn:
        if not blocked:
            conn.execute(text("DROP TRIGGER block_facts"
                              + (" ON observed_asset" if postgres else "")))
        elif postgres:
            conn.execute(text("CREATE FUNCTION block_facts() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN RAISE EXCEPTION 'ledger unavailable'; END $$"))
            conn.execute(text("CREATE TRIGGER block_facts BEFORE INSERT OR UPDATE ON "
                              "observed_asset FOR EACH ROW EXECUTE FUNCTION block_facts()"))
        else:
            conn.execute(text("CREATE TRIGGER block_facts BEFORE INSERT ON observed_asset "
                              "BEGIN SELECT RAISE(ABORT, 'ledger unavailable'); END"))


def test_facts_a_failed_ledger_write_lost_are_written_later(tmp_path, ledger):
    settings = parse_settings({"scheduler": {"jitter": 0}, "targets": [
        {"name": "cloud", "kind": "host", "interval": 1}]}, "(test)",
        data_dir=str(tmp_path / "data"))
    collector = InventoryCollector("cloud")
    monitor = Monitor(settings, ledger, RecordingStore(), collector_factory=lambda t: collector)
    block_fact_writes(ledger, True)
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while len(collector.polls) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert monitor.backlog.stats()["ledger_pending_facts"] == 1
        block_fact_writes(ledger, False)
        deadline = time.monotonic() + 20
        while monitor.backlog.snapshot() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        monitor.stop()
    with ledger.session() as session:
        (asset,) = observed_for_source(session, "cloud")
        stats = runtime_stats(session)
    assert asset.hostname == "cloud"
    assert stats["ledger_retried_facts_total"].value == 1
    assert stats["ledger_fact_write_errors_total"].value == 1
    assert stats["ledger_pending_fact_sources"].value == 0


class NulCollector(CountingCollector):
    """Reports a fact whose model holds a NUL byte, as a broken BMC or SNMP agent may."""

    kind = "nul"

    def collect(self):
        obs = super().collect()
        obs.facts = [Fact("server", {"hostname": self.name}, {"model": "R640\x00"})]
        return obs


def test_a_fact_the_ledger_can_never_take_does_not_block_the_poll_record(tmp_path, ledger):
    settings = parse_settings({"scheduler": {"jitter": 0}, "targets": [
        {"name": "bmc", "kind": "host", "interval": 1}]}, "(test)",
        data_dir=str(tmp_path / "data"))
    collector = NulCollector("bmc")
    monitor = Monitor(settings, ledger, RecordingStore(), collector_factory=lambda t: collector)
    monitor.start()
    try:
        deadline = time.monotonic() + 20
        while len(collector.polls) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        monitor.stop()
    with ledger.session() as session:
        (state,) = target_states(session)
        assets = observed_for_source(session, "bmc")
    assert state.polls_total >= 3 and state.status == "ok"
    if ledger.engine.dialect.name == "postgresql":  # PostgreSQL text cannot hold NUL
        assert assets == [] and monitor.backlog.snapshot() == []
        assert monitor.backlog.stats()["ledger_dropped_facts_total"] >= 3
    else:
        assert assets[0].model == "R640\x00"
