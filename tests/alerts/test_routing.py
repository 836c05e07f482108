"""Routing, grouping labels and muting behave as Alertmanager's documentation describes."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.config import parse_alerts
from alerts.matchers import MatcherError, parse_matcher, parse_matchers
from alerts.routing import group_labels, mutes, routes_for
from monitor.config import ConfigError, parse_settings

UTC = dt.timezone.utc
# Alertmanager's documented example tree (configuration docs, "Example"), in our keys.
AM_EXAMPLE = {
    "route": {"receiver": "default-receiver", "group_wait": "30s", "group_interval": "5m",
              "repeat_interval": "4h", "group_by": ["cluster", "alertname"],
              "routes": [
                  {"receiver": "database-pager", "group_wait": "10s",
                   "matchers": ['service=~"mysql|cassandra"']},
                  {"receiver": "frontend-pager", "group_by": ["product", "environment"],
                   "matchers": ['team="frontend"']}]},
    "receivers": [{"name": n} for n in ("default-receiver", "database-pager",
                                        "frontend-pager")],
    "inhibit_rules": [{"source_matchers": ['severity="critical"'],
                       "target_matchers": ['severity="warning"'],
                       "equal": ["alertname", "cluster", "service"]}],
}


def alert_settings(tmp_path, section: dict):
    settings = parse_settings({"alerts": section}, "(test)", data_dir=str(tmp_path))
    return parse_alerts(settings)


@pytest.fixture
def routing(tmp_path):
    return alert_settings(tmp_path, AM_EXAMPLE).routing


def test_documented_tree_routes_by_labels(routing):
    mysql = {"alertname": "Down", "service": "mysql", "cluster": "c1"}
    front = {"alertname": "Slow", "team": "frontend", "product": "portal",
             "environment": "prod", "cluster": "c1"}
    other = {"alertname": "Odd", "service": "redis", "cluster": "c2"}
    [db] = routes_for(routing.route, mysql)
    assert (db.receiver, db.group_wait, db.group_interval) == ("database-pager", 10, 300)
    assert group_labels(db, mysql) == {"cluster": "c1", "alertname": "Down"}  # inherited
    [fe] = routes_for(routing.route, front)
    assert fe.receiver == "frontend-pager" and fe.group_wait == 30
    assert group_labels(fe, front) == {"product": "portal", "environment": "prod"}
    [root] = routes_for(routing.route, other)
    assert root.receiver == "default-receiver"


def test_first_match_wins_unless_continue(tmp_path):
    section = {"route": {"receiver": "a", "routes": [
        {"receiver": "b", "matchers": ['team="x"'], "continue": True},
        {"receiver": "c", "matchers": ['severity="critical"']},
        {"receiver": "d", "matchers": ['severity="critical"']}]},
        "receivers": [{"name": n} for n in "abcd"]}
    route = alert_settings(tmp_path, section).routing.route
    taken = routes_for(route, {"team": "x", "severity": "critical"})
    assert [r.receiver for r in taken] == ["b", "c"]
    assert [r.receiver for r in routes_for(route, {"team": "y"})] == ["a"]


def test_group_by_every_label(tmp_path):
    section = {"route": {"receiver": "a", "group_by": ["..."]}, "receivers": [{"name": "a"}]}
    route = alert_settings(tmp_path, section).routing.route
    assert group_labels(route, {"x": "1", "y": "2"}) == {"x": "1", "y": "2"}


def test_documented_inhibition(routing):
    now = dt.datetime.now(UTC)
    alerts = {
        "crit": {"alertname": "HighLatency", "severity": "critical", "cluster": "c1",
                 "service": "api"},
        "warn-same": {"alertname": "HighLatency", "severity": "warning", "cluster": "c1",
                      "service": "api"},
        "warn-other-cluster": {"alertname": "HighLatency", "severity": "warning",
                               "cluster": "c2", "service": "api"},
        "warn-other-name": {"alertname": "Errors", "severity": "warning", "cluster": "c1",
                            "service": "api"},
    }
    assert mutes(alerts, now, inhibit=routing.inhibit) == {"warn-same": "inhibited:HighLatency"}
    # Without the source firing, nothing is inhibited.
    alerts.pop("crit")
    assert mutes(alerts, now, inhibit=routing.inhibit) == {}


def test_an_alert_never_inhibits_itself(tmp_path):
    section = {"receivers": [{"name": "a"}], "inhibit_rules": [{
        "source_matchers": ['alertname="SiteDown"'], "target_matchers": ['site=~".+"'],
        "equal": ["site"]}]}
    rules = alert_settings(tmp_path, section).routing.inhibit
    now = dt.datetime.now(UTC)
    alerts = {"site": {"alertname": "SiteDown", "site": "DC01"},
              "dev": {"alertname": "TargetDown", "site": "DC01", "target": "sw1"},
              "far": {"alertname": "TargetDown", "site": "DC02", "target": "sw9"}}
    assert mutes(alerts, now, inhibit=rules) == {"dev": "inhibited:SiteDown"}


def test_silences_and_maintenance_windows(tmp_path):
    section = {"receivers": [{"name": "a"}], "maintenance": [
        {"name": "dc01-sunday", "matchers": ['datacenter="DC01"'],
         "weekly": {"days": ["sun"], "from": "02:00", "to": "04:00"}},
        {"name": "upgrade", "matchers": {"target": "sw2"},
         "start": "2026-12-05T22:00:00+08:00", "end": "2026-12-05T23:00:00+08:00"}]}
    windows = alert_settings(tmp_path, section).routing.maintenance
    alerts = {"a": {"datacenter": "DC01"}, "b": {"target": "sw2"}, "c": {"team": "x"}}
    sunday_3am = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert mutes(alerts, sunday_3am, maintenance=windows) == {"a": "maintenance:dc01-sunday"}
    upgrade = dt.datetime(2026, 12, 5, 14, 30, tzinfo=UTC)      # 22:30 in Beijing
    assert mutes(alerts, upgrade, maintenance=windows) == {"b": "maintenance:upgrade"}
    silence = [(7, parse_matchers(['team=~"x|y"']))]
    assert mutes(alerts, upgrade, silences=silence) == {"c": "silence:7"}


def test_matchers():
    assert str(parse_matcher('severity = "crit\\"ical"')) == 'severity="crit\\"ical"'
    assert parse_matcher("team!=ops").matches({"team": "dev"})
    assert parse_matcher('host=~"web-.*"').matches({"host": "web-1"})
    assert not parse_matcher('host=~"web"').matches({"host": "web-1"})   # anchored
    assert parse_matcher('x!~"a+"').matches({})
    with pytest.raises(MatcherError):
        parse_matcher("no operator")
    with pytest.raises(MatcherError):
        parse_matcher('a=~"("')


@pytest.mark.parametrize("section, key, reason", [
    ({"rules": [{"name": "x", "kind": "nope"}]}, "alerts.rules[0].kind", "one of"),
    ({"rules": [{"name": "x", "kind": "threshold", "measurement": "m", "field": "f"}]},
     "alerts.rules[0].value", "required"),
    ({"rules": [{"name": "x", "kind": "threshold", "measurement": "m", "expr": "a +* __import__",
                 "value": 1}]}, "alerts.rules[0].expr", "cannot read"),
    ({"rules": [{"name": "x", "kind": "threshold", "measurement": "m", "expr": "f(a)",
                 "value": 1}]}, "alerts.rules[0].expr", "only numbers"),
    ({"rules": [{"name": "x", "kind": "health", "metric": "spool_depth_samples", "value": 1,
                 "for": "soon"}]}, "alerts.rules[0].for", "duration"),
    ({"rules": [{"name": "x", "kind": "ledger_event", "findings": ["ghost"]}]},
     "alerts.rules[0].findings[0]", "unknown finding kind"),
    ({"rules": [{"name": "x", "kind": "target_state"}, {"name": "x", "kind": "target_state"}]},
     "alerts.rules[1].name", "duplicate"),
    ({"rules": [{"name": "x", "kind": "target_state", "summary": {"zh": "{oops"}}]},
     "alerts.rules[0].summary.zh", "bad template"),
    ({"route": {"receiver": "ghost"}}, "alerts.route.receiver", "no receiver named"),
    ({"receivers": [{"name": "a", "email": {"to": "x@y"}}]},
     "alerts.receivers[0].email[0].from", "required"),
    ({"receivers": [{"name": "a", "dingtalk": {"url": "ftp://x"}}]},
     "alerts.receivers[0].dingtalk[0].url", "http(s) URL"),
    ({"receivers": [{"name": "a"}], "route": {"receiver": "a", "routes": [
        {"matchers": ["bad"]}]}}, "alerts.route.routes[0].matchers", "expected name"),
    ({"inhibit_rules": [{"source_matchers": ['a="b"']}]},
     "alerts.inhibit_rules[0].target_matchers", "at least one"),
    ({"maintenance": [{"matchers": [], "start": "2026-01-02", "end": "2026-01-01"}]},
     "alerts.maintenance[0].end", "after start"),
    ({"typo": 1}, "alerts.typo", "unknown key"),
])
def test_check_config_names_file_key_and_reason(tmp_path, section, key, reason):
    with pytest.raises(ConfigError) as caught:
        alert_settings(tmp_path, section)
    assert (caught.value.file, caught.value.key) == ("(test)", key), str(caught.value)
    assert reason in caught.value.reason


def test_rule_files_are_validated_with_their_own_name(tmp_path):
    bad = tmp_path / "rules.d" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("rules:\n  - name: x\n    kind: absence\n", encoding="utf-8")
    settings = parse_settings({"alerts": {"rule_files": ["rules.d/*.yaml"]}}, "(test)",
                              data_dir=str(tmp_path), base=tmp_path)
    with pytest.raises(ConfigError) as caught:
        parse_alerts(settings)
    assert (caught.value.file, caught.value.key) == (str(bad), "rules[0].measurement")


def test_example_configuration_validates():
    from pathlib import Path

    from monitor.config import load_settings
    example = Path(__file__).resolve().parents[2] / "config" / "alerts.example.yaml"
    config = parse_alerts(load_settings(example))
    assert {r.kind for r in config.rules} == {"target_state", "threshold", "absence",
                                              "ledger_event", "health"}
    assert set(config.routing.receivers) == {"ops", "oncall", "census"}
