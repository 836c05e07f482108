"""Configuration: defaults, and errors that name file, key and reason."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]


def test_no_config_polls_this_host_every_15_seconds(tmp_path):
    settings = load_settings(None, data_dir=str(tmp_path))
    (target,) = settings.targets
    assert (target.kind, target.name, target.interval) == ("host", socket.gethostname(), 15.0)
    assert (settings.web_host, settings.web_port, settings.language) == ("127.0.0.1", 8080, "zh")
    assert settings.ledger_url == f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert settings.store_backend == "embedded"


def test_example_config_is_valid(tmp_path, monkeypatch):
    # The example's SNMP targets name their secrets by environment variable.
    for name in ("SNMP_COMMUNITY", "SNMP_AUTH_KEY", "SNMP_PRIV_KEY"):
        monkeypatch.setenv(name, "example-secret")
    settings = load_settings(REPO / "config" / "example.yaml", data_dir=str(tmp_path))
    assert settings.targets and settings.retention["1h"] >= settings.retention["raw"]
    assert [t.kind for t in settings.targets] == ["host", "snmp", "snmp"]
    monkeypatch.delenv("SNMP_PRIV_KEY")
    with pytest.raises(ConfigError) as exc:
        load_settings(REPO / "config" / "example.yaml", data_dir=str(tmp_path))
    assert exc.value.key == "targets[2].options.priv_key"


def test_flags_override_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("web: {host: 0.0.0.0, port: 9000}\ndata_dir: rel\n")
    settings = load_settings(path, host="127.0.0.2", port=9100)
    assert (settings.web_host, settings.web_port) == ("127.0.0.2", 9100)
    assert settings.data_dir == tmp_path / "rel"  # relative to the config file


def test_target_defaults_come_from_the_scheduler_section():
    settings = parse_settings({"scheduler": {"interval": "1m", "timeout": "20s"},
                               "targets": [{"name": "a", "kind": "host"},
                                           {"name": "b", "kind": "host", "interval": "10s",
                                            "tags": {"department": "大数据局"}}]}, "f")
    a, b = settings.targets
    assert (a.interval, a.timeout) == (60, 20)
    assert (b.interval, b.timeout, b.tags) == (10, 10, {"department": "大数据局"})


@pytest.mark.parametrize("data,key,reason", [
    ({"webb": {}}, "webb", "unknown key"),
    ({"web": {"port": "http"}}, "web.port", "expected int"),
    ({"web": {"port": 70000}}, "web.port", "0-65535"),
    ({"web": {"language": "fr"}}, "web.language", "one of zh, en"),
    ({"web": {"timezone": "Mars/Base"}}, "web.timezone", "unknown time zone"),
    ({"store": {"backend": "rrd"}}, "store.backend", "expected embedded, influxdb://"),
    ({"store": {"backend": "influxdb://u:secret@127.0.0.1:8086/db"}}, "store.backend",
     "no password in the URL"),
    ({"store": {"backend": "influxdb://127.0.0.1:8086/"}}, "store.backend", "no database"),
    ({"store": {"backend": "influxdb2://127.0.0.1:8086?org=o"}}, "store.backend",
     "needs ?org=...&bucket="),
    ({"store": {"spool": {"max_bytes": "lots"}}}, "store.spool.max_bytes", "size such as"),
    ({"store": {"spool": {"max_bytes": 1000}}}, "store.spool.max_bytes", "at least 1MiB"),
    ({"store": {"spool": {"max_age": "forever"}}}, "store.spool.max_age", "duration"),
    ({"store": {"gzip": "yes"}}, "store.gzip", "expected bool"),
    ({"store": {"retention": {"raw": "1y", "1m": "1d"}}}, "store.retention.1m", "at least"),
    ({"scheduler": {"interval": "soon"}}, "scheduler.interval", "duration"),
    ({"targets": {"a": 1}}, "targets", "list"),
    ({"targets": [{"kind": "host"}]}, "targets[0].name", "required"),
    ({"targets": [{"name": "a/b", "kind": "host"}]}, "targets[0].name", "without"),
    ({"targets": [{"name": "sw\u200b1", "kind": "host"}]}, "targets[0].name", "invisible"),
    ({"targets": [{"name": "sw\u202e1", "kind": "host"}]}, "targets[0].name", "invisible"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"department": "D\u200d001"}}]},
     "targets[0].tags.department", "invisible"),
    ({"targets": [{"name": "a", "kind": "nope"}]}, "targets[0].kind", "unknown collector"),
    ({"targets": [{"name": "a", "kind": "host", "interval": "0.5s"}]}, "targets[0].interval",
     "at least 1s"),
    ({"targets": [{"name": "a", "kind": "host", "interval": "5s", "timeout": "9s"}]},
     "targets[0].timeout", "at most the interval"),
    ({"targets": [{"name": "a", "kind": "host", "options": {"rooot": "/"}}]},
     "targets[0].options.rooot", "unknown option"),
    ({"targets": [{"name": "a", "kind": "host", "options": {"include_loopback": "yes"}}]},
     "targets[0].options.include_loopback", "expected bool"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"x": [1]}}]}, "targets[0].tags.x",
     "string"),
    ({"targets": [{"name": "a", "kind": "host"}, {"name": "a", "kind": "host"}]},
     "targets[1].name", "duplicate"),
    # Tags the time-series store could not carry as written (influxd 1.6 decides).
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone": "Z\\"}}]},
     "targets[0].tags.zone", "反斜杠"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone": "a\\ b"}}]},
     "targets[0].tags.zone", "backslash"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone\\": "a"}}]},
     "targets[0].tags.zone\\", "backslash"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone": "a\nb"}}]},
     "targets[0].tags.zone", "line break"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone": ""}}]},
     "targets[0].tags.zone", "不能为空"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"": "x"}}]},
     "targets[0].tags.", "empty"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"time": "x"}}]},
     "targets[0].tags.time", "reserved"),
    ({"targets": [{"name": "a", "kind": "host", "tags": {"zone": "\ud800"}}]},
     "targets[0].tags.zone", "UTF-8"),
    ({"targets": [{"name": "sw\\", "kind": "host"}]}, "targets[0].name", "backslash"),
])
def test_errors_name_file_key_and_reason(data, key, reason):
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "/etc/infra-ledger.yaml")
    assert info.value.file == "/etc/infra-ledger.yaml"
    assert info.value.key == key
    assert reason in info.value.reason


def test_store_url_from_the_command_line_wins(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("store: {backend: embedded, spool: {max_bytes: 2GiB, max_age: 2d}}\n")
    settings = load_settings(path, store_url="influxdb://monitor@127.0.0.1:8086/infra?rp=raw")
    assert settings.store_backend == "influxdb://monitor@127.0.0.1:8086/infra?rp=raw"
    assert settings.spool == {"max_bytes": 2 * 2**30, "max_age_seconds": 2 * 86400.0,
                              "fsync_seconds": 1.0}
    with pytest.raises(ConfigError) as info:
        load_settings(path, store_url="influxdb:///nohost")
    assert (info.value.file, info.value.key) == ("(command line)", "--store")


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("targets: [\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.file == str(path) and info.value.key == "(syntax)"


def test_bad_config_exits_non_zero_and_starts_nothing(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("targets:\n  - name: sw1\n    kind: host\n    interval: often\n")
    data_dir = tmp_path / "data"
    result = subprocess.run([sys.executable, "-m", "monitor", "run", "--config", str(path),
                             "--data-dir", str(data_dir), "--port", "0"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{path}: targets[0].interval:" in result.stderr
    assert not data_dir.exists()


def test_check_config_refuses_a_tag_the_store_cannot_carry(tmp_path):
    path = tmp_path / "zone.yaml"
    path.write_text("targets:\n  - {name: h1, kind: host, tags: {zone: 'Z\\'}}\n")
    result = subprocess.run([sys.executable, "-m", "monitor", "check-config", "--config",
                             str(path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{path}: targets[0].tags.zone: 标签值" in result.stderr


def test_plain_tags_with_escaped_characters_are_fine():
    settings = parse_settings({"targets": [{"name": "a,b=c", "kind": "host", "tags": {
        "机房 zone": "A 区, 3=4", "path": "C:\\data\\x"}}]}, "(test)")
    assert settings.targets[0].tags["path"] == "C:\\data\\x"


@pytest.mark.parametrize("key, value, reason", [
    ("interval", "100000000000000000000000s", "at most"),
    ("interval", 1e23, "at most"),
    ("interval", float("nan"), "finite"),
    ("interval", float("inf"), "finite"),
    ("timeout", "99999999999999999999d", "at most"),
])
def test_durations_past_any_use_are_refused(key, value, reason):
    data = {"targets": [{"name": "a", "kind": "host", key: value}]}
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "/etc/infra-ledger.yaml")
    assert (info.value.key, reason in info.value.reason) == (f"targets[0].{key}", True)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "1e400GiB"])
def test_sizes_past_any_use_are_refused(value):
    with pytest.raises(ConfigError) as info:
        parse_settings({"store": {"spool": {"max_bytes": value}}}, "/etc/infra-ledger.yaml")
    assert info.value.key == "store.spool.max_bytes"


def test_a_huge_interval_stops_run_before_it_starts(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("targets:\n  - name: sw1\n    kind: host\n"
                    "    interval: 100000000000000000000000s\n")
    for command in ("check-config", "run"):
        result = subprocess.run([sys.executable, "-m", "monitor", command, "--config", str(path),
                                 "--data-dir", str(tmp_path / "data"), "--port", "0"][
                                     :None if command == "run" else -2],
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "targets[0].interval" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("data,key,reason", [
    ({"targets": [{"name": "a", "kind": "host", "zone": "东区"}]}, "targets[0].zone",
     "a zone name is 1-64 letters"),
    ({"zone": {"center_url": "ftp://center"}}, "zone.center_url", "expected http(s)://"),
    ({"zone": {"coordination_url": "sqlite:///c.db"}}, "zone.coordination_url",
     "leases need PostgreSQL"),
    ({"zone": {"lease": "1s"}}, "zone.lease", "must be 3s-10m"),
    ({"zone": {"leases": "10s"}}, "zone.leases", "unknown key"),
])
def test_zone_settings_are_checked(tmp_path, data, key, reason):
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "z.yaml", data_dir=str(tmp_path))
    assert info.value.key == key and reason in info.value.reason


def test_zone_settings_resolve(tmp_path):
    settings = parse_settings({"targets": [{"name": "a", "kind": "host", "zone": "east-1"},
                                           {"name": "b", "kind": "host"}],
                               "zone": {"center_url": "https://c.example:8443/",
                                        "lease": "20s", "ca_file": "ca.pem"}},
                              "z.yaml", base=tmp_path, data_dir=str(tmp_path))
    assert [t.zone for t in settings.targets] == ["east-1", "central"]
    assert settings.zone.center_url == "https://c.example:8443"
    assert settings.zone.lease_seconds == 20 and settings.zone.ca_file == tmp_path / "ca.pem"


def test_check_config_warns_only_about_secrets_the_snmp_version_uses(tmp_path, monkeypatch):
    """A v2c target never warns about the v3 keys; a v3 target with auth but no privacy
    warns about ``auth_key`` only, and no v3 target about the community."""
    for name in ("SNMP_COMMUNITY", "SNMP_AUTH_KEY", "SNMP_PRIV_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "c.yaml"
    path.write_text("""
