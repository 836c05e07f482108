"""A zone scheduler against a real center (the web app under waitress) and a real
VictoriaMetrics: polls go on while the center is away, and every poll outcome and fact
reaches the ledger exactly once, in order, when it is back."""

from __future__ import annotations

import threading
import time

import pytest
import waitress
from sqlalchemy import func, select

from dashboards import create_app
from ledger.db import Ledger
from ledger.models import IngestReceipt, TargetState, ZoneCollector
from monitor.config import parse_settings
from monitor.coordination.zone import ZoneMonitor
from monitor.service import zone_problem
from tests.dashboards.users import FAST_HASHER, make_token, make_user
from tests.monitor.fakes import CountingCollector
from tests.servers import VictoriaMetricsServer, free_port


class Center:
    """The central web app served by waitress on a fixed port; can go away and come back."""

    def __init__(self, app, port: int) -> None:
        self.app, self.port = app, port
        self.server = self.thread = None

    def start(self) -> "Center":
        self.server = waitress.create_server(self.app, host="127.0.0.1", port=self.port,
                                             threads=4)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
        self.thread.join(10)


@pytest.fixture
def victoria(tmp_path):
    server = VictoriaMetricsServer(tmp_path / "vm").start()
    yield server
    server.stop()


def zone_settings(tmp_path, port: int, store_url: str):
    targets = [{"name": f"east-{i}", "kind": "host", "zone": "east", "interval": "2s",
                "tags": {"department": "D1"}} for i in range(3)]
    targets.append({"name": "core", "kind": "host"})
    return parse_settings({"targets": targets, "store": {"backend": store_url},
                           "zone": {"center_url": f"http://127.0.0.1:{port}"}},
                          "(test)", data_dir=str(tmp_path / "zone-east"))


def count(ledger, model) -> int:
    with ledger.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_cut_link_loses_nothing_and_applies_nothing_twice(tmp_path, monkeypatch, victoria):
    port = free_port()
    settings = zone_settings(tmp_path, port, victoria.store_url)
    ledger = Ledger(f"sqlite:///{tmp_path / 'center.sqlite'}")
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": object(),
                      "PASSWORD_HASHER": FAST_HASHER})
    make_user(app, "zone-east", {"zone_collector"}, zone="east")
    monkeypatch.setenv("INFRA_LEDGER_ZONE_TOKEN", make_token(app, "zone-east",
                                                             {"zone_collector"}))
    center = Center(app, port).start()
    collectors = {}

    def factory(target):
        collectors[target.name] = CountingCollector(target.name)
        return collectors[target.name]

    from monitor.store import open_configured_store
    store = open_configured_store(settings)
    zone = ZoneMonitor(settings, store, "east", collector_factory=factory)
    assert set(zone.targets) == {"east-0", "east-1", "east-2"}
    zone.start()
    try:
        time.sleep(3)
        center.stop()                      # the link to the center is cut
        time.sleep(4)
        waiting = zone.outbox.depth
        assert waiting > 0                 # polls went on and wait on disk
        polls_during_cut = sum(len(c.polls) for c in collectors.values())
        center.start()                     # the link is back
        deadline = time.monotonic() + 30
        # Wait for a poll after the link came back (a loaded machine may drain the outbox
        # before the next interval), then for the outbox to drain.
        while (sum(len(c.polls) for c in collectors.values()) <= polls_during_cut
               or zone.outbox.depth) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        zone.stop()
        store.close()
    assert zone.outbox.depth == 0
    polls = {name: len(c.polls) for name, c in collectors.items()}
    assert sum(polls.values()) > polls_during_cut
    with ledger.session() as session:
        states = {s.name: s for s in session.scalars(select(TargetState))}
        row = session.get(ZoneCollector, zone.member)
        assert row.zone == "east" and row.targets_owned == 3
    # Each poll's outcome once, none lost (a poll the machine delayed past its timeout is
    # recorded as failed: it has no samples and no facts).
    assert {name: states[name].polls_total for name in polls} == polls
    ok = {name: states[name].polls_total - states[name].failures_total for name in polls}
    # One poll record per poll and one facts record per successful poll, each applied once.
    assert count(ledger, IngestReceipt) == sum(polls.values()) + sum(ok.values())
    # Samples went to the store over HTTP, each successful poll's once.
    victoria.flush()
    reader = open_configured_store(settings, writer=False)
    stored = {s.key.tag_dict["target"]: len(s.points) for s in
              reader.query("test", "polls_total", time.time() - 600, time.time() + 1)}
    reader.close()
    assert stored == ok
    center.stop()
    ledger.close()


def test_zone_problems_are_reported(tmp_path, monkeypatch):
    settings = zone_settings(tmp_path, 1, "embedded")
    assert "store.backend" in zone_problem(settings, "east")
    assert "no target has zone 'north'" in zone_problem(settings, "north")
    assert zone_problem(settings, "central") is None and zone_problem(settings, None) is None
    # A zone scheduler without its token would poll and never deliver: it does not start.
    settings = zone_settings(tmp_path, 1, "victoriametrics://127.0.0.1:1")
    monkeypatch.delenv("INFRA_LEDGER_ZONE_TOKEN", raising=False)
    problem = zone_problem(settings, "east")
    assert "zone.token_env" in problem and "INFRA_LEDGER_ZONE_TOKEN" in problem
    assert "user token create" in problem
    monkeypatch.setenv("INFRA_LEDGER_ZONE_TOKEN", "ilt_x")
    assert zone_problem(settings, "east") is None


