"""Grouping, timing, silences, inhibition, resolved notifications and floods, on the ledger.

Times follow Alertmanager's documented meaning: a new group waits ``group_wait``; a group
is looked at every ``group_interval`` and notifies when alerts joined or resolved; an
unchanged firing group is repeated after ``repeat_interval``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import silences
from alerts.delivery import Deliverer
from tests.alerts.helpers import T0, config_with, fire, later, outbox, rule, tick

DISK, SITE = rule("disk_full", datacenter="DC01"), rule("site_down", "critical")


def section(receivers: dict | None = None, **route) -> dict:
    return {"route": {"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s",
                      "group_interval": "5m", "repeat_interval": "4h", **route},
            "receivers": [{"name": "ops", "webhook": [{"url": "http://127.0.0.1:9/x"}],
                           **(receivers or {})}]}


def alerts_of(row) -> list[tuple[str, str]]:
    return sorted((a["labels"].get("target", ""), a["status"]) for a in row["payload"]["alerts"])


def test_group_wait_interval_and_repeat(ledger, tmp_path):
    config = config_with(tmp_path, section())
    fire(ledger.engine, T0, {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    fire(ledger.engine, later(10), {DISK: [{"target": "a"}, {"target": "b"}]})
    tick(ledger.engine, config, later(10))
    assert outbox(ledger.engine) == []                 # still waiting (group_wait 30s)
    tick(ledger.engine, config, later(30))
    [first] = outbox(ledger.engine)
    assert alerts_of(first) == [("a", "firing"), ("b", "firing")]
    fire(ledger.engine, later(40), {DISK: [{"target": t} for t in "abc"]})
    tick(ledger.engine, config, later(40))
    tick(ledger.engine, config, later(300))
    assert len(outbox(ledger.engine)) == 1             # the next look is at 30s + 5m
    tick(ledger.engine, config, later(330))
    second = outbox(ledger.engine)[1]
    assert alerts_of(second) == [("a", "firing"), ("b", "firing"), ("c", "firing")]
    for minutes in range(10, 240, 5):                  # nothing changes: no message...
        tick(ledger.engine, config, later(330 + minutes * 60))
    assert len(outbox(ledger.engine)) == 2
    tick(ledger.engine, config, later(330 + 4 * 3600))  # ...until repeat_interval
    assert len(outbox(ledger.engine)) == 3


def test_resolved_notification_then_the_group_ends(ledger, tmp_path):
    config = config_with(tmp_path, section())
    fire(ledger.engine, T0, {DISK: [{"target": "a"}, {"target": "b"}]})
    tick(ledger.engine, config, T0)
    tick(ledger.engine, config, later(30))
    fire(ledger.engine, later(60), {DISK: [{"target": "b"}]})      # a resolves
    tick(ledger.engine, config, later(330))
    resolved = outbox(ledger.engine)[1]
    assert alerts_of(resolved) == [("a", "resolved"), ("b", "firing")]
    fire(ledger.engine, later(400), {DISK: []})
    tick(ledger.engine, config, later(630))
    last = outbox(ledger.engine)[2]
    assert last["payload"]["status"] == "resolved" and alerts_of(last) == [("b", "resolved")]
    tick(ledger.engine, config, later(930))
    tick(ledger.engine, config, later(4 * 3600 + 930))
    assert len(outbox(ledger.engine)) == 3             # the group is gone


def test_send_resolved_false(ledger, tmp_path):
    config = config_with(tmp_path, section(receivers={"webhook": [
        {"url": "http://127.0.0.1:9/x", "send_resolved": False}]}))
    fire(ledger.engine, T0, {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    tick(ledger.engine, config, later(30))
    fire(ledger.engine, later(60), {DISK: []})
    tick(ledger.engine, config, later(330))
    assert len(outbox(ledger.engine)) == 1


def test_pending_alerts_wait_for_their_for_duration(ledger, tmp_path):
    config = config_with(tmp_path, section(group_wait="0s"))
    slow = rule("slow")
    slow = type(slow)(**{**slow.__dict__, "for_seconds": 120.0})
    fire(ledger.engine, T0, {slow: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    fire(ledger.engine, later(60), {slow: [{"target": "a"}]})
    tick(ledger.engine, config, later(60))
    assert outbox(ledger.engine) == []
    fire(ledger.engine, later(120), {slow: [{"target": "a"}]})
    tick(ledger.engine, config, later(120))
    assert len(outbox(ledger.engine)) == 1
    # Pending that clears before `for` is never notified.
    fire(ledger.engine, later(130), {slow: [{"target": "a"}, {"target": "z"}]})
    fire(ledger.engine, later(140), {slow: [{"target": "a"}]})
    for seconds in (140, 440, 740):
        tick(ledger.engine, config, later(seconds))
    assert all(target != "z" for row in outbox(ledger.engine) for target, _ in alerts_of(row))


def test_silence_mutes_until_it_is_expired(ledger, tmp_path):
    config = config_with(tmp_path, section(group_wait="0s"))
    silence = silences.create(ledger.engine, matchers=['target="b"'], starts_at=T0,
                              ends_at=later(3600), created_by="li.si",
                              comment="replacing the disk", now=T0)
    fire(ledger.engine, T0, {DISK: [{"target": "a"}, {"target": "b"}]})
    tick(ledger.engine, config, T0)
    [first] = outbox(ledger.engine)
    assert alerts_of(first) == [("a", "firing")]
    with ledger.engine.connect() as conn:
        muted = dict(conn.exec_driver_sql("SELECT fingerprint, muted_by FROM alert").all())
    assert sorted(muted.values(), key=str) == [None, f"silence:{silence['id']}"]
    silences.expire(ledger.engine, silence["id"], actor="li.si", now=later(60))
    tick(ledger.engine, config, later(300))
    assert alerts_of(outbox(ledger.engine)[1]) == [("a", "firing"), ("b", "firing")]


def test_site_down_inhibits_its_devices(ledger, tmp_path):
    config = config_with(tmp_path, {**section(group_wait="0s", group_by=["alertname",
                                                                          "datacenter"]),
                                    "inhibit_rules": [{
                                        "source_matchers": ['alertname="site_down"'],
                                        "target_matchers": ['severity="warning"'],
                                        "equal": ["datacenter"]}]})
    fire(ledger.engine, T0, {SITE: [{"datacenter": "DC01"}],
                             DISK: [{"target": "a", "datacenter": "DC01"}],
                             rule("disk_full_dc02"): [{"target": "x", "datacenter": "DC02"}]})
    tick(ledger.engine, config, T0)
    sent = {row["payload"]["groupLabels"].get("alertname") for row in outbox(ledger.engine)}
    assert sent == {"site_down", "disk_full_dc02"}


def test_restart_neither_resends_nor_loses(ledger, tmp_path, chat):
    config = config_with(tmp_path, {**section(group_wait="0s"), "receivers": [
        {"name": "ops", "webhook": [{"url": chat.urls()["webhook"],
                                     "bearer_token": "hook-token"}]}]})
    fire(ledger.engine, T0, {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    Deliverer(ledger.engine, config, clock=lambda: T0).run()
    assert len(chat.of("webhook")) == 1
    # A new process: recovers, evaluates and dispatches the same state again.
    again = Deliverer(ledger.engine, config, clock=lambda: later(5))
    again.recover()
    fire(ledger.engine, later(5), {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, later(5))
    again.run()
    assert len(chat.of("webhook")) == 1
    fire(ledger.engine, later(10), {DISK: [{"target": "a"}, {"target": "b"}]})
    tick(ledger.engine, config, later(300))
    again.run(later(300))
    assert len(chat.of("webhook")) == 2


def test_failed_delivery_is_retried_with_backoff_and_recorded(ledger, tmp_path, chat):
    config = config_with(tmp_path, {**section(group_wait="0s"), "receivers": [
        {"name": "ops", "webhook": [{"url": chat.urls()["webhook"],
                                     "bearer_token": "hook-token"}]}],
        "delivery": {"backoff": "10s", "max_attempts": 3}})
    fire(ledger.engine, T0, {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    chat.answers += [(503, {"error": "busy"}), (502, {"error": "gateway"})]
    deliverer = Deliverer(ledger.engine, config, clock=lambda: T0)
    assert deliverer.run(T0).retried == 1
    [row] = outbox(ledger.engine)
    assert row["status"] == "pending" and "503" in row["last_error"]
    assert row["next_attempt_at"] == later(10)
    assert deliverer.run(later(5)).retried == 0       # not due yet
    deliverer.clock = lambda: later(10)
    assert deliverer.run(later(10)).retried == 1
    assert outbox(ledger.engine)[0]["next_attempt_at"] == later(30)   # doubled
    deliverer.clock = lambda: later(30)
    assert deliverer.run(later(30)).sent == 1
    [row] = outbox(ledger.engine)
    assert (row["status"], row["attempts"], row["confirmed"]) == ("sent", 3, True)
    assert len(chat.of("webhook")) == 1


def test_bad_secret_fails_for_good_with_its_reason(ledger, tmp_path, chat):
    config = config_with(tmp_path, {**section(group_wait="0s"), "receivers": [
        {"name": "ops", "dingtalk": [{"url": chat.urls()["dingtalk"],
                                      "secret": "env:NOT_SET_ANYWHERE"}]}]})
    fire(ledger.engine, T0, {DISK: [{"target": "a"}]})
    tick(ledger.engine, config, T0)
    Deliverer(ledger.engine, config, clock=lambda: T0).run()
    [row] = outbox(ledger.engine)
    assert row["status"] == "pending" and "NOT_SET_ANYWHERE is not set" in row["last_error"]


@pytest.mark.parametrize("groups", [300])
def test_a_flood_is_grouped_rate_limited_and_summarized(ledger, tmp_path, chat, groups):
    config = config_with(tmp_path, {**section(group_wait="0s", group_by=["target"]),
                                    "receivers": [{"name": "ops", "dingtalk": [
                                        {"url": chat.urls()["dingtalk"],
                                         "secret": chat.dingtalk_secret}]}],
                                    "delivery": {"max_per_minute": 20}})
    rules = [rule(f"r{i}") for i in range(5)]
    fire(ledger.engine, T0, {r: [{"target": f"t{j}"} for j in range(groups)] for r in rules})
    tick(ledger.engine, config, T0)
    assert len(outbox(ledger.engine)) == groups        # 1,500 alerts, one per target group
    result = Deliverer(ledger.engine, config, clock=lambda: T0).run(T0)
    assert (result.merged, result.sent) == (groups, 1)
    [message] = chat.of("dingtalk")
    text = message["body"]["markdown"]["text"]
    assert f"{groups} 条通知" in message["body"]["markdown"]["title"]
    assert "另有 1480 条未列出" in text and len(text) < 8000
    statuses = [row["status"] for row in outbox(ledger.engine)]
    assert statuses.count("merged") == groups and statuses.count("sent") == 1


def test_old_resolved_alerts_and_settled_notifications_are_pruned(ledger, tmp_path,
                                                                   embedded_store):
    from alerts.config import parse_alerts
    from alerts.engine import AlertEngine
    from ledger.alert_tables import alert
    from tests.alerts.helpers import settings_with
    settings = settings_with(tmp_path, section(group_wait="0s"), ledger.url)
    config = parse_alerts(settings)
    fire(ledger.engine, T0, {DISK: [{"target": "a"}, {"target": "b"}]})
    tick(ledger.engine, config, T0)
    fire(ledger.engine, later(60), {DISK: [{"target": "b"}]})          # a resolves
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alert_outbox SET status = 'sent'")
    engine = AlertEngine(settings, config, ledger.engine, embedded_store)
    assert engine.prune(later(89 * 86400)) == 0
    assert engine.prune(later(91 * 86400)) == 1 + 2 + 1     # a, its 2 events, the message
    with ledger.engine.connect() as conn:
        left = conn.execute(alert.select()).mappings().all()
    left = [row["labels"] for row in left]
    assert [labels["target"] for labels in left] == ["b"]   # still firing: kept


def test_one_scheduler_at_a_time_records_and_dispatches(pg_url, tmp_path, embedded_store):
    """Several central schedulers may run the engine; on PostgreSQL an advisory lock lets
    one record and dispatch while the others skip the tick."""
    from sqlalchemy import text

    from alerts.config import parse_alerts
    from alerts.engine import ADVISORY_KEY, AlertEngine
    from ledger.db import Ledger
    from ledger.status import set_runtime_stats
    from tests.alerts.helpers import settings_with
    ledger = Ledger(pg_url)
    try:
        with ledger.session() as session:
            set_runtime_stats(session, {"spool_depth_samples": 50.0}, T0)
            session.commit()
        settings = settings_with(tmp_path, {**section(group_wait="0s"), "rules": [
            {"name": "spool", "kind": "health", "metric": "spool_depth_samples", "op": ">",
             "value": 1}]}, ledger.url)
        engine = AlertEngine(settings, parse_alerts(settings), ledger.engine, embedded_store)
        with ledger.engine.begin() as other:       # another scheduler holds the lock
            other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
            assert engine.evaluate(T0).changes.firing == 0
            assert engine.dispatch(T0).notifications == 0
        assert engine.evaluate(T0).changes.firing == 1
        assert engine.dispatch(T0).notifications == 1
    finally:
        ledger.close()