targets:
  - {name: sw-v2c, kind: snmp, options: {host: 10.0.0.1, community: "env:SNMP_COMMUNITY"}}
  - name: sw-v3
    kind: snmp
    options: {host: 10.0.0.2, version: "3", user: ops, auth_protocol: SHA,
              community: "env:SNMP_COMMUNITY"}
""", encoding="utf-8")
    settings = load_settings(path, data_dir=str(tmp_path), unreadable_secrets="warn")
    keys = sorted(w.split(": ")[1] for w in settings.warnings if "SNMP_" in w)
    assert keys == ["targets[0].options.community", "targets[1].options.auth_key"]


@pytest.mark.parametrize("url, password", [
    ("postgresql://u:p%40ss:w@127.0.0.1:5432/test", "p@ss:w"),      # escaped '@', bare ':'
    ("postgresql+psycopg://u:pa:ss@127.0.0.1:5432/test", "pa:ss"),
    ("postgresql+psycopg://u:pa%3Ass@127.0.0.1:5432/test", "pa:ss"),
    ("postgresql+psycopg://u:pa/ss?@127.0.0.1:5432/test", "pa/ss?"),
])
def test_a_ledger_url_with_a_password_read_as_written_is_accepted(url, password):
    from sqlalchemy.engine import make_url

    settings = parse_settings({"ledger": {"url": url}, "targets": []}, "/etc/il.yaml")
    parsed = make_url(settings.ledger_url)
    assert (parsed.password, parsed.host, parsed.port) == (password, "127.0.0.1", 5432)


@pytest.mark.parametrize("url, why", [
    ("postgresql://u:Pw@0rd:w@127.0.0.1:5432/test", "%40"),     # SQLAlchemy: ValueError (port)
    ("postgresql://u:Pw@0rd@127.0.0.1:5432/test", "%40"),       # SQLAlchemy: host '0rd@127…'
    ("postgresql://u@x:Pw0rd@127.0.0.1:5432/test", "%40"),
    ("postgresql://u:Pw0rd@127.0.0.1:54x32/test", "not a database URL"),
    ("no url at all", "not a database URL"),
])
def test_a_ledger_url_read_otherwise_than_written_names_file_and_key(url, why):
    with pytest.raises(ConfigError) as info:
        parse_settings({"ledger": {"url": url}, "targets": []}, "/etc/il.yaml")
    assert (info.value.file, info.value.key) == ("/etc/il.yaml", "ledger.url")
    assert why in info.value.reason
    assert "Pw" not in info.value.reason and "0rd" not in info.value.reason


def test_check_config_says_so_in_one_line_without_the_password(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text('ledger: {url: "postgresql://u:p@ss:w0rd@127.0.0.1:5432/test"}\n'
                      "targets: []\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "monitor", "check-config", "--config",
                             str(config), "--data-dir", str(tmp_path / "d")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"配置错误 (configuration error): {config}: ledger.url: 用户名或口令中的 @ 须写作 %40 "
        "(an '@' in the user name or password must be written %40): "
        "postgresql://***@127.0.0.1:5432/test")
    assert "w0rd" not in result.stderr + result.stdout
