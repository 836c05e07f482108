"""Interface rates through counters that move, wrap, go backwards and restart.

A recording generated here is served by its own snmpsim with the ``writecache`` variation
module, so the test SETs the counters (and sysUpTime) between polls to exactly the
values a moving, wrapping, resetting or rebooting device would show.
"""

from __future__ import annotations

import socket
import time

import pytest

from collectors.snmp import ber
from collectors.snmp.collector import SnmpCollector
from tests.servers import SnmpSimServer

UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IN32 = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 2)           # eth1: 32-bit counters only
OUT32 = (1, 3, 6, 1, 2, 1, 2, 2, 1, 16, 2)
HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)       # eth0: 64-bit counters
HC_OUT = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10, 1)
RECORDING = """1.3.6.1.2.1.1.1.0|4|Linux counters 6.1.0 x86_64
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10
1.3.6.1.2.1.1.3.0|67:writecache|value=100000
1.3.6.1.2.1.1.5.0|4|counters
1.3.6.1.2.1.2.2.1.2.1|4|eth0
1.3.6.1.2.1.2.2.1.2.2|4|eth1
1.3.6.1.2.1.2.2.1.5.1|66|4294967295
1.3.6.1.2.1.2.2.1.5.2|66|100000000
1.3.6.1.2.1.2.2.1.10.1|65|0
1.3.6.1.2.1.2.2.1.10.2|65:writecache|value=0
1.3.6.1.2.1.2.2.1.16.1|65|0
1.3.6.1.2.1.2.2.1.16.2|65:writecache|value=0
1.3.6.1.2.1.31.1.1.1.1.1|4|eth0
1.3.6.1.2.1.31.1.1.1.1.2|4|eth1
1.3.6.1.2.1.31.1.1.1.6.1|70:writecache|value=0
1.3.6.1.2.1.31.1.1.1.10.1|70:writecache|value=0
1.3.6.1.2.1.31.1.1.1.15.1|66|10000
"""


@pytest.fixture(scope="module")
def counters_agent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counters")
    (folder / "data").mkdir()
    (folder / "data" / "counters.snmprec").write_text(RECORDING)
    server = SnmpSimServer(folder, [folder / "data"], probe_community="counters").start()
    yield server
    server.stop()


def set_values(port: int, values: dict) -> None:
    """SET through the writecache variation, with the counters' own types."""
    varbinds = b"".join(ber.tlv(ber.SEQUENCE, ber.encode_oid(oid) + ber.encode_int(value, tag))
                        for oid, (tag, value) in values.items())
    pdu = ber.tlv(ber.SET, ber.encode_int(1) + ber.encode_int(0) + ber.encode_int(0)
                  + ber.tlv(ber.SEQUENCE, varbinds))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(ber.encode_community_message(1, b"counters", pdu), ("127.0.0.1", port))
        _v, _c, answer = ber.decode_community_message(sock.recvfrom(65535)[0])
    assert answer.error_status == 0


def state(uptime, in32, out32, hc_in, hc_out):
    return {UPTIME: (ber.TIMETICKS, uptime), IN32: (ber.COUNTER32, in32),
            OUT32: (ber.COUNTER32, out32), HC_IN: (ber.COUNTER64, hc_in),
            HC_OUT: (ber.COUNTER64, hc_out)}


def interfaces(obs) -> dict:
    return {s.tags["ifname"]: (s.fields, s.time) for s in obs.samples
            if s.measurement == "interface"}


def test_move_wrap_backwards_and_reboot(counters_agent):
    port = counters_agent.port
    collector = SnmpCollector("counters", {"host": "127.0.0.1", "port": port,
                                           "community": "counters"}, timeout=10)
    try:
        # Polls half a second apart: eth1 is a 100 Mbit/s link, and a wrap is believed
        # only when the rate it implies fits the link.
        set_values(port, state(100000, 2**32 - 600_000, 5_000, 2**63, 10**12))
        first = interfaces(collector.collect())
        assert "rx_bytes_per_second" not in first["eth0"][0]     # one reading: no rate yet
        assert first["eth1"][0]["rx_bytes"] == 2**32 - 600_000

        # Moving, and eth1's 32-bit counter wraps: 600,000 + 400,000 bytes.
        set_values(port, state(100500, 400_000, 2_005_000, 2**63 + 8_000_000, 10**12 + 500))
        time.sleep(0.5)
        second = interfaces(collector.collect())
        seconds = (second["eth1"][1] - first["eth1"][1]) / 1e9
        assert second["eth1"][0]["rx_bytes_per_second"] == pytest.approx(1_000_000 / seconds,
                                                                          rel=1e-3)
        assert second["eth1"][0]["tx_bytes_per_second"] == pytest.approx(2_000_000 / seconds,
                                                                          rel=1e-3)
        assert second["eth0"][0]["rx_bytes_per_second"] == pytest.approx(8_000_000 / seconds,
                                                                          rel=1e-3)
        assert second["eth1"][0]["rx_utilization_percent"] == pytest.approx(
            1_000_000 * 8 / seconds / 1e8 * 100, rel=1e-3)
        assert second["eth0"][0]["speed_bps"] == 1e10              # ifHighSpeed wins

        # Counters cleared without a reboot: the 64-bit one went backwards, the 32-bit one
        # would need an impossible wrap (more than half its range): no rate, never negative.
        set_values(port, state(101000, 10, 2_005_100, 5, 10**12 + 900))
        time.sleep(0.5)
        third = interfaces(collector.collect())
        assert "rx_bytes_per_second" not in third["eth0"][0]
        assert "rx_bytes_per_second" not in third["eth1"][0]
        assert third["eth1"][0]["tx_bytes_per_second"] > 0         # the one that moved on

        # The device restarts: sysUpTime goes back, every counter starts again.
        set_values(port, state(50, 100, 100, 100, 100))
        time.sleep(0.5)
        fourth = interfaces(collector.collect())
        assert not any(k.endswith("_per_second") for fields, _t in fourth.values() for k in fields)

        set_values(port, state(550, 1100, 100, 2100, 100))
        time.sleep(0.5)
        fifth = interfaces(collector.collect())
        assert fifth["eth0"][0]["rx_bytes_per_second"] > 0
        assert all(v >= 0 for fields, _t in fifth.values() for k, v in fields.items()
                   if k.endswith("_per_second"))
    finally:
        collector.close()
