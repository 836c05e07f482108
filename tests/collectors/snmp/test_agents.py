"""The client and collector against net-snmp's snmpd and against misbehaving agents.

The misbehaving agents are small UDP responders of our own on loopback (an agent that
loops, one that answers tooBig, one that answers garbage): real sockets, real timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from collectors.snmp import ber
from collectors.snmp.client import SnmpError, SnmpSession, SnmpTarget
from collectors.snmp.collector import SnmpCollector
from tests.servers import SnmpdServer

REPO = Path(__file__).resolve().parents[3]
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)


def run(coro):
    return asyncio.run(coro)


async def walk_once(session: SnmpSession, root):
    try:
        return await session.walk(root)
    finally:
        session.close()


async def get_and_walk(target: SnmpTarget):
    session = SnmpSession(target)
    try:
        return await session.get([SYS_NAME]), await session.walk(IF_DESCR)
    finally:
        session.close()


@pytest.mark.parametrize("version", ["1", "2c"])
def test_community_versions(snmpd_server, version):
    found, walked = run(get_and_walk(SnmpTarget("127.0.0.1", snmpd_server.port, version=version,
                                                community=SnmpdServer.COMMUNITY)))
    assert found[SYS_NAME] == (ber.OCTET_STRING, b"snmpd-test")
    assert [value for _oid, _tag, value in walked][0] == b"lo"


@pytest.mark.parametrize("user", sorted(SnmpdServer.USERS))
def test_v3_users(snmpd_server, user):
    auth, auth_key, priv, priv_key = SnmpdServer.USERS[user]
    target = SnmpTarget("127.0.0.1", snmpd_server.port, version="3", user=user,
                        auth_protocol=auth, auth_key=auth_key,
                        priv_protocol=(priv or "").replace("-", ""), priv_key=priv_key or "")
    found, walked = run(get_and_walk(target))
    assert found[SYS_NAME][1] == b"snmpd-test" and walked


@pytest.mark.parametrize("change, kind, words", [
    ({"auth_key": "not-the-key"}, "auth", "wrong digest"),
    ({"user": "nobody"}, "auth", "unknown user name"),
    ({"priv_key": "not-the-key"}, "timeout", "check the privacy protocol and key"),
])
def test_v3_wrong_credentials_are_named(snmpd_server, change, kind, words):
    settings = {"user": "shaaes", "auth_protocol": "SHA", "auth_key": "auth-pass-sha1",
                "priv_protocol": "AES", "priv_key": "priv-pass-aes128", **change}
    target = SnmpTarget("127.0.0.1", snmpd_server.port, version="3", timeout=0.5, retries=0,
                        **settings)
    with pytest.raises(SnmpError) as exc:
        run(get_and_walk(target))
    assert exc.value.kind == kind and words in str(exc.value)


class FakeAgent:
    """A UDP responder answering each v2c request with ``handler(pdu) -> bytes | None``."""

    def __init__(self, handler) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.requests = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                continue
            _version, _community, pdu = ber.decode_community_message(data)
            self.requests.append(pdu)
            answer = self.handler(pdu)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def reply(pdu, varbinds, error_status=0) -> bytes:
    body = b"".join(ber.tlv(ber.SEQUENCE, ber.encode_oid(oid) + value) for oid, value in varbinds)
    answer = ber.tlv(ber.RESPONSE, ber.encode_int(pdu.request_id) + ber.encode_int(error_status)
                     + ber.encode_int(0) + ber.tlv(ber.SEQUENCE, body))
    return ber.encode_community_message(1, b"public", answer)


@pytest.fixture
def agent(request):
    made = []

    def start(handler):
        made.append(FakeAgent(handler))
        return made[-1]
    yield start
    for item in made:
        item.stop()


def test_looping_agent_stops_the_walk_with_a_clear_error(agent):
    looping = agent(lambda pdu: reply(pdu, [(IF_DESCR + (1,), ber.tlv(ber.OCTET_STRING, b"x"))]))
    target = SnmpTarget("127.0.0.1", looping.port, timeout=0.5)
    with pytest.raises(SnmpError) as exc:
        run(walk_once(SnmpSession(target), IF_DESCR))
    assert exc.value.kind == "walk" and "loop or wrong order" in str(exc.value)
    assert len(looping.requests) == 2


def test_max_repetitions_adapts_to_too_big(agent):
    rows = [IF_DESCR + (i,) for i in range(1, 41)]

    def handler(pdu):
        if pdu.error_index > 5:    # GETBULK carries max-repetitions in error-index
            return reply(pdu, [], error_status=1)
        start = pdu.varbinds[0][0]
        after = [oid for oid in rows if oid > start][:pdu.error_index]
        end = [((1, 3, 6, 1, 2, 1, 2, 3), ber.encode_int(1))] if len(after) < pdu.error_index \
            else []
        return reply(pdu, [(oid, ber.tlv(ber.OCTET_STRING, b"if")) for oid in after] + end)
    fake = agent(handler)
    session = SnmpSession(SnmpTarget("127.0.0.1", fake.port, timeout=0.5, max_repetitions=25))
    walked = run(walk_once(session, IF_DESCR))
    assert [oid for oid, _tag, _value in walked] == rows
    assert session.max_repetitions == 3          # 25 -> 12 -> 6 -> 3


def test_garbage_and_silence_mark_only_that_target(agent, snmpd_server):
    garbage = agent(lambda pdu: b"\x30\x82\xff\xff garbage")
    silent = agent(lambda pdu: None)
    good = SnmpCollector("good", {"host": "127.0.0.1", "port": snmpd_server.port,
                                  "community": SnmpdServer.COMMUNITY}, timeout=10)
    bad = [SnmpCollector(name, {"host": "127.0.0.1", "port": fake.port, "request_timeout": 1.0,
                                "retries": 1}, timeout=10)
           for name, fake in (("garbage", garbage), ("silent", silent))]
    results = {}

    def poll(collector):
        results[collector.name] = collector.collect()
    threads = [threading.Thread(target=poll, args=(c,)) for c in [good, *bad]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for collector in [good, *bad]:
        collector.close()
    assert results["good"].status == "ok" and results["good"].facts
    assert results["garbage"].status == "timeout"
    assert "undecodable responses" in results["garbage"].error
    assert results["silent"].status == "timeout"


def test_wrong_community_is_a_timeout_for_that_target(snmpd_server):
    collector = SnmpCollector("x", {"host": "127.0.0.1", "port": snmpd_server.port,
                                    "community": "wrong", "request_timeout": 0.5,
                                    "retries": 0}, timeout=10)
    obs = collector.collect()
    collector.close()
    assert obs.status == "timeout" and "no response" in obs.error
    # Agents drop a wrong community without a word: the message says what to check.
    assert "wrong community" in obs.error and "check the community" in obs.error


def test_a_closed_port_is_refused_at_once_not_a_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]          # closed again when the block ends
    collector = SnmpCollector("x", {"host": "127.0.0.1", "port": port, "community": "public",
                                    "request_timeout": 5, "retries": 1}, timeout=30)
    started = time.monotonic()
    obs = collector.collect()
    collector.close()
    assert obs.status == "error", obs.error
    assert f"127.0.0.1:{port}/udp refused the request" in obs.error
    assert "no SNMP agent listens there" in obs.error
    assert time.monotonic() - started < 5     # not one request_timeout per attempt


def test_snmpd_host_resources_and_fact(snmpd_server):
    collector = SnmpCollector("snmpd", {"host": "127.0.0.1", "port": snmpd_server.port,
                                        "community": SnmpdServer.COMMUNITY}, timeout=10)
    obs = collector.collect()
    collector.close()
    assert obs.status == "ok", obs.error
    fact = obs.facts[0]
    assert (fact.attributes["vendor"], fact.attributes["os"]) == ("net-snmp", "Linux")
    assert fact.keys["hostname"] == "snmpd-test" and fact.keys["mgmt_ip"] == "127.0.0.1"
    assert fact.attributes["location"] == "infra-ledger test rack"
    import psutil
    assert fact.attributes["memory_bytes"] == pytest.approx(psutil.virtual_memory().total,
                                                            rel=0.01)
    ram = [s for s in obs.samples if s.measurement == "storage" and s.tags["type"] == "ram"]
    assert ram and ram[0].fields["size_bytes"] == pytest.approx(psutil.virtual_memory().total,
                                                                rel=0.01)
    names = {s.tags["ifname"] for s in obs.samples if s.measurement == "interface"}
    assert "lo" in names
    lo = next(i for i in fact.attributes["interfaces"] if i["name"] == "lo")
    assert (lo["type"], lo["admin_up"], lo["oper_up"]) == (24, True, True)  # softwareLoopback
    # hrProcessorLoad appears only after snmpd's first minute; the processors are known at once.
    assert len(fact.attributes["cpu_models"]) == psutil.cpu_count()


def monitor(*args, env=None):
    return subprocess.run([sys.executable, "-m", "monitor", "collect", "snmp", *args, "--once"],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_cli_v2c_and_v3_with_secrets_from_the_environment(snmpd_server):
    v2c = monitor("--host", "127.0.0.1", "--port", str(snmpd_server.port), "--community",
                  "env:TEST_COMMUNITY", env={"TEST_COMMUNITY": SnmpdServer.COMMUNITY})
    assert v2c.returncode == 0, v2c.stderr
    lines = [json.loads(line) for line in v2c.stdout.splitlines()]
    assert {line["type"] for line in lines} == {"sample", "fact"}
    assert SnmpdServer.COMMUNITY not in v2c.stdout + v2c.stderr
    auth, auth_key, priv, priv_key = SnmpdServer.USERS["sha256aes"]
    v3 = monitor("--host", "127.0.0.1", "--port", str(snmpd_server.port), "--version", "3",
                 "--user", "sha256aes", "--auth-protocol", "SHA256", "--priv-protocol", "AES",
                 env={"SNMP_AUTH_KEY": auth_key, "SNMP_PRIV_KEY": priv_key})
    assert v3.returncode == 0, v3.stderr
    assert any(json.loads(line)["type"] == "fact" for line in v3.stdout.splitlines())
    for secret in (auth_key, priv_key):
        assert secret not in v3.stdout + v3.stderr
    missing = monitor("--host", "127.0.0.1", "--version", "3", "--user", "u",
                      "--auth-protocol", "SHA", env={"SNMP_AUTH_KEY": ""})
    assert missing.returncode == 2 and "auth_key" in missing.stderr


def test_bad_snmp_targets_stop_the_configuration(tmp_path):
    from monitor.config import ConfigError, parse_settings

    def target(**options):
        return {"targets": [{"name": "core-sw", "kind": "snmp",
                             "options": {"host": "127.0.0.1", **options}}]}
    cases = [({"community": "env:NO_SUCH_VARIABLE_SET"}, "targets[0].options.community",
              "NO_SUCH_VARIABLE_SET is not set"),
             ({"version": "3", "user": "u", "auth_protocol": "SHA3"},
              "targets[0].options.auth_protocol", "unknown"),
             ({"version": "4"}, "targets[0].options.version", "must be 1, 2c or 3"),
             ({"profile_dirs": [str(tmp_path / "missing")]}, "targets[0].options.profile_dirs",
              "not a folder")]
    for options, key, words in cases:
        with pytest.raises(ConfigError) as exc:
            parse_settings(target(**options), "site.yaml", data_dir=str(tmp_path))
        assert exc.value.key == key and words in exc.value.reason, exc.value
    (tmp_path / "community").write_text("s3cret\n")
    settings = parse_settings(target(community=f"file:{tmp_path / 'community'}"), "site.yaml",
                              data_dir=str(tmp_path))
    # The configuration keeps the reference; only the collector reads the secret.
    assert settings.targets[0].options["community"] == f"file:{tmp_path / 'community'}"


def test_discover_proposes_targets_that_load(snmpd_server, tmp_path, monkeypatch):
    import yaml

    from monitor.config import parse_settings

    monkeypatch.setenv("DISCOVER_COMMUNITY", SnmpdServer.COMMUNITY)
    found = subprocess.run([sys.executable, "-m", "monitor", "discover", "127.0.0.0/29",
                            "--port", str(snmpd_server.port), "--community",
                            "env:DISCOVER_COMMUNITY", "--timeout", "0.5"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    assert "1 of 6 addresses answered" in found.stderr
    assert "# 127.0.0.1: net-snmp Linux server" in found.stdout
    assert SnmpdServer.COMMUNITY not in found.stdout          # the reference, not the secret
    settings = parse_settings(yaml.safe_load(found.stdout), "proposed.yaml",
                              data_dir=str(tmp_path))
    assert [(t.name, t.kind, t.options["host"]) for t in settings.targets] == [
        ("snmpd-test", "snmp", "127.0.0.1")]
    too_big = subprocess.run([sys.executable, "-m", "monitor", "discover", "127.0.0.0/16"],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert too_big.returncode == 2 and "more than the limit of 4096" in too_big.stderr


def test_scheduler_polls_snmp_targets_into_store_and_ledger(snmpd_server, tmp_path,
                                                            embedded_store, monkeypatch):
    """Two SNMP targets (one answering, one not) through the real scheduler and store."""
    import time as clock

    from ledger.db import Ledger
    from ledger.observed import observed_for_source
    from ledger.status import target_states
    from monitor.config import parse_settings
    from monitor.scheduler import Monitor

    monkeypatch.setenv("E2E_COMMUNITY", SnmpdServer.COMMUNITY)
    silent = FakeAgent(lambda pdu: None)
    settings = parse_settings({"scheduler": {"jitter": 0}, "targets": [
        {"name": "snmpd", "kind": "snmp", "interval": 2, "tags": {"department": "大数据局"},
         "options": {"host": "127.0.0.1", "port": snmpd_server.port,
                     "community": "env:E2E_COMMUNITY"}},
        {"name": "dead", "kind": "snmp", "interval": 2, "timeout": 2,
         "options": {"host": "127.0.0.1", "port": silent.port, "request_timeout": 0.5,
                     "retries": 0}}]}, "(test)", data_dir=str(tmp_path / "data"))
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    monitor = Monitor(settings, ledger, embedded_store)
    monitor.start()
    try:
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline:
            with ledger.session() as session:
                states = {s.name: s for s in target_states(session)}
            if states["snmpd"].polls_total >= 2 and states["dead"].polls_total >= 1:
                break
            clock.sleep(0.2)
    finally:
        monitor.stop()
        silent.stop()
    assert states["snmpd"].status == "ok" and states["dead"].status == "timeout"
    now = clock.time()
    series = embedded_store.query("interface", "rx_bytes_per_second", now - 600, now + 1,
                                  tags={"target": "snmpd"})
    assert series, "two polls give interface rates in the store"
    with ledger.session() as session:
        (asset,) = observed_for_source(session, "snmpd")
    assert (asset.kind, asset.hostname, asset.department) == ("device", "snmpd-test", "大数据局")
    ledger.close()