class OwnOnly:
    """An assignment handed in through the constructor's attribute: owns some targets,
    puts every slot at 0.25 s past the second."""

    def __init__(self, names) -> None:
        self.names, self.claims = set(names), []

    def first_slot(self, target):
        import datetime as dt
        return dt.datetime.fromtimestamp(0.25, dt.timezone.utc)

    def claim(self, target, now) -> bool:
        self.claims.append((target.name, now))
        return target.name in self.names


def test_with_an_assignment_polls_fall_on_slots_and_only_owned_targets_are_polled(
        tmp_path, embedded_store):
    from monitor.scheduler import Monitor
    settings = zone_settings(tmp_path, 1, "embedded")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    collectors = {}

    def factory(target):
        collectors[target.name] = CountingCollector(target.name)
        return collectors[target.name]

    monitor = Monitor(settings, ledger, embedded_store, factory, zone="east")
    monitor.assignment = OwnOnly({"east-0", "east-1"})
    monitor.start()
    time.sleep(4.6)      # two slots of the 2 s interval at least
    monitor.stop()
    ledger.close()
    assert set(collectors) == {"east-0", "east-1", "east-2"}     # central "core" not here
    assert collectors["east-2"].polls == []
    assert all(len(collectors[n].polls) >= 2 for n in ("east-0", "east-1"))
    offsets = [now % 1.0 for _, now in monitor.assignment.claims]
    assert offsets and all(0.25 <= o < 0.6 for o in offsets), offsets


def test_a_reload_touches_only_targets_added_removed_or_changed(tmp_path, embedded_store):
    from monitor.config import parse_settings
    from monitor.scheduler import Monitor

    def settings_with(targets):
        return parse_settings({"targets": [{"kind": "host", "zone": "east", **t}
                                           for t in targets]},
                              "(test)", data_dir=str(tmp_path / "d"))

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    made = []

    def factory(target):
        made.append(CountingCollector(target.name))
        return made[-1]

    before = settings_with([{"name": "kept", "interval": "60s"},
                            {"name": "changed", "interval": "60s"},
                            {"name": "removed", "interval": "60s"}])
    monitor = Monitor(before, ledger, embedded_store, factory, zone="east")
    monitor.assignment = OwnOnly({"kept", "changed", "added"})
    monitor.start()
    jobs = {job.id: job.next_run_time for job in monitor._scheduler.get_jobs()}
    kept_collector = monitor.targets["kept"].collector
    monitor.reload(settings_with([{"name": "kept", "interval": "60s"},
                                  {"name": "changed", "interval": "30s"},
                                  {"name": "added", "interval": "60s"}]))
    after = {job.id: job for job in monitor._scheduler.get_jobs()}
    assert set(monitor.targets) == {"kept", "changed", "added"}
    assert monitor.targets["kept"].collector is kept_collector     # not restarted
    assert after["target:kept"].next_run_time == jobs["target:kept"]
    assert "target:removed" not in after
    assert after["target:changed"].trigger.interval.total_seconds() == 30
    with ledger.session() as session:
        from ledger.models import TargetState
        assert {s.name for s in session.scalars(select(TargetState))} == {"kept", "changed",
                                                                         "added"}
    monitor.stop()
    ledger.close()


def test_poll_now_polls_the_central_zone_only(tmp_path, capfd):
    from monitor.cli import main
    config = tmp_path / "c.yaml"
    config.write_text("targets: [{name: here, kind: host}, "
                      "{name: far, kind: host, zone: east}]\n", encoding="utf-8")
    common = ["--config", str(config), "--data-dir", str(tmp_path / "d")]
    assert main(["poll", "--target", "far", *common]) == 2
    assert "far (east)" in capfd.readouterr().err
    import io
    from monitor.config import load_settings
    from monitor.service import poll_targets
    out = io.StringIO()
    assert poll_targets(load_settings(config, data_dir=str(tmp_path / "d")), [], out) == 0
    assert out.getvalue().startswith("here: status=ok") and "far" not in out.getvalue()


def test_an_unreachable_coordination_database_is_named_by_its_key(tmp_path, capfd,
                                                                 monkeypatch):
    """The zone scheduler names zone.coordination_url (not the ledger it does not use)."""
    from monitor.cli import main
    from tests.conftest import PG_ADMIN_URL
    missing = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") \
        + "/il_no_such_database"
    config = tmp_path / "east.yaml"
    config.write_text(
        "store: {backend: 'victoriametrics://127.0.0.1:1'}\n"
        f"zone: {{center_url: 'http://127.0.0.1:1', coordination_url: '{missing}'}}\n"
        "targets: [{name: far, kind: host, zone: east}]\n", encoding="utf-8")
    monkeypatch.setenv("INFRA_LEDGER_ZONE_TOKEN", "ilt_x")
    assert main(["scheduler", "--zone", "east", "--config", str(config),
                 "--data-dir", str(tmp_path / "d")]) == 3
    err = capfd.readouterr().err
    assert "zone.coordination_url" in err and "il_no_such_database" in err, err
    assert "ledger.url" not in err, err
